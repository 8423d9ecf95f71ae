"""The model wire format: a 10-byte header, then the compressed ONNX model.

Layout (big-endian): magic `DeML` (4 bytes), format version (1), codec id (1), length of the
decompressed ONNX model (4). The codec id's high nibble names the transform applied before
compression (informational: the ONNX model describes itself), the low nibble the compressor.
Decoding reads untrusted bytes: every size is capped before any memory is spent on it.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from dataclasses import dataclass

from deml.exceptions import PayloadError, PayloadTooLarge

MAGIC = b"DeML"
FORMAT_VERSION = 1
HEADER = struct.Struct(">4sBBI")
HEADER_SIZE = HEADER.size

# The most any reveal carries: six EIP-4844 blobs' worth (deml.chain.blobs.MAX_PAYLOAD_BYTES;
# a calldata reveal stays under 128 KB, the transaction size nodes relay). Each competition
# caps its models lower (`max_model_bytes`, 96 KiB by default).
MAX_PAYLOAD_BYTES = 761_851
MAX_MODEL_BYTES = 16 * 1024 * 1024

# NOTE: part of format version 1; never change it. Raw LZMA2 saves the ~60 bytes of the xz
# container, but then the decoder must be told the dictionary size (it allocates it up front).
# 4 MiB covers any model that compresses under the 128 KB calldata cap (a larger one, in blobs,
# compresses a little less: matches reach back 4 MiB at most).
LZMA_DICT_SIZE = 1 << 22
_LZMA_DECODE_FILTERS = [{"id": lzma.FILTER_LZMA2, "dict_size": LZMA_DICT_SIZE}]
# The decoder ignores these encoder choices (LZMA2 chunks carry them), so pack tries each.
_LZMA_LITERAL_SETTINGS = ((3, 0, 2), (0, 2, 2), (1, 0, 2), (0, 0, 0))
_ZLIB_STRATEGIES = (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED)

COMPRESSORS = {"zlib": 1, "lzma": 2}
TRANSFORMS = {"": 0, "slim": 1, "fp16": 2, "int8": 3, "int6": 4, "int4": 5, "dyn8": 6}
# Transforms whose outputs equal the original model's, bit for bit.
LOSSLESS_TRANSFORMS = frozenset({"", "slim"})


@dataclass(frozen=True)
class Codec:
    """A transform (lossy or not) followed by a compressor, named like `int8+lzma`."""

    transform: str
    compressor: str

    @property
    def name(self) -> str:
        return f"{self.transform}+{self.compressor}" if self.transform else self.compressor

    @property
    def id(self) -> int:
        return TRANSFORMS[self.transform] << 4 | COMPRESSORS[self.compressor]

    @property
    def lossless(self) -> bool:
        return self.transform in LOSSLESS_TRANSFORMS

    @classmethod
    def parse(cls, name: str) -> Codec:
        """The codec called `name` (`zlib`, `lzma`, `int8+lzma`, …)."""
        for codec in ALL_CODECS:
            if codec.name == name:
                return codec
        raise PayloadError(f"unknown codec {name!r}; choose one of {', '.join(CODEC_NAMES)}")

    @classmethod
    def from_id(cls, codec_id: int) -> Codec:
        """The codec with header id `codec_id`; unknown ids are rejected."""
        for codec in ALL_CODECS:
            if codec.id == codec_id:
                return codec
        raise PayloadError(f"unknown codec id 0x{codec_id:02x} in the payload header")


ALL_CODECS = tuple(Codec(t, c) for t in TRANSFORMS for c in COMPRESSORS)
CODEC_NAMES = tuple(codec.name for codec in ALL_CODECS)


@dataclass(frozen=True)
class Header:
    """A parsed payload header."""

    version: int
    codec: Codec
    length: int


def compress(data: bytes, compressor: str) -> bytes:
    """The smallest stream among the encoder settings this compressor tries."""
    if compressor == "zlib":
        candidates = []
        for strategy in _ZLIB_STRATEGIES:
            enc = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS, 9, strategy)
            candidates.append(enc.compress(data) + enc.flush())
        return min(candidates, key=len)
    if compressor == "lzma":
        # A dictionary no larger than the input keeps the encoder's memory small.
        dict_size = min(LZMA_DICT_SIZE, max(4096, 1 << max(len(data) - 1, 1).bit_length()))
        candidates = []
        for lc, lp, pb in _LZMA_LITERAL_SETTINGS:
            lzma2 = {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}
            lzma2 |= {"dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
            candidates.append(lzma.compress(data, format=lzma.FORMAT_RAW, filters=[lzma2]))
        return min(candidates, key=len)
    raise PayloadError(f"unknown compressor {compressor!r}")


def encode(model: bytes, codec: Codec) -> bytes:
    """Header plus compressed `model` (already transformed as `codec.transform` says)."""
    if not 0 < len(model) <= MAX_MODEL_BYTES:
        raise PayloadError(
            f"the ONNX model is {len(model):,} bytes; the format carries 1 to {MAX_MODEL_BYTES:,}"
        )
    header = HEADER.pack(MAGIC, FORMAT_VERSION, codec.id, len(model))
    return header + compress(model, codec.compressor)


def read_header(payload: bytes, *, max_model_bytes: int = MAX_MODEL_BYTES) -> Header:
    """Parse and check the header of an untrusted payload."""
    if len(payload) < HEADER_SIZE:
        raise PayloadError(f"truncated payload: {len(payload)} bytes, shorter than the header")
    magic, version, codec_id, length = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise PayloadError(f"not a DeML model payload (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise PayloadError(
            f"unsupported payload format version {version} (this DeML reads {FORMAT_VERSION})"
        )
    codec = Codec.from_id(codec_id)
    if not 0 < length <= max_model_bytes:
        raise PayloadError(
            f"the header declares a {length:,}-byte model; the cap is {max_model_bytes:,} bytes"
        )
    return Header(version, codec, length)


def decode(
    payload: bytes,
    *,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    max_model_bytes: int = MAX_MODEL_BYTES,
) -> tuple[Header, bytes]:
    """The header and ONNX bytes of an untrusted payload, never using more than the caps."""
    if len(payload) > max_payload_bytes:
        raise PayloadTooLarge(len(payload), max_payload_bytes)
    header = read_header(payload, max_model_bytes=max_model_bytes)
    body = memoryview(payload)[HEADER_SIZE:]
    if header.codec.compressor == "zlib":
        model = _inflate(body, header.length)
    else:
        model = _unlzma(body, header.length)
    return header, model


def _inflate(body: memoryview, length: int) -> bytes:
    # max_length bounds the output: a bomb stops at the declared length, then fails below.
    dec = zlib.decompressobj()
    try:
        out = dec.decompress(body, length)
        if len(out) == length and not dec.eof and dec.decompress(dec.unconsumed_tail, 1):
            raise PayloadError(f"the model decompresses to more than the declared {length:,} bytes")
    except zlib.error as exc:
        raise PayloadError(f"corrupt zlib stream: {exc}") from exc
    _check_end(len(out), length, dec.eof, dec.unused_data)
    return out


def _unlzma(body: memoryview, length: int) -> bytes:
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_LZMA_DECODE_FILTERS)
    try:
        out = dec.decompress(body, length)
        if len(out) == length and not dec.eof and dec.decompress(b"", 1):
            raise PayloadError(f"the model decompresses to more than the declared {length:,} bytes")
    except lzma.LZMAError as exc:
        raise PayloadError(f"corrupt lzma stream: {exc}") from exc
    _check_end(len(out), length, dec.eof, dec.unused_data)
    return out


def _check_end(got: int, length: int, eof: bool, unused: bytes) -> None:
    if not eof:
        raise PayloadError(
            f"truncated payload: the stream ends early ({got:,} of {length:,} bytes decoded)"
        )
    if got != length:
        raise PayloadError(f"the model is {got:,} bytes but the header declares {length:,}")
    if unused:
        raise PayloadError(f"{len(unused):,} trailing bytes after the compressed model")
