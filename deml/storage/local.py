"""The embedded content store: blocks in files under `<state_dir>/ipfs/`, nothing to run."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import IO

from multiformats import CID

from deml.exceptions import BlockNotFound
from deml.storage import unixfs
from deml.storage.base import Storage
from deml.storage.unixfs import MAX_BLOCK_SIZE, UNIXFS_V1_2025, parse_cid, verify_block


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
