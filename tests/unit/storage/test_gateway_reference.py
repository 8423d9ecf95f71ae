"""`deml ipfs serve` read by a reference client (tests/js/gateway_client.mjs): the CAR answer
parsed by @ipld/car, the reference CAR reader, and the raw-block answers walked link by link
as Helia's trustless-gateway broker walks them; every block checked against its CID and the
file reassembled both ways."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deml.storage.local import LocalStore
from deml.storage.unixfs import UNIXFS_V1_2025, Layout
from tests.helpers.project import ROOT
from tests.unit.storage.test_gateway_server import serve

SCRIPT = ROOT / "tests" / "js" / "gateway_client.mjs"
MIB = 1024 * 1024

# (name, size, layout, blocks): one raw leaf; the default layout's root over four leaves; a
# narrow layout five levels deep, where the depth-first order of a CAR shows.
CASES = [
    ("one block", 1, UNIXFS_V1_2025, 1),
    ("3 MiB + 5", 3 * MIB + 5, UNIXFS_V1_2025, 5),
    ("five levels", 5000, Layout(chunk_size=7, max_links=4), None),
]


@pytest.fixture(scope="module", autouse=True)
def reference_client() -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "@ipld" / "car").is_dir():
        pytest.skip("needs node and `npm install` (@ipld/car, @ipld/dag-pb, ipfs-unixfs)")


def read_with_reference(gateway: str, cid: str) -> dict:
    proc = subprocess.run(
        ["node", str(SCRIPT), gateway, cid], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize(("name", "size", "layout", "count"), CASES, ids=[c[0] for c in CASES])
def test_the_reference_client_reads_the_dag_by_car_and_by_raw_blocks(
    tmp_path: Path, name: str, size: int, layout: Layout, count: int | None
) -> None:
    data = random.Random(size).randbytes(size)
    host = LocalStore(tmp_path / "host" / "ipfs", layout)
    cid = host.put(data)
    gateway: Iterator[str] = serve(host)
    try:
        answer = read_with_reference(next(gateway), str(cid))
    finally:
        next(gateway, None)  # stops the server
    blocks = list((tmp_path / "host" / "ipfs" / "blocks").rglob("*"))
    stored = sum(1 for path in blocks if path.is_file())
    car, raw = answer["car"], answer["raw"]
    assert car["contentType"].startswith("application/vnd.ipld.car; version=1")
    assert car["version"] == 1 and car["roots"] == [str(cid)]
    assert car["order"][0] == str(cid)  # depth first, from the root
    assert car["blocks"] == stored == (count or stored)  # the whole DAG, each block once
    assert raw["requests"] == stored
    for read in (car, raw):
        assert read["size"] == size
        assert read["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_damaged_store_gives_the_reference_client_no_bad_block(tmp_path: Path) -> None:
    """A leaf changed on the host's disk: the CAR stops before it (the client finds the DAG
    incomplete), and its raw answer is an error, never the changed bytes."""
    host = LocalStore(tmp_path / "host" / "ipfs", Layout(chunk_size=7, max_links=4))
    cid = host.put(b"a test split of a few blocks, one of them changed on disk")
    leaf = next(p for p in (tmp_path / "host" / "ipfs" / "blocks").rglob("*") if p.is_file()
                and p.read_bytes() == b"a test ")  # fmt: skip
    leaf.write_bytes(b"A test ")
    gateway = serve(host)
    try:
        proc = subprocess.run(
            ["node", str(SCRIPT), next(gateway), str(cid)], capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
    finally:
        next(gateway, None)
    assert proc.returncode == 1
    assert proc.stderr.startswith("CAR: block ") and "is missing" in proc.stderr
