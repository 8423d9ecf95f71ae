"""CIDs match an independent implementation: the reference JS UnixFS importer, run by node."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess

import pytest

from deml.storage import unixfs
from deml.storage.unixfs import UNIXFS_V1_2025, Layout
from tests.helpers.project import ROOT

SCRIPT = ROOT / "tests" / "js" / "unixfs_import.mjs"
MIB = 1024 * 1024
SMALL = Layout(chunk_size=256)  # 1,024 links of 256 bytes: a second level after 256 KiB
TINY = Layout(chunk_size=7, max_links=4)  # narrow and deep: five levels from 5,000 bytes

# (name, size, layout): the sizes, plus the edges of a full node.
CASES = [
    ("empty", 0, UNIXFS_V1_2025),
    ("one byte", 1, UNIXFS_V1_2025),
    ("1 MiB", MIB, UNIXFS_V1_2025),
    ("1 MiB + 1", MIB + 1, UNIXFS_V1_2025),
    ("5 MiB + 123", 5 * MIB + 123, UNIXFS_V1_2025),
    ("exactly 1,024 leaves", 1024 * 256, SMALL),
    ("1,025 leaves", 1024 * 256 + 1, SMALL),
    ("2,049 leaves over 3 parents", 2048 * 256 + 77, SMALL),
    ("five levels", 5000, TINY),
]


def _data(size: int) -> bytes:
    return random.Random(size).randbytes(size)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The JS importer's root CID, size and block CIDs for every case, from one node run."""
    if (
        shutil.which("node") is None
        or not (ROOT / "node_modules" / "ipfs-unixfs-importer").is_dir()
    ):
        pytest.skip("needs node and `npm install` (ipfs-unixfs-importer, blockstore-core)")
    folder = tmp_path_factory.mktemp("cid-cases")
    jobs = []
    for _name, size, layout in CASES:
        path = folder / f"{len(jobs)}.bin"
        path.write_bytes(_data(size))
        jobs.append(
            {"path": str(path), "chunkSize": layout.chunk_size, "maxChildren": layout.max_links}
        )
    proc = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {
        name: answer for (name, _, _), answer in zip(CASES, json.loads(proc.stdout), strict=True)
    }


@pytest.mark.parametrize(("name", "size", "layout"), CASES, ids=[c[0] for c in CASES])
def test_dag_matches_the_reference_js_importer(
    reference: dict[str, dict], name: str, size: int, layout: Layout
) -> None:
    blocks: dict[str, bytes] = {}
    root = unixfs.build(
        io.BytesIO(_data(size)), lambda cid, b: blocks.__setitem__(str(cid), b), layout
    )
    expected = reference[name]
    assert str(root.cid) == expected["root"]
    assert sorted(blocks) == expected["blocks"]  # every block, so every byte of the DAG
    assert root.tsize == expected["size"]


def test_multi_level_case_really_has_more_than_1024_leaves() -> None:
    blocks: list[str] = []
    unixfs.build(
        io.BytesIO(_data(1024 * 256 + 1)), lambda cid, _b: blocks.append(cid.codec.name), SMALL
    )
    assert blocks.count("raw") == 1025 and blocks.count("dag-pb") == 3  # 2 parents + the root


def test_hello_world_is_kubos_known_vector() -> None:
    cid = unixfs.file_cid(b"hello world")
    assert str(cid) == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"


def test_empty_file_is_the_empty_raw_block() -> None:
    assert (
        str(unixfs.file_cid(b"")) == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    )


def test_short_reads_give_the_same_cid() -> None:
    """A pipe hands over a few bytes at a time; chunks must still be full 1 MiB."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 4096) if size > 0 else 4096)

    data = _data(2 * MIB + 5)
    assert unixfs.build(Trickle(data)).cid == unixfs.file_cid(data)
