"""A trustless HTTP gateway over a content store (`deml ipfs serve`), so that roles on other
machines read a dataset by CID from the host's store, as they would from kubo or a public
gateway.

It speaks the IPFS Trustless Gateway spec (https://specs.ipfs.tech/http-gateways/
trustless-gateway/): `GET` or `HEAD /ipfs/{cid}` with `?format=raw` or `Accept:
application/vnd.ipld.raw` answers one block, and `?format=car` or `Accept:
application/vnd.ipld.car` a CAR v1 of the DAG in depth-first order without duplicates
(`dag-scope` all, entity or block). Nothing is answered unverified: each block is checked
against its CID before it is sent, so a damaged store gives an error, never wrong bytes.
Clients verify again (ours: `deml.storage.gateway`); the gateway need not be trusted.
"""

from __future__ import annotations

from collections.abc import Iterator

from multiformats import CID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from deml.exceptions import BlockNotFound, IntegrityError, InvalidCid
from deml.storage import car, unixfs
from deml.storage.base import Storage
from deml.storage.unixfs import parse_cid, verify_block

RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"
CAR_TYPE = f"{CAR}; version=1; order=dfs; dups=n"
SCOPES = ("all", "entity", "block")
# Content under a CID never changes: caches may keep it for good (what kubo sends).
IMMUTABLE = "public, max-age=29030400, immutable"
# The largest DAG streamed as a CAR: far above any dataset, below a disk-filling one.
MAX_CAR_BYTES = 1 << 40


def app(store: Storage) -> Starlette:
    """The gateway's ASGI app over `store`."""

    # A plain function: Starlette runs it in its thread pool, so disk reads never stall the
    # event loop (and a CAR's iterator is drained there too).
    def ipfs(request: Request) -> Response:
        text = request.path_params["cid"]
        try:
            cid = parse_cid(text)
        except InvalidCid as exc:
            return _error(400, f"not a CID: {text!r} ({exc})")
        if request.path_params.get("rest"):
            return _error(400, "paths inside a CID are not served: files only")
        fmt = _format(request)
        if fmt is None:
            return _error(
                406,
                f"a trustless gateway answers verifiable responses only: ask for ?format=raw or"
                f" ?format=car, or send Accept: {RAW} or {CAR}",
            )
        scope = request.query_params.get("dag-scope", "all")
        if scope not in SCOPES:
            return _error(400, f"dag-scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        try:
            root = _verified_block(store, cid)
        except BlockNotFound:
            return _error(404, f"{cid} is not in this gateway's store")
        except IntegrityError as exc:
            return _error(502, f"the store holds a damaged block: {exc}")
        headers = {
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            "X-Ipfs-Path": f"/ipfs/{cid}",
            "Vary": "Accept",
            "Accept-Ranges": "none",
        }
        if fmt == "raw":
            headers |= {
                "Etag": f'"{cid}.raw"',
                "Content-Disposition": f'attachment; filename="{cid}.bin"',
            }
            body = b"" if request.method == "HEAD" else root
            return Response(
                body, headers=headers | {"Content-Length": str(len(root))}, media_type=RAW
            )
        headers |= {
            "Etag": f'"{cid}.car.{scope}"',
            "Content-Disposition": f'attachment; filename="{cid}.car"',
        }
        if request.method == "HEAD":
            return Response(b"", headers=headers, media_type=CAR_TYPE)
        blocks = [(cid, root)] if scope == "block" else _walk(store, cid)
        return StreamingResponse(
            car.car_pieces([cid], blocks), headers=headers, media_type=CAR_TYPE
        )

    routes = [
        Route("/ipfs/{cid}", ipfs, methods=["GET", "HEAD"]),
        Route("/ipfs/{cid}/{rest:path}", ipfs, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)


def _format(request: Request) -> str | None:
    """`raw` or `car`, from ?format= first, then from the Accept header; None for neither."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        return fmt if fmt in ("raw", "car") else None
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == RAW:
            return "raw"
        if media == CAR:
            return "car"
    return None


def _verified_block(store: Storage, cid: CID) -> bytes:
    block = store.get_block(cid)
    verify_block(cid, block)
    return block


def _walk(store: Storage, root: CID) -> Iterator[tuple[CID, bytes]]:
    """The DAG under `root`, depth first, each block verified (`unixfs.walk_blocks`). A block
    found missing or damaged mid-stream ends the CAR early: the client's check sees it."""
    try:
        yield from unixfs.walk_blocks(root, store.get_block, MAX_CAR_BYTES)
    except (BlockNotFound, IntegrityError):
        return


def _error(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)
