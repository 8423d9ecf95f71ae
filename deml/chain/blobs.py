"""A payload in EIP-4844 blobs: the encoding, and the versioned hashes a contract sees.

A blob is 4,096 field elements of 32 bytes, each below the BLS12-381 scalar modulus. The
encoding (version 1, part of the protocol: competitors and miners must agree on it):

- every element's first byte is 0 (which keeps it below the modulus); its other 31 bytes carry
  data: 126,976 bytes a blob;
- the data is one byte of version (1), the payload's length as 4 big-endian bytes, the
  payload, then zeros to the end of the last blob;
- as few blobs as hold it, at most `MAX_BLOBS` (EIP-4844's per-transaction cap at Prague).

Decoding accepts exactly what encoding produces: a zero first byte everywhere, version 1, a
length that fits, the fewest blobs, zero padding. So a payload has one encoding, and the blobs'
versioned hashes (`0x01 ‖ sha256(KZG commitment)[1:]`, what `blobhash(i)` gives a contract)
name the payload as surely as its own hash does.
"""

from __future__ import annotations

import functools
import hashlib
import math

from deml.exceptions import DemlError

FIELD_ELEMENTS = 4_096
ELEMENT_BYTES = 32
BLOB_BYTES = FIELD_ELEMENTS * ELEMENT_BYTES
DATA_PER_ELEMENT = ELEMENT_BYTES - 1
DATA_PER_BLOB = FIELD_ELEMENTS * DATA_PER_ELEMENT  # 126,976
MAX_BLOBS = 6
ENCODING_VERSION = 1
_HEADER = 5  # the version byte and the 4-byte length
MAX_PAYLOAD_BYTES = MAX_BLOBS * DATA_PER_BLOB - _HEADER
VERSIONED_HASH_VERSION = b"\x01"


class BlobError(DemlError):
    """Blobs that are not a payload's encoding, or that do not match their versioned hashes."""


class BlobMismatch(BlobError):
    """Blobs other than the ones whose versioned hashes were named (a source that forged them)."""


def blobs_needed(payload_bytes: int) -> int:
    """How many blobs a payload of that size takes."""
    return max(1, math.ceil((_HEADER + payload_bytes) / DATA_PER_BLOB))


def encode(payload: bytes) -> list[bytes]:
    """The payload's blobs, each `BLOB_BYTES` long."""
    if not payload:
        raise BlobError("an empty payload has nothing to reveal")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BlobError(
            f"the payload is {len(payload):,} bytes; {MAX_BLOBS} blobs hold at most"
            f" {MAX_PAYLOAD_BYTES:,}"
        )
    count = blobs_needed(len(payload))
    data = bytes([ENCODING_VERSION]) + len(payload).to_bytes(4, "big") + payload
    data = data.ljust(count * DATA_PER_BLOB, b"\0")
    blobs = []
    for b in range(count):
        chunk = data[b * DATA_PER_BLOB : (b + 1) * DATA_PER_BLOB]
        blob = bytearray(BLOB_BYTES)
        for e in range(FIELD_ELEMENTS):
            start = e * ELEMENT_BYTES + 1
            blob[start : start + DATA_PER_ELEMENT] = chunk[
                e * DATA_PER_ELEMENT : (e + 1) * DATA_PER_ELEMENT
            ]
        blobs.append(bytes(blob))
    return blobs


def decode(blobs: list[bytes]) -> bytes:
    """The payload the blobs encode; `BlobError` for anything `encode` would not produce."""
    if not 1 <= len(blobs) <= MAX_BLOBS:
        raise BlobError(f"a payload is 1 to {MAX_BLOBS} blobs, not {len(blobs)}")
    data = bytearray()
    for i, blob in enumerate(blobs):
        if len(blob) != BLOB_BYTES:
            raise BlobError(f"blob {i} is {len(blob):,} bytes, not {BLOB_BYTES:,}")
        if any(blob[::ELEMENT_BYTES]):
            raise BlobError(f"blob {i} has a field element whose first byte is not 0")
        for e in range(FIELD_ELEMENTS):
            start = e * ELEMENT_BYTES + 1
            data += blob[start : start + DATA_PER_ELEMENT]
    if data[0] != ENCODING_VERSION:
        raise BlobError(f"unknown blob encoding version {data[0]}")
    size = int.from_bytes(data[1:_HEADER], "big")
    if size == 0 or _HEADER + size > len(data):
        raise BlobError(f"the blobs declare a payload of {size:,} bytes, which they cannot hold")
    if blobs_needed(size) != len(blobs):
        raise BlobError(
            f"a payload of {size:,} bytes takes {blobs_needed(size)} blobs, not {len(blobs)}"
        )
    if any(data[_HEADER + size :]):
        raise BlobError("the blobs' padding after the payload is not all zero")
    return bytes(data[_HEADER : _HEADER + size])


