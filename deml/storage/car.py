"""CAR v1 archives (https://ipld.io/specs/transport/car/carv1/): write, and read verified.

A CAR is a varint-prefixed DAG-CBOR header `{roots: [CID], version: 1}` followed by sections,
each a varint length, a binary CID and the block. The header goes through `dag-cbor` (the
IPLD codec that works with `multiformats` CIDs), varints through `multiformats.varint`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

import dag_cbor
from dag_cbor.decoding import CBORDecodingError
from multiformats import CID, varint

from deml.exceptions import CarError
from deml.storage.unixfs import MAX_BLOCK_SIZE, parse_cid, verify_block

CAR_VERSION = 1
MAX_HEADER_SIZE = 64 * 1024  # a header holds a few root CIDs; more is not a CAR we want
_MAX_CID_SIZE = 128  # CID prefix and a digest of up to 64 bytes, with room to spare
_MAX_VARINT_BYTES = 9


def write_car(out: IO[bytes], roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> int:
    """Write a CAR v1 of `blocks` under `roots`; return the bytes written."""
    return sum(out.write(piece) for piece in car_pieces(roots, blocks))


def car_pieces(roots: list[CID], blocks: Iterable[tuple[CID, bytes]]) -> Iterator[bytes]:
    """A CAR v1 of `blocks` under `roots`, piece by piece, as `blocks` yields them (a
    gateway streams it: a large DAG is never held in memory)."""
    header = dag_cbor.encode({"roots": list(roots), "version": CAR_VERSION})
    yield varint.encode(len(header)) + header
    for cid, block in blocks:
        raw = bytes(cid)
        yield varint.encode(len(raw) + len(block)) + raw
        yield block


def read_car(stream: IO[bytes]) -> tuple[list[CID], Iterator[tuple[CID, bytes]]]:
    """The roots of a CAR v1, and an iterator over its blocks, each checked against its CID."""
    length = _read_varint(stream)
    if length is None or not 0 < length <= MAX_HEADER_SIZE:
        raise CarError(f"not a CAR file: bad header length {length}")
    try:
        header = dag_cbor.decode(_read_exact(stream, length))
    except (CBORDecodingError, ValueError) as exc:
        raise CarError(f"not a CAR file: unreadable header ({exc})") from None
    if not isinstance(header, dict) or header.get("version") != CAR_VERSION:
        raise CarError("not a CAR v1 file (CAR v2 is not supported; `ipfs dag export` writes v1)")
    roots = header.get("roots")
    if not isinstance(roots, list) or not all(isinstance(r, CID) for r in roots):
        raise CarError("CAR header has no list of root CIDs")
    return [parse_cid(r) for r in roots], _sections(stream)


def _sections(stream: IO[bytes]) -> Iterator[tuple[CID, bytes]]:
    while (length := _read_varint(stream)) is not None:
        if not 0 < length <= MAX_BLOCK_SIZE + _MAX_CID_SIZE:
            raise CarError(f"CAR section of {length:,} bytes is over the block size limit")
        section = _read_exact(stream, length)
        cid_len = _cid_length(section)
        cid = parse_cid(section[:cid_len])
        block = section[cid_len:]
        verify_block(cid, block)
        yield cid, block


def _cid_length(section: bytes) -> int:
    """The length of the binary CID that starts `section`."""
    if section[:2] == b"\x12\x20":  # CIDv0: a bare sha2-256 multihash
        return 34
    try:
        rest = memoryview(section)
        used = 0
        for _ in range(3):  # version, codec, hash function
            _, n, rest = varint.decode_raw(rest)
            used += n
        digest_len, n, _ = varint.decode_raw(rest)
    except ValueError as exc:
        raise CarError(f"CAR section does not start with a CID ({exc})") from None
    total = used + n + digest_len
    if total > min(len(section), _MAX_CID_SIZE):
        raise CarError("CAR section does not start with a CID (truncated)")
    return total


def _read_varint(stream: IO[bytes]) -> int | None:
    """The next unsigned varint, or None at a clean end of stream."""
    raw = bytearray()
    while len(raw) < _MAX_VARINT_BYTES:
        byte = stream.read(1)
        if not byte:
            if raw:
                raise CarError("CAR file ends inside a length prefix (truncated)")
            return None
        raw += byte
        if not byte[0] & 0x80:
            try:
                return varint.decode(bytes(raw))
            except ValueError as exc:  # e.g. a non-minimal encoding
                raise CarError(f"bad CAR length prefix ({exc})") from None
    raise CarError("CAR length prefix is too long")


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise CarError(f"CAR file is truncated: wanted {size:,} bytes, got {len(data):,}")
    return data
