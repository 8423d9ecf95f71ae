"""A scoring child: forked by the fork server (`deml.scoring.server`), runs one model, stops.

It keeps only its two pipes, dies with the server, never gains privileges through exec, and
applies the job's limits (address space, CPU time, files of size 0, no core dumps) before it
parses a byte of the model. A spare warms up on our own models first (`deml.scoring.warmup`)
and says so.

The limits bound what a model can make ONNX Runtime do: allocate, compute, run for. Then,
with its job, limits and test set in hand, the child gives up its user, the filesystem, the
network and every system call inference does not need (`deml.scoring.confine`): a bug in ONNX
Runtime that a model could exploit would find nothing of the miner's to read or reach.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import mmap
import os
import resource
import signal
from typing import Any, NoReturn

import numpy as np

from deml.exceptions import FrameError
from deml.model import inference
from deml.model.spec import ModelSpec
from deml.scoring import confine, warmup
from deml.scoring.frames import read_exact, read_frame, write_frame

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
# Loaded once, in the server: every child inherits it instead of loading it again.
_LIBC = ctypes.CDLL(None, use_errno=True)
# One past the highest descriptor this process could hold (the kernel's own cap when unlimited).
_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
_MAX_FD = _NOFILE if 0 < _NOFILE < 1 << 31 else 1 << 20


def run(server: int, job_r: int, result_w: int, warm: bool, seccomp: bytes | None) -> NoReturn:
    """The child's whole life: a job from `job_r`, its result (or the reason it failed) to
    `result_w`, then stop until killed. It never returns into the server's code."""
    try:
        _detach(server, keep=(job_r, result_w))
        if warm:
            # A fresh process pays for every page it writes first: pay it on our own models,
            # before the job arrives, and say so. A spare that cannot just exits.
            warmup.run()
            write_frame(result_w, {"warm": True})
    except BaseException:
        os._exit(1)
    try:
        _score(job_r, result_w, seccomp)
        # Wait, stopped, for the server to kill this process when it is idle: exiting now
        # would tear down the address space on a core that the next model needs.
        os.kill(os.getpid(), signal.SIGSTOP)
    finally:
        os._exit(0)


def _score(job_r: int, result_w: int, seccomp: bytes | None) -> None:
    try:
        job = read_frame(job_r)
        payload = read_exact(job_r, int(job["payload_bytes"]))
        _apply_limits(job)
        spec = ModelSpec(tuple(job["input_shape"]), int(job["num_classes"]))
        x = read_test_set(job["x"], int(job["samples"]), spec.input_shape)
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            write_frame(result_w, {"ok": False, "error": _reason(exc)})
        return
    try:
        confine.apply(seccomp)
    except OSError as exc:
        # Never run a model unconfined, and never blame it for that: the job is lost, and the
        # server gives it to a fresh child (then reports it lost, not scored).
        with contextlib.suppress(BaseException):
            error = f"could not confine themselves ({exc})"
            write_frame(result_w, {"ok": False, "lost": True, "error": error})
        return
    try:
        predictions = inference.evaluate(
            payload,
            x,
            spec,
            max_payload_bytes=int(job["max_payload_bytes"]),
            max_model_bytes=int(job["max_model_bytes"]),
            batch_size=int(job["batch_size"]),
            max_operations=int(job["max_operations"]),
        )
        write_frame(result_w, {"ok": True}, predictions.astype("<i8").tobytes())
    except BaseException as exc:
        with contextlib.suppress(BaseException):
            write_frame(result_w, {"ok": False, "error": _reason(exc)})


def read_test_set(path: str, samples: int, input_shape: tuple[int, ...]) -> np.ndarray:
    """The test samples from a raw little-endian float32 file, mapped read-only: no parsing, and
    every child shares the same pages of the page cache instead of copying them."""
    count = samples * math.prod(input_shape)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size != 4 * count:
            raise FrameError(f"the test set file holds {size:,} bytes, not {4 * count:,}")
        if count == 0:
            return np.empty((samples, *input_shape), np.float32)
        mapped = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ)
    return np.frombuffer(mapped, dtype="<f4").reshape(samples, *input_shape)


def _detach(server: int, keep: tuple[int, ...]) -> None:
    # Die with the server (and at once, if it died before this line); never gain privileges
    # through exec.
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server:
        os._exit(1)
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    # A signal from outside (a terminal's, a stray kill) must end the process as a signal the
    # server can tell apart, not become an exception in the model's result, scored 0.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    # Keep only this job's two pipes: not the server's protocol, not other children's pipes.
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _MAX_FD)
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
    # The budget is `cpu_seconds` of CPU from now, to the clock tick: SIGPROF (whose default
    # action ends the process) when the interval timer runs out. RLIMIT_CPU counts whole seconds
    # from the process's start, so it stays only as a backstop, a second or two later.
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_PROF, float(job["cpu_seconds"]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(usage.ru_utime + usage.ru_stime) + int(job["cpu_seconds"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory (the sandbox's memory limit)"
    text = " ".join(str(exc).split())[:500]
    if "alloc" in text.lower():
        return f"out of memory (the sandbox's memory limit): {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
