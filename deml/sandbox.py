"""The scoring fork server: a process with ONNX Runtime loaded that forks one child per model.

Started by `deml.scoring.Sandbox` (`python -I`, with a clean environment). The server itself
never touches a model: each job goes to a fresh child that applies its limits (address space,
CPU time, no file writes, no core dumps), then decodes, checks and runs the model.

The server warms ONNX Runtime up once, on a model of our own, so children inherit it ready.
It keeps a few spare children forked and warmed up on that same model (a fresh process pays
for every page it writes first: they pay before a job arrives), refills the pool while the
current child works, and reaps the last child later. On a machine with idle cores a model
waits neither for `fork`, nor for first-use costs, nor for a teardown. No child ever runs a
second model.

Frames on every pipe: a 4-byte big-endian length, a JSON object, then the raw bytes it
announces (the payload in a job, int64 predictions in a result). Nothing is pickled.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import json
import math
import os
import resource
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from deml import codec, inference
from deml.spec import ModelSpec

_LENGTH = struct.Struct(">I")
MAX_FRAME_JSON = 64 * 1024
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38


class FrameError(RuntimeError):
    """A pipe closed early, timed out, or carried a malformed frame."""


def write_frame(fd: int, header: dict[str, Any], data: bytes = b"") -> None:
    """Send one frame: length, JSON header, raw bytes."""
    blob = json.dumps(header).encode()
    _write_all(fd, _LENGTH.pack(len(blob)) + blob + data)


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
    """Exactly `size` bytes from `fd`, or FrameError at EOF or at the deadline."""
    chunks, got = [], 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            raise FrameError(f"pipe closed after {got:,} of {size:,} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- the server ------------------------------------------------------------------------------


@dataclass
class _Child:
    pid: int
    job_w: int
    result_r: int


def main(spares: int = 2) -> None:
    """Serve jobs from stdin until it closes; one fresh child per job.

    `spares` children are forked and warmed up ahead of the jobs; 0 forks each on demand.
    """
    # Stray prints from libraries must not corrupt the protocol: stdout becomes the log.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    _warm_up()
    pool = collections.deque(_fork_child(warm=True) for _ in range(spares))
    finished: _Child | None = None
    write_frame(reply_fd, {"ready": True, "pid": os.getpid()})
    while True:
        try:
            job = read_frame(0)
            payload = read_exact(0, int(job["payload_bytes"]))
        except FrameError:
            break  # the parent is gone or done
        current = pool.popleft() if pool else _fork_child(warm=False)
        with contextlib.suppress(OSError):  # a dead child shows up as a failed read below
            write_frame(current.job_w, job, payload)
        os.close(current.job_w)
        current.job_w = -1
        started = time.monotonic()
        # While this child works: reap the previous one, fork and warm up the next ones.
        _reap(finished)
        while len(pool) < spares:
            pool.append(_fork_child(warm=True))
        header, data = _collect(current, job, started)
        write_frame(reply_fd, header, data)
        # Killed now, reaped after the next dispatch: its teardown is off the next job's path.
        _kill(current)
        finished = current
    _reap(finished)
    for spare in pool:
        _reap(spare)


def _collect(child: _Child, job: dict[str, Any], started: float) -> tuple[dict[str, Any], bytes]:
    deadline = started + float(job["wall_seconds"])
    try:
        header = read_frame(child.result_r, deadline)
        data = b""
        if header.get("ok"):
            data = read_exact(child.result_r, 8 * int(job["samples"]), deadline)
        header["seconds"] = time.monotonic() - started
        return header, data
    except TimeoutError:
        reason = f"timed out after {float(job['wall_seconds']):g} s (wall clock)"
    except (FrameError, ValueError):
        reason = _death_reason(child, job)
    return {"ok": False, "error": reason, "seconds": time.monotonic() - started}, b""


def _death_reason(child: _Child, job: dict[str, Any]) -> str:
    _, status, usage = os.wait4(child.pid, 0)
    child.pid = 0
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or usage.ru_utime + usage.ru_stime >= float(job["cpu_seconds"]):
            return f"killed by the CPU time limit ({job['cpu_seconds']} s)"
        return f"the model killed its process ({signal.Signals(sig).name})"
    return f"the scoring process exited with status {os.WEXITSTATUS(status)} and no result"


def _kill(child: _Child) -> None:
    if child.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)


def _reap(child: _Child | None) -> None:
    if child is None:
        return
    # Closed exactly once: a number closed twice may by then belong to another child's pipe.
    for fd in (child.job_w, child.result_r):
        if fd >= 0:
            os.close(fd)
    child.job_w = child.result_r = -1
    _kill(child)
    if child.pid:
        os.waitpid(child.pid, 0)
        child.pid = 0


def _fork_child(warm: bool) -> _Child:
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(job_w)
        os.close(result_r)
        _child(job_r, result_w, warm)
    os.close(job_r)
    os.close(result_w)
    return _Child(pid, job_w, result_r)


# -- the child -------------------------------------------------------------------------------


def _child(job_r: int, result_w: int, warm: bool) -> NoReturn:
    try:
        _detach(keep=(job_r, result_w))
        if warm:
            # A fresh process pays for every page it writes first: pay it on our own model,
            # before the job arrives.
            _warm_model()
        job = read_frame(job_r)
        payload = read_exact(job_r, int(job["payload_bytes"]))
        _apply_limits(job)
        spec = ModelSpec(tuple(job["input_shape"]), int(job["num_classes"]))
        x = read_test_set(job["x"], int(job["samples"]), spec.input_shape)
        predictions = inference.evaluate(
            payload,
            x,
            spec,
            max_payload_bytes=int(job["max_payload_bytes"]),
            max_model_bytes=int(job["max_model_bytes"]),
            batch_size=int(job["batch_size"]),
        )
        write_frame(result_w, {"ok": True}, predictions.astype("<i8").tobytes())
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            write_frame(result_w, {"ok": False, "error": _reason(exc)})
    os._exit(0)


def read_test_set(path: str, samples: int, input_shape: tuple[int, ...]) -> np.ndarray:
    """The test samples from a raw little-endian float32 file (cheaper than .npy in a child)."""
    count = samples * math.prod(input_shape)
    x = np.fromfile(path, dtype="<f4", count=count)
    if x.size != count:
        raise FrameError(f"the test set file holds {x.size:,} values, not {count:,}")
    return x.reshape(samples, *input_shape)


def _detach(keep: tuple[int, ...]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    # Die with the server; never gain privileges through exec.
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # Keep only this job's two pipes: not the server's protocol, not other children's results.
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _apply_limits(job: dict[str, Any]) -> None:
    # The address-space cap counts what the server already maps (Python, numpy, ORT): the model
    # gets `memory_bytes` more than that.
    with open("/proc/self/statm") as f:
        mapped = int(f.read().split()[0]) * resource.getpagesize()
    memory = mapped + int(job["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(usage.ru_utime + usage.ru_stime) + int(job["cpu_seconds"])
    # SIGXCPU at the soft limit, SIGKILL a second later if that is caught.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_WARM_SPEC = ModelSpec((64,), 10)
_WARM_X = np.zeros((inference.BATCH_SIZE, 64), np.float32)


def _warm_payload() -> bytes:
    """A small CNN (reshape, conv, relu, pool, int8 dense weights), packed with lzma: it runs
    the kernels and code paths that most submissions run."""
    rng = np.random.default_rng(0)
    tensors = {
        "shape_in": np.array([-1, 1, 8, 8], np.int64),
        "shape_flat": np.array([-1, 64], np.int64),
        "w1": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "b1": np.zeros(4, np.float32),
        "w2_q": rng.integers(-127, 128, (10, 64)).astype(np.int8),
        "w2_scale": np.full((10, 1), 0.01, np.float32),
        "b2": np.zeros(10, np.float32),
    }
    nodes = [
        helper.make_node("Reshape", ["x", "shape_in"], ["image"]),
        helper.make_node("Conv", ["image", "w1", "b1"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["pool", "shape_flat"], ["flat"]),
        helper.make_node("Cast", ["w2_q"], ["w2_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["w2_f", "w2_scale"], ["w2"]),
        helper.make_node("Gemm", ["flat", "w2", "b2"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "warm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(value, name) for name, value in tensors.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return codec.encode(model.SerializeToString(), codec.Codec("int8", "lzma"))


_WARM_PAYLOAD = _warm_payload()


def _warm_model() -> None:
    inference.evaluate(_WARM_PAYLOAD, _WARM_X, _WARM_SPEC)


def _warm_up() -> None:
    # First use of ONNX Runtime, the checker and numpy builds registries and caches: done once
    # in the server, on a model of our own, so that every child inherits them ready.
    for _ in range(2):
        _warm_model()
    # Objects that exist now are never collected: the collector will not write to (and so
    # copy) the pages every child shares with the server.
    gc.freeze()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory (the sandbox's memory limit)"
    text = " ".join(str(exc).split())[:500]
    if "alloc" in text.lower():
        return f"out of memory (the sandbox's memory limit): {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


if __name__ == "__main__":
    if len(sys.argv) != 1:
        sys.exit("usage: python -I -m deml.sandbox (started by deml.scoring)")
    main()
