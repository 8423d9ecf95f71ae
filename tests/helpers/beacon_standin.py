"""A STAND-IN for a consensus node's beacon API: the two endpoints that serve blobs, on
127.0.0.1 only.

No consensus client (Lighthouse, Prysm, Teku, ...) can run on these machines, and anvil has no
beacon API, so `BeaconBlobs` is tested against this server. It is not a beacon node: it serves
`GET /eth/v1/beacon/blob_sidecars/{block_id}` (`{"data": [{"index", "blob", "kzg_commitment",
"kzg_proof"}]}`, without the signed header and inclusion proof, which DeML does not read) and,
unless `fulu` is off, `GET /eth/v1/beacon/blobs/{block_id}?versioned_hashes=…` (`{"data":
[blob, ...]}`), both with the API's 404 for an unknown block. Blocks are added by their beacon
root with `add(root, blobs)`. Like a lying node, it can answer other bytes: `substitute`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import ckzg

from deml.chain import blobs
from tests.helpers.json_http import QuietHandler


class BeaconStandin:
    def __init__(self) -> None:
        self.blocks: dict[str, list[bytes]] = {}
        self.fulu = True
        self.substitute: bytes | None = None  # answered for every blob, when set
        self.requests: list[str] = []
        self.url = ""

    def add(self, root: str, block_blobs: list[bytes]) -> None:
        self.blocks[root.lower()] = list(block_blobs)

    def _blobs(self, root: str) -> list[bytes] | None:
        found = self.blocks.get(root.lower())
        if found is None or self.substitute is None:
            return found
        return [self.substitute] * len(found)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, object]:
        self.requests.append(path)
        parts = path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["eth", "v1", "beacon"]:
            return 404, {"code": 404, "message": "unknown endpoint"}
        endpoint, root = parts[3], parts[4]
        if endpoint == "blobs" and not self.fulu:
            return 404, {"code": 404, "message": "unknown endpoint"}
        found = self._blobs(root)
        if found is None:
            return 404, {"code": 404, "message": "block not found"}
        setup = blobs._trusted_setup()
        commitments = [ckzg.blob_to_kzg_commitment(b, setup) for b in self.blocks[root.lower()]]
        if endpoint == "blobs":
            wanted = [h for v in query.get("versioned_hashes", []) for h in v.split(",")]
            hashes = ["0x" + blobs.versioned_hash_of_commitment(c).hex() for c in commitments]
            chosen = [i for i, h in enumerate(hashes) if not wanted or h in wanted]
            return 200, {"data": ["0x" + found[i].hex() for i in chosen]}
        if endpoint == "blob_sidecars":
            data = [
                {
                    "index": str(i),
                    "blob": "0x" + blob.hex(),
                    "kzg_commitment": "0x" + commitment.hex(),
                    "kzg_proof": "0x" + ckzg.compute_blob_kzg_proof(blob, commitment, setup).hex(),
                }
                for i, (blob, commitment) in enumerate(zip(found, commitments, strict=True))
            ]
            return 200, {"version": "deneb", "data": data}
        return 404, {"code": 404, "message": "unknown endpoint"}


@contextmanager
def beacon_standin() -> Iterator[BeaconStandin]:
    standin = BeaconStandin()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            split = urlsplit(self.path)
            status, body = standin.answer(split.path, parse_qs(split.query))
            self._json(body, status)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
