"""Content storage: both backends store and return files by CID, and every read is verified."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deml.exceptions import (
    BlockNotFound,
    ContentTooLarge,
    IntegrityError,
    InvalidCid,
    StorageError,
    StorageUnavailable,
)
from deml.settings import load_settings
from deml.storage import car, storage_from_settings, unixfs
from deml.storage.gateway import GatewayStore
from deml.storage.kubo import KuboStore
from deml.storage.local import LocalStore
from tests.helpers import kubo_standin
from tests.helpers.project import free_port

MIB = 1024 * 1024
DATA = random.Random(5).randbytes(3 * MIB + 17)  # four leaves and a root


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "ipfs")


@pytest.fixture
def kubo() -> Iterator[kubo_standin.KuboStandin]:
    with kubo_standin.running() as node:
        yield node


# -- local store -----------------------------------------------------------------------------


def test_local_put_get_round_trip_and_has(local: LocalStore) -> None:
    cid = local.put(DATA)
    assert cid == unixfs.file_cid(DATA)
    assert local.has(cid) and local.has(str(cid))
    assert local.get(cid) == DATA
    assert not local.has(unixfs.file_cid(b"never stored"))


def test_local_put_file_matches_put_bytes(local: LocalStore, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    assert local.put_file(path) == local.put(DATA)


def test_local_pin_checks_every_block_is_present(local: LocalStore) -> None:
    cid = local.put(DATA)
    local.pin(cid)
    assert local.pins() == [cid]
    local.block_path(unixfs.file_cid(DATA[:MIB])).unlink()
    with pytest.raises(BlockNotFound):
        local.pin(cid)


def test_get_of_missing_content_says_so(local: LocalStore) -> None:
    with pytest.raises(BlockNotFound, match="not in the local store"):
        local.get(unixfs.file_cid(b"nothing"))


def test_a_changed_block_is_detected_on_get(local: LocalStore) -> None:
    cid = local.put(DATA)
    leaf = local.block_path(unixfs.file_cid(DATA[MIB : 2 * MIB]))
    tampered = bytearray(leaf.read_bytes())
    tampered[1000] ^= 1
    leaf.write_bytes(bytes(tampered))
    with pytest.raises(IntegrityError, match="does not match its CID"):
        local.get(cid)


def test_a_substituted_block_is_detected_on_get(local: LocalStore) -> None:
    """A store answering a CID with other (self-consistent) content: the wrong CID."""
    cid = local.put(b"the real file")
    decoy = local.put(b"a decoy")
    local.block_path(cid).write_bytes(local.block_path(decoy).read_bytes())
    with pytest.raises(IntegrityError):
        local.get(cid)


def test_content_over_the_cap_is_refused_before_reading_it(local: LocalStore) -> None:
    cid = local.put(DATA)
    for leaf in range(4):  # the root declares the size: no leaf is needed to refuse
        local.block_path(unixfs.file_cid(DATA[leaf * MIB : (leaf + 1) * MIB])).unlink(
            missing_ok=True
        )
    with pytest.raises(ContentTooLarge, match="limit"):
        local.get(cid, max_size=len(DATA) - 1)


def test_an_oversized_block_is_refused(local: LocalStore) -> None:
    cid = local.put(b"small")
    local.block_path(cid).write_bytes(b"x" * (unixfs.MAX_BLOCK_SIZE + 1))
    with pytest.raises(IntegrityError, match="over"):
        local.get(cid)


def test_a_node_lying_about_child_sizes_is_refused(local: LocalStore) -> None:
    """Well-hashed but inconsistent: a parent whose block sizes disagree with its leaves."""
    a, b = unixfs.block_cid(b"a" * 10), unixfs.block_cid(b"b" * 10)
    local.put_block(a, b"a" * 10)
    local.put_block(b, b"b" * 10)
    lying = unixfs.encode_file_node([unixfs.Node(a, 10, 10), unixfs.Node(b, 10, 5)])
    root = unixfs.block_cid(lying, unixfs.DAG_PB)
    local.put_block(root, lying)
    with pytest.raises(IntegrityError, match="holds 10 bytes; its parent says 5"):
        local.get(root)


def test_bad_cid_strings_are_refused(local: LocalStore) -> None:
    with pytest.raises(InvalidCid):
        local.get("not-a-cid")


def test_get_to_file_writes_nothing_when_verification_fails(
    local: LocalStore, tmp_path: Path
) -> None:
    cid = local.put(DATA)
    leaf = local.block_path(unixfs.file_cid(DATA[3 * MIB :]))
    leaf.write_bytes(b"junk")
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(IntegrityError):
        local.get_to_file(cid, dest, max_size=len(DATA))
    assert not dest.exists() and list(dest.parent.iterdir()) == []


# -- CAR -------------------------------------------------------------------------------------


def test_car_export_import_round_trip(local: LocalStore, tmp_path: Path) -> None:
    cid = local.put(DATA)
    buf = io.BytesIO()
    local.export_car(cid, buf, max_size=10 * MIB)
    other = LocalStore(tmp_path / "other")
    assert other.import_car(io.BytesIO(buf.getvalue())) == [cid]
    assert other.get(cid) == DATA


def test_car_with_a_changed_block_is_refused(local: LocalStore, tmp_path: Path) -> None:
    cid = local.put(b"hello car")
    buf = io.BytesIO()
    local.export_car(cid, buf, max_size=MIB)
    raw = bytearray(buf.getvalue())
    raw[-1] ^= 1
    with pytest.raises(IntegrityError):
        LocalStore(tmp_path / "other").import_car(io.BytesIO(bytes(raw)))


def test_car_that_lacks_its_root_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    car.write_car(buf, [unixfs.file_cid(b"absent")], [])
    with pytest.raises(car.CarError, match="does not hold it"):
        LocalStore(tmp_path / "s").import_car(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("junk", [b"", b"\x05abc", b"\xff" * 12, b"\x0a" + b"\x00" * 10])
def test_malformed_car_is_a_car_error(junk: bytes) -> None:
    with pytest.raises(car.CarError):
        _roots, blocks = car.read_car(io.BytesIO(junk))
        list(blocks)


@given(
    data=st.binary(max_size=3000),
    chunk=st.integers(1, 64),
    width=st.integers(2, 6),
)
def test_any_file_reads_back_and_survives_a_car(data: bytes, chunk: int, width: int) -> None:
    layout = unixfs.Layout(chunk_size=chunk, max_links=width)
    blocks: dict = {}
    root = unixfs.build(io.BytesIO(data), blocks.__setitem__, layout).cid
    assert b"".join(unixfs.read_file(root, blocks.__getitem__, len(data))) == data
    buf = io.BytesIO()
    car.write_car(buf, [root], unixfs.walk_blocks(root, blocks.__getitem__, 10**9))
    roots, sections = car.read_car(io.BytesIO(buf.getvalue()))
    assert roots == [root] and dict(sections) == blocks


# -- kubo (stand-in) -------------------------------------------------------------------------


def test_kubo_add_sends_the_profile_flags_explicitly(kubo: kubo_standin.KuboStandin) -> None:
    store = KuboStore(kubo.url)
    cid = store.put(DATA)
    assert cid == unixfs.file_cid(DATA)
    path, query = kubo.requests[0]
    assert path == "/api/v0/add"
    assert kubo_standin.PROFILE_FLAGS.items() <= query.items()


def test_kubo_put_get_has_pin(kubo: kubo_standin.KuboStandin, tmp_path: Path) -> None:
    store = KuboStore(kubo.url)
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    cid = store.put_file(path)
    assert store.get(cid) == DATA
    assert store.has(cid) and not store.has(unixfs.file_cid(b"absent"))
    store.pin(cid)
    assert cid in kubo.pins
    assert [p for p, _ in kubo.requests].count("/api/v0/cat") == 1  # one cat, no block walk


def test_kubo_get_detects_a_changed_block(kubo: kubo_standin.KuboStandin) -> None:
    store = KuboStore(kubo.url)
    cid = store.put(DATA)
    leaf = unixfs.file_cid(DATA[:MIB])
    kubo.blocks[leaf] = b"evil" + kubo.blocks[leaf][4:]
    with pytest.raises(IntegrityError, match="does not match its CID"):
        store.get(cid)


def test_kubo_get_detects_a_wrong_cid_answer(kubo: kubo_standin.KuboStandin) -> None:
    store = KuboStore(kubo.url)
    cid, decoy = store.put(b"asked for"), store.put(b"answered with")
    kubo.substitute[cid] = decoy
    with pytest.raises(IntegrityError):
        store.get(cid)


def test_kubo_get_detects_an_oversized_answer(kubo: kubo_standin.KuboStandin) -> None:
    store = KuboStore(kubo.url)
    cid = store.put(b"short file")
    kubo.padding = b"x" * (2 * unixfs.MAX_BLOCK_SIZE)
    with pytest.raises(IntegrityError, match="more than"):
        store.get(cid, max_size=100)


def test_kubo_get_reads_block_by_block_when_cat_cannot_be_rebuilt(
    kubo: kubo_standin.KuboStandin,
) -> None:
    """A file made with another chunker has a valid CID that a rebuild cannot reproduce."""
    other_layout = unixfs.Layout(chunk_size=1000)
    root = unixfs.build(io.BytesIO(DATA[:5000]), kubo.blocks.__setitem__, other_layout).cid
    assert KuboStore(kubo.url).get(root) == DATA[:5000]
    assert [p for p, _ in kubo.requests].count("/api/v0/block/get") == 6


def test_kubo_refuses_a_store_whose_cids_differ(kubo: kubo_standin.KuboStandin) -> None:
    """A kubo that ignores a profile flag builds another DAG: put says so instead of going on."""
    kubo.add_layout = unixfs.Layout(chunk_size=4096)
    with pytest.raises(StorageError, match="upgrade kubo"):
        KuboStore(kubo.url).put(DATA[:10_000])


def test_kubo_block_put_and_car_import(kubo: kubo_standin.KuboStandin, local: LocalStore) -> None:
    cid = local.put(DATA)
    buf = io.BytesIO()
    local.export_car(cid, buf, max_size=10 * MIB)
    store = KuboStore(kubo.url)
    assert store.import_car(io.BytesIO(buf.getvalue())) == [cid]
    assert store.get(cid) == DATA


def test_kubo_unreachable_says_what_to_do() -> None:
    store = KuboStore(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(StorageUnavailable, match="ipfs daemon"):
        store.put(b"x")


def test_kubo_errors_carry_kubos_message(kubo: kubo_standin.KuboStandin) -> None:
    with pytest.raises(StorageError, match="not found"):
        KuboStore(kubo.url).pin(unixfs.file_cid(b"absent"))


# -- gateway and settings --------------------------------------------------------------------


def test_gateway_car_fetch_is_verified(kubo: kubo_standin.KuboStandin, tmp_path: Path) -> None:
    cid = KuboStore(kubo.url).put(DATA)
    gateway = GatewayStore(kubo.url)
    assert gateway.get(cid) == DATA
    gateway.get_to_file(cid, tmp_path / "f", max_size=len(DATA))
    assert (tmp_path / "f").read_bytes() == DATA
    kubo.blocks[unixfs.file_cid(DATA[:MIB])] = b"evil"
    with pytest.raises(IntegrityError):
        gateway.get(cid)
    with pytest.raises(StorageError, match="read-only"):
        gateway.put(b"x")


def test_storage_from_settings_picks_the_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path))
    local = storage_from_settings(load_settings())
    assert isinstance(local, LocalStore) and local.root == tmp_path / "ipfs"
    monkeypatch.setenv("DEML_IPFS_BACKEND", "kubo")
    monkeypatch.setenv("DEML_IPFS_API_URL", "http://127.0.0.1:5999")
    kubo = storage_from_settings(load_settings())
    assert isinstance(kubo, KuboStore) and kubo.api_url == "http://127.0.0.1:5999"


@pytest.mark.parametrize("hashfun", ["md5", "sha1", "sha2-512", "identity"])
def test_a_cid_of_any_hash_but_sha2_256_is_refused_even_when_the_block_matches(
    local: LocalStore, hashfun: str
) -> None:
    """md5 and sha1 collide on demand: a block made to match such a CID would pass its check.
    Only sha2-256, the one hash DeML produces, is trusted (issue 14)."""
    from multiformats import CID, multihash

    block = b"a block that matches its weak CID"
    cid = CID("base32", 1, "raw", multihash.digest(block, hashfun))
    with pytest.raises(IntegrityError, match=f"is a {hashfun} CID; only sha2-256"):
        local.put_block(cid, block)
    assert not local.has(cid)
    car_bytes = io.BytesIO()
    car.write_car(car_bytes, [cid], [(cid, block)])
    car_bytes.seek(0)
    with pytest.raises(IntegrityError, match="only sha2-256"):
        _roots, sections = car.read_car(car_bytes)
        list(sections)


def test_a_dag_of_a_million_links_to_one_empty_block_is_refused_at_once(
    local: LocalStore,
) -> None:
    """1,024 links per level to one empty block: a 0-byte file of 1,024^3 leaves that took
    100 hours to walk. A link to a 0-byte child is refused at the first node (issue 14)."""
    empty = unixfs.block_cid(b"")
    local.put_block(empty, b"")
    node = unixfs.Node(empty, 0, 0)
    for _level in range(3):
        block = unixfs.encode_file_node([node] * 1024)
        cid = unixfs.block_cid(block, unixfs.DAG_PB)
        local.put_block(cid, block)
        node = unixfs.Node(cid, len(block), 0)
    fetched: list[object] = []
    fetch = local.get_block
    with pytest.raises(IntegrityError, match="links a child of 0 bytes"):
        b"".join(unixfs.read_file(node.cid, lambda c: fetched.append(c) or fetch(c), 10**9))
    assert len(fetched) == 1  # the root alone
    with pytest.raises(IntegrityError, match="links a child of 0 bytes"):
        local.get(node.cid)
