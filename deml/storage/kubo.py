"""A kubo daemon as the content store, through its HTTP RPC API."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import requests
from multiformats import CID

from deml.exceptions import IntegrityError, StorageError, StorageUnavailable
from deml.storage import unixfs
from deml.storage.base import COPY_CHUNK, DEFAULT_MAX_SIZE, Storage, read_capped
from deml.storage.unixfs import MAX_BLOCK_SIZE, UNIXFS_V1_2025, parse_cid, verify_block


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
            data = read_capped(answer, max_size)
        if data is not None and unixfs.file_cid(data) == root:
            return data
        return super().get(root, max_size=max_size)

    def get_block(self, cid: CID) -> bytes:
        with self._call("block/get", {"arg": str(cid)}, stream=True) as answer:
            block = read_capped(answer, MAX_BLOCK_SIZE)
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


def _multipart(stream: IO[bytes], boundary: str) -> Iterator[bytes]:
    """A one-file multipart/form-data body, streamed (kubo reads its files this way)."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    while chunk := stream.read(COPY_CHUNK):
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _kubo_message(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("Message", answer.text))
    except ValueError:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"
