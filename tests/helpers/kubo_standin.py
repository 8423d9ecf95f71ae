"""A STAND-IN for a kubo daemon: the few HTTP RPC endpoints DeML uses, on 127.0.0.1 only.

No kubo daemon can be installed on these machines, so `KuboStore` is tested against this
server. It is not kubo: it implements `/api/v0/add` (only with the unixfs-v1-2025 flags,
which it checks), `cat`, `block/get`, `block/put`, `block/stat`, `pin/add`, and a trustless
gateway's `GET /ipfs/<cid>?format=car|raw`, with real CIDs from `deml.unixfs` (whose CIDs
the tests check against the reference JS importer). Error answers have kubo's shape: HTTP
500 with `{"Message", "Code", "Type": "error"}`.

Like a misbehaving node, it can lie: tests edit `blocks`, set `substitute` (answer one CID
with another's bytes) or `padding` (append bytes to every answer). It is bounded: a free
port chosen by the OS, a request body limit, a socket timeout, and it stops with its context.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from multiformats import CID

from deml.storage import car, unixfs
from tests.helpers.json_http import QuietHandler

MAX_BODY = 64 * 1024 * 1024
PROFILE_FLAGS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "hash": "sha2-256",
    "chunker": "size-1048576",
    "max-file-links": "1024",
    "trickle": "false",
}


class KuboStandin:
    """The server's state: blocks by CID, pins, the requests it saw, and the lies it tells."""

    def __init__(self) -> None:
        self.blocks: dict[CID, bytes] = {}
        self.pins: set[CID] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.substitute: dict[CID, CID] = {}
        self.padding = b""
        self.add_layout = unixfs.UNIXFS_V1_2025  # another one plays a kubo ignoring a flag
        self.url = ""

    def block(self, cid: CID) -> bytes | None:
        """What the node answers for `cid`, lies included."""
        block = self._stored(cid)
        return None if block is None else block + self.padding

    def file_bytes(self, cid: CID) -> bytes:
        """What `cat` answers: the file assembled from the stored blocks, unverified."""
        return self._assemble(cid) + self.padding

    def dag(self, root: CID) -> Iterator[tuple[CID, bytes]]:
        """Every block under `root` as answered (lies included), depth first."""
        block = self._stored(root)
        if block is None:
            raise KeyError(root)
        yield root, block + self.padding
        if root.codec.name == unixfs.DAG_PB:
            for link in unixfs.links(root, block):
                yield from self.dag(link)

    def _stored(self, cid: CID) -> bytes | None:
        return self.blocks.get(self.substitute.get(cid, cid))

    def _assemble(self, cid: CID) -> bytes:
        block = self._stored(cid)
        if block is None:
            raise KeyError(cid)
        if cid.codec.name == unixfs.RAW:
            return block
        return b"".join(self._assemble(link) for link in unixfs.links(cid, block))


