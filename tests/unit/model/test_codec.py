"""The payload wire format: round trips, and every way untrusted bytes can be malformed."""

from __future__ import annotations

import lzma
import os
import struct
import time
import tracemalloc
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deml.exceptions import PayloadError, PayloadTooLarge
from deml.model import codec
from deml.model.codec import Codec

MODEL = os.urandom(3000) + bytes(5000) + b"onnx" * 500
MIB = 1 << 20


def header(codec_id: int, length: int, magic: bytes = codec.MAGIC, version: int = 1) -> bytes:
    return struct.pack(">4sBBI", magic, version, codec_id, length)


def zlib_bomb(expanded_mib: int) -> bytes:
    """A zlib stream of `expanded_mib` MiB of zeros, about 1 KB per MiB (deflate's limit)."""
    enc = zlib.compressobj(9)
    first = enc.compress(bytes(MIB)) + enc.flush(zlib.Z_SYNC_FLUSH)
    # Every later MiB of zeros compresses to the same byte-aligned block: repeat it.
    block = enc.compress(bytes(MIB)) + enc.flush(zlib.Z_SYNC_FLUSH)
    return first + block * (expanded_mib - 2) + enc.compress(bytes(MIB)) + enc.flush()


def lzma_bomb(expanded_mib: int) -> bytes:
    """A raw LZMA2 stream of `expanded_mib` MiB of zeros, in about 50 bytes per MiB."""
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": codec.LZMA_DICT_SIZE}]
    chunk = lzma.compress(bytes(MIB), format=lzma.FORMAT_RAW, filters=filters)
    # Each chunk resets the dictionary, so it decodes the same wherever it stands; the last
    # byte (0x00) ends the stream.
    return chunk[:-1] * expanded_mib + b"\x00"


@pytest.mark.parametrize("name", codec.CODEC_NAMES)
def test_every_codec_round_trips_the_exact_bytes(name: str) -> None:
    payload = codec.encode(MODEL, Codec.parse(name))
    head, model = codec.decode(payload)
    assert model == MODEL
    assert head.codec.name == name
    assert head.length == len(MODEL)


def test_lzma_beats_zlib_and_the_header_is_ten_bytes() -> None:
    zlib_payload = codec.encode(MODEL, Codec("", "zlib"))
    lzma_payload = codec.encode(MODEL, Codec("", "lzma"))
    assert codec.HEADER_SIZE == 10
    assert zlib_payload[:10] == header(0x01, len(MODEL))
    assert len(lzma_payload) < len(zlib_payload)


def test_zlib_payload_body_is_a_plain_zlib_stream() -> None:
    payload = codec.encode(MODEL, Codec("int8", "zlib"))
    assert zlib.decompress(payload[codec.HEADER_SIZE :]) == MODEL


def test_codec_names_and_ids_are_one_to_one() -> None:
    ids = [c.id for c in codec.ALL_CODECS]
    assert len(set(ids)) == len(ids) == len(codec.CODEC_NAMES)
    for c in codec.ALL_CODECS:
        assert Codec.from_id(c.id) == c == Codec.parse(c.name)


@pytest.mark.parametrize("name", ["zstd", "int9+lzma", "+lzma", "int8+", "lzma+int8", "int8"])
def test_unknown_codec_names_are_refused(name: str) -> None:
    with pytest.raises(PayloadError, match="unknown codec"):
        Codec.parse(name)


def test_zlib_bomb_is_rejected_quickly_with_bounded_memory() -> None:
    bomb = zlib_bomb(100)  # 100 MiB of zeros in about 100 KB: as far as deflate goes
    assert len(bomb) <= 110_000
    payload = header(0x01, MIB) + bomb
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(PayloadError, match="more than the declared"):
        codec.decode(payload, max_payload_bytes=len(payload))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MIB
    assert elapsed < 2.0


def test_lzma_bomb_of_gigabytes_is_rejected_quickly_with_bounded_memory() -> None:
    bomb = lzma_bomb(4096)  # 4 GiB of zeros in under 1 MB
    assert len(bomb) < MIB
    payload = header(0x02, 2 * MIB) + bomb
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(PayloadError, match="more than the declared"):
        # The payload cap alone would stop this one: lift it to test the decompressor's.
        codec.decode(payload, max_payload_bytes=len(payload))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The decoder's dictionary, the 2 MiB it was allowed, and copies of the payload.
    assert peak < codec.LZMA_DICT_SIZE + 2 * MIB + 3 * len(payload)
    assert elapsed < 2.0


