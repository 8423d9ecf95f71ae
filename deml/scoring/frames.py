"""Frames on the scoring sandbox's pipes: a 4-byte big-endian length, a JSON object, then the
raw bytes the object announces (a payload, int64 predictions). Nothing is pickled."""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from typing import Any

from deml.exceptions import FrameError

_LENGTH = struct.Struct(">I")
MAX_FRAME_JSON = 64 * 1024


def pack_frame(header: dict[str, Any], data: bytes = b"") -> bytes:
    """One frame's bytes: length, JSON header, raw bytes."""
    blob = json.dumps(header).encode()
    return _LENGTH.pack(len(blob)) + blob + data


def write_frame(fd: int, header: dict[str, Any], data: bytes = b"") -> None:
    """Send one frame, blocking until the pipe has taken all of it."""
    write_all(fd, pack_frame(header, data))


def write_all(fd: int, data: bytes) -> None:
    """Write every byte, however many writes the pipe takes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_frame(fd: int, deadline: float | None = None) -> dict[str, Any]:
    """Receive one frame's JSON header (its raw bytes follow: read them with `read_exact`)."""
    (size,) = _LENGTH.unpack(read_exact(fd, _LENGTH.size, deadline))
    if size > MAX_FRAME_JSON:
        raise FrameError(f"frame header of {size:,} bytes is over {MAX_FRAME_JSON:,}")
    header = json.loads(read_exact(fd, size, deadline))
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    return header


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    """Exactly `size` bytes from `fd`: FrameError at EOF, TimeoutError at the deadline."""
    chunks, got = [], 0
    while got < size:
        if deadline is not None and not readable(fd, deadline - time.monotonic()):
            raise TimeoutError
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise FrameError(f"pipe closed after {got:,} of {size:,} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def readable(fd: int, timeout: float) -> bool:
    """Whether `fd` has bytes (or its end) to read within `timeout` seconds (0: right now)."""
    # poll, not select: select cannot watch a descriptor numbered 1024 or more, and a busy
    # miner process (Prefect, HTTP clients) may hold that many.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(0, math.ceil(timeout * 1000))))
