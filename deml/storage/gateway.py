"""Reading from a trustless HTTP gateway (`/ipfs/{cid}?format=car`), every block verified
here, so the gateway need not be trusted. Read-only."""

from __future__ import annotations

import io
import time
from pathlib import Path

import requests
from multiformats import CID
from urllib3.exceptions import HTTPError

from deml._fs import write_atomic
from deml.exceptions import (
    BlockNotFound,
    ContentTooLarge,
    IntegrityError,
    StorageError,
    StorageUnavailable,
)
from deml.storage import car, unixfs
from deml.storage.base import DEFAULT_MAX_SIZE, Storage
from deml.storage.unixfs import MAX_BLOCK_SIZE, parse_cid


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
        deadline = self._deadline()
        answer = self._request(root, "car", "application/vnd.ipld.car", {"dag-scope": "all"})
        with answer:
            _, sections = car.read_car(_Body(answer, budget, deadline))
            return dict(sections)

    def copy_dag(self, root: CID, into: Storage, *, max_size: int = DEFAULT_MAX_SIZE) -> int:
        """Store the DAG under `root` in `into` from one CAR, streamed, each block verified by
        `into.put_block`; the root goes last, so a store that holds the root holds it all.
        Return the blocks stored."""
        budget = max_size + max_size // 16 + MAX_BLOCK_SIZE
        deadline = self._deadline()
        answer = self._request(root, "car", "application/vnd.ipld.car", {"dag-scope": "all"})
        held: bytes | None = None
        count = 0
        with answer:
            _, sections = car.read_car(_Body(answer, budget, deadline))
            for cid, block in sections:
                if cid == root:
                    held = block
                else:
                    into.put_block(cid, block)
                count += 1
        if held is None:
            raise BlockNotFound(f"the gateway's CAR for {root} lacks its root block")
        # The root goes in only once every block under it is in: a store holding a root
        # holds its whole DAG (what `has` means). A CAR cut short fails here.
        root_block = held

        def fetch(cid: CID) -> bytes:
            return root_block if cid == root else into.get_block(cid)

        for _ in unixfs.walk_blocks(root, fetch, budget):
            pass
        into.put_block(root, held)
        return count

    def get_block(self, cid: CID) -> bytes:
        deadline = self._deadline()
        with self._request(cid, "raw", "application/vnd.ipld.raw", {}) as answer:
            try:
                return _Body(answer, MAX_BLOCK_SIZE, deadline).read()
            except ContentTooLarge:
                raise IntegrityError(
                    f"the gateway sent more than {MAX_BLOCK_SIZE:,} bytes for {cid}"
                ) from None

    def _deadline(self) -> float:
        """When a whole answer must be in: `timeout_s` from now. requests' timeout applies to
        each read, and a gateway sending a byte now and then never trips it (a 217-byte CAR
        took 10.8 s with a 1 s timeout)."""
        return time.monotonic() + self.timeout_s

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


def _lookup(blocks: dict[CID, bytes]) -> unixfs.BlockFetcher:
    def fetch(cid: CID) -> bytes:
        try:
            return blocks[cid]
        except KeyError:
            raise BlockNotFound(f"the gateway's CAR lacks block {cid}") from None

    return fetch


class _Body(io.RawIOBase):
    """An answer's body as it arrives, whatever the gateway sends: ContentTooLarge past `cap`
    bytes, StorageUnavailable once `deadline` (time.monotonic) passes. Each read takes what
    one receive gives, so a dribbling gateway is cut off at the deadline, at most one
    per-read timeout late."""

    def __init__(self, answer: requests.Response, cap: int, deadline: float) -> None:
        self._raw, self._left, self._deadline = answer.raw, cap, deadline
        self._url = answer.url

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = bytearray()
        while len(data) < want:
            if time.monotonic() > self._deadline:
                raise StorageUnavailable(f"the gateway was too slow: {self._url} is not in yet")
            try:
                piece = self._raw.read1(want - len(data))
            except (requests.RequestException, OSError, HTTPError) as exc:
                raise StorageUnavailable(f"the gateway stopped answering ({exc})") from None
            if not piece:
                break
            data += piece
        self._left -= len(data)
        if self._left < 0:
            raise ContentTooLarge("the gateway sent more than the size limit allows")
        return bytes(data)