def test_header_declaring_more_than_the_cap_is_rejected_before_decompressing() -> None:
    payload = header(0x01, codec.MAX_MODEL_BYTES + 1) + zlib_bomb(4)
    with pytest.raises(PayloadError, match="declares a 16,777,217-byte model"):
        codec.decode(payload)
    with pytest.raises(PayloadError, match="cap is 1,000"):
        codec.decode(header(0x01, 1001) + zlib.compress(bytes(1001)), max_model_bytes=1000)


@pytest.mark.parametrize("name", ["zlib", "lzma"])
def test_truncated_payload_is_rejected(name: str) -> None:
    payload = codec.encode(MODEL, Codec.parse(name))
    for cut in (1, 10, len(payload) // 2):
        with pytest.raises(PayloadError, match=r"truncated|corrupt"):
            codec.decode(payload[:-cut])


@pytest.mark.parametrize("size", [0, 3, 9])
def test_payload_shorter_than_the_header_is_rejected(size: int) -> None:
    with pytest.raises(PayloadError, match="truncated payload"):
        codec.decode(codec.encode(MODEL, Codec("", "zlib"))[:size])


@pytest.mark.parametrize("name", ["zlib", "lzma"])
def test_trailing_bytes_are_rejected(name: str) -> None:
    payload = codec.encode(MODEL, Codec.parse(name))
    with pytest.raises(PayloadError, match="3 trailing bytes"):
        codec.decode(payload + b"abc")


@pytest.mark.parametrize("name", ["zlib", "lzma"])
def test_stream_longer_or_shorter_than_the_header_says_is_rejected(name: str) -> None:
    body = codec.encode(MODEL, Codec.parse(name))[codec.HEADER_SIZE :]
    c = Codec.parse(name)
    with pytest.raises(PayloadError, match="more than the declared"):
        codec.decode(header(c.id, len(MODEL) - 1) + body)
    with pytest.raises(PayloadError, match="header declares"):
        codec.decode(header(c.id, len(MODEL) + 1) + body)


def test_garbled_header_fields_are_each_rejected() -> None:
    body = codec.encode(MODEL, Codec("", "zlib"))[codec.HEADER_SIZE :]
    cases = {
        "not a DeML model payload": header(0x01, len(MODEL), magic=b"PK\x03\x04"),
        "format version 2": header(0x01, len(MODEL), version=2),
        "unknown codec id 0x03": header(0x03, len(MODEL)),
        "unknown codec id 0xf1": header(0xF1, len(MODEL)),
        "declares a 0-byte model": header(0x01, 0),
    }
    for message, head in cases.items():
        with pytest.raises(PayloadError, match=message):
            codec.decode(head + body)


def test_payload_over_the_cap_names_size_and_cap() -> None:
    payload = codec.encode(os.urandom(5000), Codec("", "zlib"))
    with pytest.raises(PayloadTooLarge) as caught:
        codec.decode(payload, max_payload_bytes=4096)
    assert f"{len(payload):,} bytes" in str(caught.value)
    assert "cap of 4,096 bytes" in str(caught.value)
    assert (caught.value.size, caught.value.cap) == (len(payload), 4096)


@given(position=st.integers(min_value=0), value=st.integers(0, 255), cut=st.integers(0, 40))
def test_a_mutated_payload_decodes_to_the_declared_length_or_raises_payload_error(
    position: int, value: int, cut: int
) -> None:
    for name in ("zlib", "lzma"):
        payload = bytearray(codec.encode(MODEL[:2000], Codec.parse(name)))
        payload[position % len(payload)] = value
        mutated = bytes(payload[: len(payload) - cut])
        try:
            head, model = codec.decode(mutated)
        except PayloadError:
            continue
        assert len(model) == head.length
        # zlib's checksum catches changed content; raw LZMA2 has none (the chain's hash does).
        if head.codec.compressor == "zlib":
            assert model == MODEL[:2000]
