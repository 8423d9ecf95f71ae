"""Content-addressed storage: put, get, has and pin files by IPFS CID, verified on every read.

Every backend stores files the same way, as kubo's `unixfs-v1-2025` profile does (see
`deml.storage.unixfs`), so a CID means the same bytes whichever one made it. `get` never
trusts a backend: the content is checked against its CID before it is returned, with a size
cap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO

import requests
from multiformats import CID

from deml._fs import write_atomic
from deml.exceptions import CarError
from deml.storage import car, unixfs
from deml.storage.unixfs import parse_cid

# What `get` reads into memory at most unless told otherwise: larger files go to disk.
DEFAULT_MAX_SIZE = 1024 * 1024 * 1024
COPY_CHUNK = 1024 * 1024


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
                raise CarError(f"the CAR names root {root} but does not hold it")
        return roots


def read_capped(answer: requests.Response, cap: int) -> bytes | None:
    """The body, or None as soon as it passes `cap` bytes (the rest is never read)."""
    buf = bytearray()
    for chunk in answer.iter_content(COPY_CHUNK):
        buf += chunk
        if len(buf) > cap:
            return None
    return bytes(buf)