class _Handler(QuietHandler):
    server: _Server

    # -- dispatch --

    def do_POST(self) -> None:
        path, query = self._parse()
        node = self.server.node
        node.requests.append((path, query))
        handler = {
            "/api/v0/add": self._add,
            "/api/v0/cat": self._cat,
            "/api/v0/block/get": self._block_get,
            "/api/v0/block/put": self._block_put,
            "/api/v0/block/stat": self._block_stat,
            "/api/v0/pin/add": self._pin_add,
        }.get(path)
        if handler is None:
            self._send(404, b"404 page not found", "text/plain")
            return
        try:
            handler(node, query)
        except _KuboError as exc:
            self._json({"Message": str(exc), "Code": 0, "Type": "error"}, status=500)

    def do_GET(self) -> None:
        path, query = self._parse()
        node = self.server.node
        node.requests.append((path, query))
        if path.startswith("/api/v0/"):  # kubo's RPC answers only POST
            self._send(405, b"405 - Method Not Allowed", "text/plain")
            return
        if not path.startswith("/ipfs/"):
            self._send(404, b"not found", "text/plain")
            return
        try:
            cid = unixfs.parse_cid(path.removeprefix("/ipfs/"))
            if query.get("format") == "car":
                buf = io.BytesIO()
                car.write_car(buf, [cid], node.dag(cid))
                self._send(200, buf.getvalue(), "application/vnd.ipld.car")
            elif query.get("format") == "raw":
                block = node.block(cid)
                if block is None:
                    raise KeyError(cid)
                self._send(200, block, "application/vnd.ipld.raw")
            else:
                self._send(400, b"only ?format=car or ?format=raw", "text/plain")
        except (KeyError, unixfs.InvalidCid):
            self._send(404, b"not found", "text/plain")

    # -- endpoints --

    def _add(self, node: KuboStandin, query: dict[str, str]) -> None:
        for flag, value in PROFILE_FLAGS.items():
            if query.get(flag) != value:
                raise _KuboError(f"stand-in: add needs {flag}={value}, got {query.get(flag)}")
        data = self._file_part()
        only_hash = query.get("only-hash") == "true"
        sink = None if only_hash else node.blocks.__setitem__
        root = unixfs.build(io.BytesIO(data), sink, node.add_layout)
        if query.get("pin", "true") == "true" and not only_hash:
            node.pins.add(root.cid)
        self._json({"Name": "file", "Hash": str(root.cid), "Size": str(root.tsize)})

    def _cat(self, node: KuboStandin, query: dict[str, str]) -> None:
        try:
            data = node.file_bytes(self._arg(query))
        except KeyError as exc:
            raise _KuboError(f"block was not found locally (offline): {exc}") from None
        if "length" in query:
            data = data[: int(query["length"])]
        self._send(200, data, "text/plain")

    def _block_get(self, node: KuboStandin, query: dict[str, str]) -> None:
        block = node.block(self._arg(query))
        if block is None:
            raise _KuboError("block was not found locally (offline): ipld: could not find node")
        self._send(200, block, "text/plain")

    def _block_put(self, node: KuboStandin, query: dict[str, str]) -> None:
        if query.get("mhtype", "sha2-256") != "sha2-256":
            raise _KuboError("stand-in: only sha2-256")
        data = self._file_part()
        cid = unixfs.block_cid(data, query.get("cid-codec", unixfs.RAW))
        node.blocks[cid] = data
        self._json({"Key": str(cid), "Size": len(data)})

    def _block_stat(self, node: KuboStandin, query: dict[str, str]) -> None:
        cid = self._arg(query)
        if query.get("offline") != "true":
            raise _KuboError("stand-in: has() must ask offline, or kubo searches the network")
        if cid not in node.blocks:
            raise _KuboError(f"block was not found locally (offline): ipld: could not find {cid}")
        self._json({"Key": str(cid), "Size": len(node.blocks[cid])})

    def _pin_add(self, node: KuboStandin, query: dict[str, str]) -> None:
        cid = self._arg(query)
        try:
            for _ in node.dag(cid):
                pass
        except KeyError as exc:
            raise _KuboError(f"pin: block was not found locally (offline): {exc}") from None
        node.pins.add(cid)
        self._json({"Pins": [str(cid)]})

    # -- plumbing --

    def _parse(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}

    def _arg(self, query: dict[str, str]) -> CID:
        try:
            return unixfs.parse_cid(query.get("arg", ""))
        except unixfs.InvalidCid:
            raise _KuboError(f"invalid path {query.get('arg')!r}") from None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    raise _KuboError("stand-in: request body too large")
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            raise _KuboError("stand-in: request body too large")
        return self.rfile.read(length)

    def _file_part(self) -> bytes:
        """The content of the first part of a multipart/form-data body."""
        boundary = self.headers.get_param("boundary")
        if not boundary:
            raise _KuboError("file argument 'path' is required")
        body = self._body()
        start = body.index(b"\r\n\r\n", body.index(b"--" + str(boundary).encode())) + 4
        return body[start : body.index(b"\r\n--" + str(boundary).encode(), start)]


class _KuboError(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    node: KuboStandin


@contextmanager
def running() -> Iterator[KuboStandin]:
    """A stand-in on a free port of 127.0.0.1; `node.url` is its address. Stops on exit."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.node = KuboStandin()
    server.node.url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits for the loop to notice it.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="kubo-standin", daemon=True
    )
    thread.start()
    try:
        yield server.node
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
