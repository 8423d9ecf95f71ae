"""Payloads in blobs (issue 15): one encoding per payload, round-tripped, and versioned hashes
that agree with eth-account's own (what a blob transaction carries and `blobhash` returns)."""

from __future__ import annotations

import os

import pytest
from eth_account.typed_transactions.base import Blob, BlobPooledTransactionData
from hexbytes import HexBytes

from deml.chain import blobs
from deml.chain.blobs import DATA_PER_BLOB, MAX_BLOBS, MAX_PAYLOAD_BYTES, BlobError


@pytest.mark.parametrize(
    ("size", "count"),
    [
        (1, 1),
        (DATA_PER_BLOB - 5, 1),  # exactly one blob: the 5-byte header and the payload
        (DATA_PER_BLOB - 4, 2),
        (96 * 1024, 1),
        (700 * 1024, 6),
        (MAX_PAYLOAD_BYTES, MAX_BLOBS),
    ],
)
def test_a_payload_round_trips_in_the_fewest_blobs(size: int, count: int) -> None:
    payload = os.urandom(size)
    encoded = blobs.encode(payload)
    assert len(encoded) == count == blobs.blobs_needed(size)
    assert all(len(b) == blobs.BLOB_BYTES for b in encoded)
    assert blobs.decode(encoded) == payload


def test_versioned_hashes_agree_with_eth_account() -> None:
    encoded = blobs.encode(os.urandom(DATA_PER_BLOB + 1000))
    theirs = BlobPooledTransactionData(
        blobs=[Blob(data=HexBytes(b)) for b in encoded]
    ).versioned_hashes
    assert blobs.versioned_hashes(encoded) == [bytes(h.data) for h in theirs]
    assert blobs.check(encoded, [bytes(h.data) for h in theirs])


def test_a_blob_other_than_the_one_named_on_chain_is_refused() -> None:
    # A node or beacon API hands over other bytes for the right versioned hash.
    named = blobs.versioned_hashes(blobs.encode(b"the committed model"))
    forged = blobs.encode(b"another model")
    with pytest.raises(BlobError, match=r"blob 0 hashes to 0x01.*not the 0x01"):
        blobs.check(forged, named)
    with pytest.raises(BlobError, match="2 blobs for 1 versioned hashes"):
        blobs.check(forged * 2, named)


def test_too_large_or_empty_payloads_are_refused() -> None:
    with pytest.raises(BlobError, match="6 blobs hold at most 761,851"):
        blobs.encode(bytes(MAX_PAYLOAD_BYTES + 1))
    with pytest.raises(BlobError, match="empty"):
        blobs.encode(b"")


def edit(blob: bytes, at: int, value: int) -> bytes:
    changed = bytearray(blob)
    changed[at] = value
    return bytes(changed)


def test_only_what_encode_produces_decodes() -> None:
    # One payload, one encoding: otherwise one model would have many versioned hashes.
    (blob,) = blobs.encode(b"model")
    cases = {
        "first byte is not 0": edit(blob, 32, 1),
        "unknown blob encoding version 2": edit(blob, 1, 2),
        "padding after the payload is not all zero": edit(blob, 200, 7),
        "declare a payload of 4,294,967,295 bytes": bytes([0, 1, 255, 255, 255, 255]) + blob[6:],
        "declare a payload of 0 bytes": bytes([0, 1, 0, 0, 0, 0]) + blob[6:],
    }
    for reason, bad in cases.items():
        with pytest.raises(BlobError, match=reason):
            blobs.decode([bad])
    with pytest.raises(BlobError, match="takes 1 blobs, not 2"):
        blobs.decode([blob, bytes(blobs.BLOB_BYTES)])
    with pytest.raises(BlobError, match="1 to 6 blobs, not 0"):
        blobs.decode([])
    with pytest.raises(BlobError, match="is 10 bytes"):
        blobs.decode([bytes(10)])


def test_the_payload_format_carries_what_six_blobs_hold() -> None:
    from deml.model import codec

    assert codec.MAX_PAYLOAD_BYTES == MAX_PAYLOAD_BYTES == 6 * DATA_PER_BLOB - 5
