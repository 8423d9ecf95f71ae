"""`deml ipfs serve`: a trustless gateway over the local store, and stores that read through
gateways what they lack, each block verified (the gateway need not be trusted)."""

from __future__ import annotations

import io
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import uvicorn

from deml.exceptions import BlockNotFound, StorageUnavailable
from deml.settings import load_settings
from deml.storage import car, storage_from_settings, unixfs
from deml.storage.fallback import FallbackStore
from deml.storage.gateway import GatewayStore
from deml.storage.gateway_server import app
from deml.storage.local import LocalStore
from tests.helpers.project import free_port

MIB = 1024 * 1024
DATA = random.Random(7).randbytes(3 * MIB + 5)  # four leaves and a root
SMALL = b"a test split, in one block"


@pytest.fixture
def host(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "host" / "ipfs")


def serve(store: LocalStore) -> Iterator[str]:
    """The gateway over `store` in a thread, on a free port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app(store), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def gateway(host: LocalStore) -> Iterator[str]:
    yield from serve(host)


def test_raw_blocks_by_format_or_accept(host: LocalStore, gateway: str) -> None:
    cid = host.put(SMALL)
    by_format = requests.get(f"{gateway}/ipfs/{cid}", params={"format": "raw"}, timeout=10)
    by_accept = requests.get(
        f"{gateway}/ipfs/{cid}", headers={"Accept": "application/vnd.ipld.raw"}, timeout=10
    )
    for answer in (by_format, by_accept):
        assert answer.status_code == 200
        assert answer.content == host.get_block(cid)
        assert answer.headers["content-type"] == "application/vnd.ipld.raw"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in answer.headers["cache-control"]
    head = requests.head(f"{gateway}/ipfs/{cid}?format=raw", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(host.get_block(cid))


def test_a_car_of_the_whole_dag_in_depth_first_order(host: LocalStore, gateway: str) -> None:
    cid = host.put(DATA)
    answer = requests.get(f"{gateway}/ipfs/{cid}?format=car", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.ipld.car; version=1")
    roots, sections = car.read_car(io.BytesIO(answer.content))  # every block verified
    blocks = list(sections)
    assert roots == [cid] and blocks[0][0] == cid and len(blocks) == 5
    assert blocks == list(unixfs.walk_blocks(cid, host.get_block, len(DATA) * 2))
    root_only = requests.get(f"{gateway}/ipfs/{cid}?format=car&dag-scope=block", timeout=10)
    assert [c for c, _ in car.read_car(io.BytesIO(root_only.content))[1]] == [cid]


def test_what_a_trustless_gateway_refuses(host: LocalStore, gateway: str) -> None:
    cid = host.put(SMALL)
    missing = unixfs.file_cid(b"never stored")
    cases = {
        f"/ipfs/{missing}?format=raw": 404,
        "/ipfs/not-a-cid?format=raw": 400,
        f"/ipfs/{cid}": 406,  # no verifiable format asked for
        f"/ipfs/{cid}?format=tar": 406,
        f"/ipfs/{cid}?format=car&dag-scope=everything": 400,
        f"/ipfs/{cid}/some/path?format=raw": 400,
    }
    for path, status in cases.items():
        answer = requests.get(gateway + path, timeout=10)
        assert answer.status_code == status, (path, answer.text)
        assert answer.text.strip()  # says why


def test_a_damaged_store_is_never_served(host: LocalStore, gateway: str) -> None:
    cid = host.put(SMALL)
    host.block_path(cid).write_bytes(b"rotten")
    answer = requests.get(f"{gateway}/ipfs/{cid}?format=raw", timeout=10)
    assert answer.status_code == 502 and b"rotten" not in answer.content


def test_another_state_dir_reads_through_the_gateway_and_keeps_it(
    host: LocalStore, gateway: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = host.put(DATA)
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "miner"))
    monkeypatch.setenv("DEML_IPFS_GATEWAYS", f"http://127.0.0.1:{free_port()}, {gateway}")
    miner = storage_from_settings(load_settings())
    assert isinstance(miner, FallbackStore)
    assert miner.get(cid) == DATA  # the first gateway is down: the second serves it
    assert miner.has(cid)
    mine = LocalStore(tmp_path / "miner" / "ipfs")
    assert mine.get(cid) == DATA  # kept: the next read needs no gateway


def test_a_lying_gateway_is_caught_and_the_next_one_used(
    host: LocalStore, gateway: str, tmp_path: Path
) -> None:
    cid = host.put(DATA)
    liar = LocalStore(tmp_path / "liar" / "ipfs")
    liar.put(DATA)
    leaf = unixfs.file_cid(DATA[:MIB])
    liar.block_path(leaf).write_bytes(b"x" * MIB)  # one leaf swapped for other bytes
    mine = LocalStore(tmp_path / "miner" / "ipfs")
    for url in serve(liar):
        only_liar = FallbackStore(mine, [GatewayStore(url)])
        with pytest.raises(BlockNotFound, match=url):
            only_liar.get(cid)
        assert not mine.has(cid)  # nothing half-kept
        both = FallbackStore(mine, [GatewayStore(url), GatewayStore(gateway)])
        assert both.get(cid) == DATA


def test_a_gateway_that_dribbles_its_answer_is_cut_off_at_the_deadline(
    host: LocalStore,
) -> None:
    """Each byte comes well within the per-read timeout, the whole answer never does: the
    store gives up at its deadline instead of reading for as long as the gateway likes (a
    217-byte CAR took 10.8 s with timeout_s=1; issue 14)."""
    cid = host.put(SMALL)
    body = io.BytesIO()
    car.write_car(body, [cid], [(cid, host.get_block(cid))])
    answer = body.getvalue()
    sent = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def dribble() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the request
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.ipld.car; version=1\r\n"
                f"Content-Length: {len(answer)}\r\n\r\n"
            )
            conn.sendall(head.encode())
            for byte in answer:
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return  # the client hung up
                sent.append(byte)
                time.sleep(0.05)  # 20 bytes a second: the answer takes about 3 s

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    store = GatewayStore(f"http://127.0.0.1:{port}", timeout_s=0.5)
    with pytest.raises(StorageUnavailable, match="too slow"):
        store.get(cid)
    assert len(sent) < len(answer)  # it gave up before the gateway was done
    listener.close()