def versioned_hashes(blobs: list[bytes]) -> list[bytes]:
    """What `blobhash(i)` returns for each blob: from its KZG commitment."""
    return [versioned_hash_of_commitment(_commitment(i, blob)) for i, blob in enumerate(blobs)]


def versioned_hash_of_commitment(commitment: bytes) -> bytes:
    """EIP-4844's versioned hash of a KZG commitment: `0x01 ‖ sha256(commitment)[1:]`."""
    return VERSIONED_HASH_VERSION + hashlib.sha256(commitment).digest()[1:]


def verify(blobs: list[bytes], expected: list[bytes]) -> None:
    """`BlobMismatch` unless the blobs are the ones whose versioned hashes are `expected` (as
    named on chain): a node or a beacon API cannot hand over other bytes."""
    if len(blobs) != len(expected):
        raise BlobMismatch(f"{len(blobs)} blobs for {len(expected)} versioned hashes")
    for i, blob in enumerate(blobs):
        try:
            got = versioned_hash_of_commitment(_commitment(i, blob))
        except BlobError as exc:
            raise BlobMismatch(str(exc)) from None
        if got != bytes(expected[i]):
            raise BlobMismatch(
                f"blob {i} hashes to 0x{got.hex()}, not the 0x{bytes(expected[i]).hex()} named"
                " on chain"
            )


def check(blobs: list[bytes], expected: list[bytes]) -> bytes:
    """The payload of the blobs named by `expected` (`verify`, then `decode`)."""
    verify(blobs, expected)
    return decode(blobs)


def pooled_transaction(signed: bytes, blob_list: list[bytes]) -> bytes:
    """The network form of a signed blob transaction (EIP-4844 with EIP-7594's cell proofs):
    `0x03 ‖ rlp([tx_payload_body, 1, blobs, commitments, cell_proofs])`, from the signed
    transaction `0x03 ‖ rlp(tx_payload_body)` (which names the blobs' versioned hashes, and
    whose hash is the transaction's). eth-account can build it too, but loads the trusted
    setup three times a blob: half a minute for two blobs, against seconds here."""
    import rlp

    if not signed or signed[0] != 3:
        raise BlobError("not a signed type-3 (blob) transaction")
    body = rlp.decode(signed[1:])
    commitments, cell_proofs = [], []
    for i, blob in enumerate(blob_list):
        commitments.append(_commitment(i, blob))
        cell_proofs.extend(_cell_proofs(blob))
    return b"\x03" + rlp.encode([body, 1, list(blob_list), commitments, cell_proofs])


def prepare(payload: bytes) -> None:
    """Compute ahead what revealing `payload` in blobs takes (the trusted setup, each blob's
    commitment and cell proofs), kept for this process: the reveal itself, in its window, then
    takes a fraction of a second. Loading the setup alone takes 2 to 4 s, over 10 s on a
    loaded machine: a competitor in the real-time test missed a 20-second window for it."""
    for blob in encode(payload):
        _kzg_commitment(blob)
        _cell_proofs(blob)


def _commitment(index: int, blob: bytes) -> bytes:
    try:
        return _kzg_commitment(blob)
    except (RuntimeError, ValueError) as exc:  # not 4,096 elements below the modulus
        raise BlobError(f"blob {index} is not a valid blob: {exc}") from None


# A transaction's blobs are committed to three times (its gas estimate, the versioned hashes it
# signs, its network form): each blob's commitment, about 50 ms, is computed once.
@functools.lru_cache(maxsize=2 * MAX_BLOBS)
def _kzg_commitment(blob: bytes) -> bytes:
    import ckzg

    return bytes(ckzg.blob_to_kzg_commitment(blob, _trusted_setup()))


@functools.lru_cache(maxsize=2 * MAX_BLOBS)
def _cell_proofs(blob: bytes) -> tuple[bytes, ...]:
    """EIP-7594's 128 cell proofs of a blob (a blob transaction's network form carries them)."""
    import ckzg

    _, proofs = ckzg.compute_cells_and_kzg_proofs(blob, _trusted_setup())
    return tuple(bytes(p) for p in proofs)


@functools.cache
def _trusted_setup() -> object:
    """The KZG ceremony's setup, the one Ethereum uses (shipped with eth-account), loaded once:
    about a second."""
    import ckzg
    from eth_account.typed_transactions.base import TRUSTED_SETUP

    # Precomputation 8: cell proofs several times faster, for some megabytes more.
    return ckzg.load_trusted_setup(TRUSTED_SETUP, 8)
