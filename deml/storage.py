"""Content-addressed storage: put, get, has and pin files by IPFS CID, verified on every read.

Two backends store files the same way, as kubo's `unixfs-v1-2025` profile does (see
`deml.unixfs`), so a CID means the same bytes whichever one made it:

- `LocalStore` (the default): blocks in files under `<state_dir>/ipfs/`, nothing to run.
- `KuboStore`: a kubo daemon's HTTP RPC API.

`GatewayStore` reads (only) from a trustless HTTP gateway. `get` never trusts a backend: the
content is checked against its CID before it is returned, with a size cap.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests
from multiformats import CID

from deml import car, unixfs
from deml.exceptions import DemlError
from deml.unixfs import (
    MAX_BLOCK_SIZE,
    UNIXFS_V1_2025,
    ContentTooLarge,
    IntegrityError,
    InvalidCid,
    parse_cid,
    verify_block,
)

if TYPE_CHECKING:
    from deml.settings import Settings

__all__ = [
    "DEFAULT_MAX_SIZE",
    "BlockNotFound",
    "ContentTooLarge",
    "GatewayStore",
    "IntegrityError",
    "InvalidCid",
    "KuboStore",
    "LocalStore",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "storage_from_settings",
]

# What `get` reads into memory at most unless told otherwise: larger files go to disk.
DEFAULT_MAX_SIZE = 1024 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024


class BlockNotFound(DemlError, LookupError):
    """A block is not in the store."""


class StorageUnavailable(DemlError, ConnectionError):
    """The storage backend cannot be reached."""


class StorageError(DemlError, RuntimeError):
    """The storage backend refused a request or answered something unusable."""


class Storage(ABC):
    """Files by CID. Subclasses provide blocks; reading and verifying is shared."""

    @abstractmethod
    def put_file(self, path: Path) -> CID:
        """Store the file at `path`; return its CID."""

    @abstractmethod
    def put(self, data: bytes) -> CID:
        """Store `data` as a file; return its CID."""

    @abstractmethod
    def get_block(self, cid: CID) -> bytes:
        """One raw block as the backend holds it, not yet verified."""

    @abstractmethod
    def put_block(self, cid: CID, block: bytes) -> None:
        """Store one block after checking it against `cid`."""

    @abstractmethod
    def has(self, cid: CID | str) -> bool:
        """Whether the backend holds the root block of `cid` without fetching it."""

    @abstractmethod
    def pin(self, cid: CID | str) -> None:
        """Keep the whole DAG of `cid` (pinned content is never garbage-collected)."""

    def get(self, cid: CID | str, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
        """The file `cid`, checked against its CID block by block; at most `max_size` bytes."""
        return b"".join(unixfs.read_file(parse_cid(cid), self.get_block, max_size))

    def get_to_file(self, cid: CID | str, dest: Path, *, max_size: int) -> int:
        """Write the verified file `cid` to `dest` (whole or not at all); return its size."""
        return write_atomic(dest, unixfs.read_file(parse_cid(cid), self.get_block, max_size))

    def export_car(self, cid: CID | str, out: IO[bytes], *, max_size: int) -> int:
        """Write the DAG of `cid` as a CAR v1 to `out`, every block verified; return its size."""
        root = parse_cid(cid)
        return car.write_car(out, [root], unixfs.walk_blocks(root, self.get_block, max_size))

    def import_car(self, stream: IO[bytes]) -> list[CID]:
        """Store every block of a CAR v1 (each checked against its CID); return its roots."""
        roots, blocks = car.read_car(stream)
        for cid, block in blocks:
            self.put_block(cid, block)
        for root in roots:
            if not self.has(root):
                raise car.CarError(f"the CAR names root {root} but does not hold it")
        return roots


# -- embedded store --------------------------------------------------------------------------


class LocalStore(Storage):
    """Blocks as files under `root`, named by CID, with CIDs byte-identical to kubo's.

    A file's blocks are written children first and its root last, each by an atomic rename,
    so a present root block means a complete put; `has` relies on that.
    """

    def __init__(self, root: Path, layout: unixfs.Layout = UNIXFS_V1_2025) -> None:
        self.root = Path(root)
        self.layout = layout
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"

    def put_file(self, path: Path) -> CID:
        with open(path, "rb") as stream:
            return self._put_stream(stream)

    def put(self, data: bytes) -> CID:
        return self._put_stream(io.BytesIO(data))

    def _put_stream(self, stream: IO[bytes]) -> CID:
        return unixfs.build(stream, self._write_block, self.layout).cid

    def get_block(self, cid: CID) -> bytes:
        try:
            with open(self._block_path(cid), "rb") as f:
                return f.read(MAX_BLOCK_SIZE + 1)  # verify_block rejects the extra byte
        except FileNotFoundError:
            raise BlockNotFound(
                f"{cid} is not in the local store {self.root}; import a CAR or fetch it"
            ) from None

    def put_block(self, cid: CID, block: bytes) -> None:
        verify_block(cid, block)
        self._write_block(cid, block)

    def has(self, cid: CID | str) -> bool:
        return self._block_path(parse_cid(cid)).is_file()

    def pin(self, cid: CID | str) -> None:
        """Pin after checking that every block of the DAG is here and intact."""
        root = parse_cid(cid)
        for _ in unixfs.walk_blocks(root, self.get_block, max_bytes=2**62):
            pass
        self._pins.mkdir(parents=True, exist_ok=True)
        (self._pins / str(root)).touch()

    def pins(self) -> list[CID]:
        """The pinned roots."""
        if not self._pins.is_dir():
            return []
        return sorted((parse_cid(p.name) for p in self._pins.iterdir()), key=str)

    def block_path(self, cid: CID | str) -> Path:
        """Where the block `cid` is (or would be) kept."""
        return self._block_path(parse_cid(cid))

    def _block_path(self, cid: CID) -> Path:
        name = str(cid)
        # Shard by the next-to-last two characters (kubo's flatfs rule): the leading ones
        # are the same prefix for every CID.
        return self._blocks / name[-3:-1] / name

    def _write_block(self, cid: CID, block: bytes) -> None:
        path = self._block_path(cid)
        if path.is_file():  # same CID, same bytes: content addressing makes this a no-op
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(block)
        os.replace(tmp, path)


# -- kubo ------------------------------------------------------------------------------------


class KuboStore(Storage):
    """A kubo daemon, through its HTTP RPC API (POST /api/v0/...), with plain `requests`.

    Why not ipfshttpclient: 0.7 is unmaintained, its `connect()` refuses every kubo newer than
    0.8, it does not know the flags the profile needs (`max-file-links`), and it reads whole
    responses into memory. kubo's RPC is plain HTTP POST with query flags, so `requests`
    gives every flag explicitly, streams uploads, and caps what it reads.

    `put` sends the `unixfs-v1-2025` profile as explicit flags, so the daemon's own config
    does not matter, and checks kubo's CID against one computed here: a kubo too old to know
    `max-file-links` (before 0.35) keeps its default of 174 links per node, so it would build
    files over 174 MiB differently.
    """

    def __init__(self, api_url: str, *, timeout_s: float = 60.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = requests.Session()

    def add_params(self) -> dict[str, str]:
        """The /api/v0/add flags of the unixfs-v1-2025 profile."""
        return {
            "cid-version": "1",
            "raw-leaves": "true",
            "hash": "sha2-256",
            "chunker": f"size-{UNIXFS_V1_2025.chunk_size}",
            "max-file-links": str(UNIXFS_V1_2025.max_links),
            "trickle": "false",
            "inline": "false",
            "wrap-with-directory": "false",
            "pin": "true",
            "only-hash": "false",
            "progress": "false",
        }

    def put_file(self, path: Path) -> CID:
        with open(path, "rb") as stream:
            expected = unixfs.build(stream).cid
            stream.seek(0)
            return self._add(stream, expected)

    def put(self, data: bytes) -> CID:
        return self._add(io.BytesIO(data), unixfs.file_cid(data))

    def _add(self, stream: IO[bytes], expected: CID) -> CID:
        boundary = uuid.uuid4().hex
        answer = self._call(
            "add",
            self.add_params(),
            data=_multipart(stream, boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        lines = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
        if not lines or "Hash" not in lines[-1]:
            raise StorageError(f"kubo at {self.api_url} answered add without a CID")
        got = parse_cid(lines[-1]["Hash"])
        if got != expected:
            raise StorageError(
                f"kubo at {self.api_url} stored the file as {got}, but the unixfs-v1-2025 profile"
                f" gives {expected}; upgrade kubo to 0.35 or later"
            )
        return got

    def get(self, cid: CID | str, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
        """The file `cid`: one `cat`, accepted only if rebuilding its DAG gives `cid` again.

        A file built some other way (another chunker, CIDv0) cannot be rebuilt from its bytes;
        then, as after any mismatch, the file is read block by block, each block verified.
        """
        root = parse_cid(cid)
        params = {"arg": str(root), "length": str(max_size + 1)}
        with self._call("cat", params, stream=True) as answer:
            data = _read_capped(answer, max_size)
        if data is not None and unixfs.file_cid(data) == root:
            return data
        return super().get(root, max_size=max_size)

    def get_block(self, cid: CID) -> bytes:
        with self._call("block/get", {"arg": str(cid)}, stream=True) as answer:
            block = _read_capped(answer, MAX_BLOCK_SIZE)
        if block is None:
            raise IntegrityError(f"kubo answered more than {MAX_BLOCK_SIZE:,} bytes for {cid}")
        return block

    def put_block(self, cid: CID, block: bytes) -> None:
        verify_block(cid, block)
        boundary = uuid.uuid4().hex
        params = {"cid-codec": cid.codec.name, "mhtype": cid.hashfun.name, "pin": "false"}
        answer = self._call(
            "block/put",
            params,
            data=_multipart(io.BytesIO(block), boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        ).json()
        if parse_cid(answer.get("Key", "")).digest != cid.digest:
            raise StorageError(f"kubo stored block {cid} under another hash: {answer}")

    def has(self, cid: CID | str) -> bool:
        # `offline` is kubo's global option: answer from the local repo, never the network.
        try:
            self._call("block/stat", {"arg": str(parse_cid(cid)), "offline": "true"})
        except StorageError as exc:
            if "not found" in str(exc) or "could not find" in str(exc):
                return False
            raise
        return True

    def pin(self, cid: CID | str) -> None:
        root = parse_cid(cid)
        answer = self._call("pin/add", {"arg": str(root), "recursive": "true"}).json()
        if str(root) not in {str(parse_cid(p)) for p in answer.get("Pins", [])}:
            raise StorageError(f"kubo did not confirm the pin of {root}: {answer}")

    def _call(self, command: str, params: dict[str, str], **kwargs: Any) -> requests.Response:
        url = f"{self.api_url}/api/v0/{command}"
        try:
            answer = self._http.post(url, params=params, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise StorageUnavailable(
                f"cannot reach kubo's RPC API at {self.api_url} ({type(exc).__name__});"
                " is `ipfs daemon` running? (setting ipfs_api_url, DEML_IPFS_API_URL)"
            ) from None
        if answer.status_code != 200:
            raise StorageError(f"kubo {command} failed: {_kubo_message(answer)}")
        return answer


# -- trustless gateway -----------------------------------------------------------------------


class GatewayStore(Storage):
    """Read-only: files from a trustless HTTP gateway as CARs, verified here block by block."""

    def __init__(self, gateway_url: str, *, timeout_s: float = 60.0) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = requests.Session()

    def get(self, cid: CID | str, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
        root = parse_cid(cid)
        blocks = self._car(root, max_size)
        return b"".join(unixfs.read_file(root, _lookup(blocks), max_size))

    def get_to_file(self, cid: CID | str, dest: Path, *, max_size: int) -> int:
        root = parse_cid(cid)
        blocks = self._car(root, max_size)
        return write_atomic(dest, unixfs.read_file(root, _lookup(blocks), max_size))

    def _car(self, root: CID, max_size: int) -> dict[CID, bytes]:
        """Every block the gateway sends for `root`, each verified, at most about `max_size`."""
        # Blocks carry some overhead over the file bytes: allow 1/16 on top, plus one block.
        budget = max_size + max_size // 16 + MAX_BLOCK_SIZE
        answer = self._request(root, "car", "application/vnd.ipld.car", {"dag-scope": "all"})
        with answer:
            _, sections = car.read_car(_CappedReader(answer.raw, budget))
            return dict(sections)

    def get_block(self, cid: CID) -> bytes:
        with self._request(cid, "raw", "application/vnd.ipld.raw", {}) as answer:
            block = _read_capped(answer, MAX_BLOCK_SIZE)
        if block is None:
            raise IntegrityError(f"the gateway sent more than {MAX_BLOCK_SIZE:,} bytes for {cid}")
        return block

    def _request(self, cid: CID, fmt: str, accept: str, extra: dict[str, str]) -> requests.Response:
        url = f"{self.gateway_url}/ipfs/{cid}"
        try:
            answer = self._http.get(
                url,
                params={"format": fmt, **extra},
                headers={"Accept": accept},
                stream=True,
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:
            raise StorageUnavailable(
                f"cannot reach the gateway {self.gateway_url} ({type(exc).__name__})"
            ) from None
        if answer.status_code == 404:
            raise BlockNotFound(f"the gateway {self.gateway_url} does not have {cid}")
        if answer.status_code != 200:
            raise StorageError(f"the gateway answered {answer.status_code} for {cid}")
        return answer

    def put_file(self, path: Path) -> CID:
        raise StorageError("a gateway is read-only; publish through the local store or kubo")

    def put(self, data: bytes) -> CID:
        raise StorageError("a gateway is read-only; publish through the local store or kubo")

    def put_block(self, cid: CID, block: bytes) -> None:
        raise StorageError("a gateway is read-only; publish through the local store or kubo")

    def has(self, cid: CID | str) -> bool:
        return False  # a gateway fetches on demand: it never holds content for us

    def pin(self, cid: CID | str) -> None:
        raise StorageError("a gateway cannot pin; pin through the local store or kubo")


def storage_from_settings(settings: Settings) -> Storage:
    """The backend the settings choose: `ipfs_backend` local (under state_dir) or kubo."""
    if settings.ipfs_backend == "kubo":
        return KuboStore(settings.ipfs_api_url)
    return LocalStore(settings.state_dir / "ipfs")


# -- helpers ---------------------------------------------------------------------------------


def _lookup(blocks: dict[CID, bytes]) -> unixfs.BlockFetcher:
    def fetch(cid: CID) -> bytes:
        try:
            return blocks[cid]
        except KeyError:
            raise BlockNotFound(f"the gateway's CAR lacks block {cid}") from None

    return fetch


def _multipart(stream: IO[bytes], boundary: str) -> Iterator[bytes]:
    """A one-file multipart/form-data body, streamed (kubo reads its files this way)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    while chunk := stream.read(_COPY_CHUNK):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _read_capped(answer: requests.Response, cap: int) -> bytes | None:
    """The body, or None as soon as it passes `cap` bytes (the rest is never read)."""
    buf = bytearray()
    for chunk in answer.iter_content(_COPY_CHUNK):
        buf += chunk
        if len(buf) > cap:
            return None
    return bytes(buf)


class _CappedReader(io.RawIOBase):
    """A stream that raises ContentTooLarge once more than `cap` bytes have been read."""

    def __init__(self, raw: IO[bytes], cap: int) -> None:
        self._raw, self._left = raw, cap

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(self._left + 1 if size < 0 else min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise ContentTooLarge("the gateway sent more than the size limit allows")
        return data


def _kubo_message(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("Message", answer.text))
    except ValueError:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"


@contextmanager
def atomic_writer(dest: Path) -> Iterator[IO[bytes]]:
    """A file beside `dest` to write to; it becomes `dest` only if the block ends cleanly."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; this is an ordinary file
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(dest: Path, pieces: Iterable[bytes]) -> int:
    """Write `pieces` to `dest` whole or not at all; return the bytes written."""
    with atomic_writer(dest) as out:
        return sum(out.write(piece) for piece in pieces)
