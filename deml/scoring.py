"""Scoring untrusted models: the number of test samples each one classifies correctly.

`score()` runs every model in a fresh child process of a fork server (`deml.sandbox`) with
memory, CPU-time and wall-clock limits and a clean environment. A model that fails anything
scores 0 correct, with the reason recorded, so honest miners still agree on the integer.
The test labels never enter the sandbox: the child returns predictions, the caller counts.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deml import codec, inference
from deml.exceptions import DemlError
from deml.sandbox import FrameError, read_exact, read_frame, write_frame
from deml.spec import ModelSpec, SpecError

BATCH_SIZE = inference.BATCH_SIZE
# The only variables the sandbox sees: no keys, tokens or DEML_* settings, one thread each.
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}
_STARTUP_SECONDS = 60.0
# How long past a job's own wall-clock limit the server may take to answer before it is
# presumed stuck and restarted.
_SERVER_GRACE_SECONDS = 15.0
_CACHED_TEST_SETS = 4
# Children forked and warmed up ahead of the jobs, on otherwise idle cores.
SPARES = 2


class SandboxError(DemlError, RuntimeError):
    """The scoring fork server could not start or stopped answering."""


@dataclass(frozen=True)
class Limits:
    """What one model may use while it is scored."""

    memory_bytes: int = 1 << 30
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    max_payload_bytes: int = codec.MAX_PAYLOAD_BYTES
    max_model_bytes: int = codec.MAX_MODEL_BYTES


@dataclass(frozen=True)
class ScoreResult:
    """A model's score: `correct` of `total`, or 0 and the `error` that stopped it."""

    correct: int
    total: int
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


class Sandbox:
    """A fork server that scores each model in its own limited child process."""

    def __init__(
        self, limits: Limits = Limits(), workdir: Path | None = None, spares: int = SPARES
    ) -> None:
        self.limits = limits
        self.spares = spares
        self._own_dir = workdir is None
        self._dir = Path(workdir or tempfile.mkdtemp(prefix="deml-sandbox-"))
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._test_sets: dict[str, Path] = {}
        self.pid: int | None = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the fork server (ONNX Runtime loads once, here) unless it runs already."""
        if self._proc is not None and self._proc.poll() is None:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        root = str(Path(__file__).resolve().parents[1])
        # -I: no user site, no PYTHON* variables, no current directory on sys.path.
        boot = (
            f"import sys; sys.path.insert(0, {root!r}); import deml.sandbox as s;"
            f" s.main({int(self.spares)})"
        )
        with open(self._dir / "sandbox.log", "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-c", boot],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=SANDBOX_ENV,
                cwd=self._dir,
                close_fds=True,
            )
        try:
            ready = read_frame(self._stdout(), time.monotonic() + _STARTUP_SECONDS)
            self.pid = int(ready["pid"])
        except (FrameError, TimeoutError, ValueError, KeyError) as exc:
            self._kill()
            raise SandboxError(
                f"the scoring sandbox did not start; see {self._dir / 'sandbox.log'}"
            ) from exc

    def close(self) -> None:
        """Stop the fork server and remove its files."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # type: ignore[union-attr]
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
            self._proc = None
        if self._own_dir:
            for path in self._dir.glob("*"):
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def score(
        self,
        payload: bytes,
        x: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec | None = None,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> ScoreResult:
        """How many samples of `x` the payload's model labels as `y`; 0 and a reason on failure."""
        return self.score_all([payload], x, y, spec, batch_size=batch_size)[0]

    def score_all(
        self,
        payloads: Iterable[bytes],
        x: np.ndarray,
        y: np.ndarray,
        spec: ModelSpec | None = None,
        *,
        batch_size: int = BATCH_SIZE,
    ) -> list[ScoreResult]:
        """Score each payload on one test set (written once), each in its own child process."""
        x, y, spec = check_test_set(x, y, spec)
        results = []
        with self._lock:
            self.start()
            x_file = self._test_set_file(x)
            for payload in payloads:
                predictions, error, seconds = self._run(payload, x_file, len(x), spec, batch_size)
                correct = 0 if predictions is None else int(np.count_nonzero(predictions == y))
                results.append(ScoreResult(correct, len(y), error, seconds))
        return results

    def _run(
        self, payload: bytes, x_file: Path, samples: int, spec: ModelSpec, batch_size: int
    ) -> tuple[np.ndarray | None, str | None, float]:
        if len(payload) > self.limits.max_payload_bytes:
            # Refused on its size alone: no need to hand it to a sandbox.
            too_large = codec.PayloadTooLarge(len(payload), self.limits.max_payload_bytes)
            return None, f"PayloadTooLarge: {too_large}", 0.0
        job = {
            "payload_bytes": len(payload),
            "x": str(x_file),
            "samples": samples,
            "input_shape": list(spec.input_shape),
            "num_classes": spec.num_classes,
            "batch_size": batch_size,
            "memory_bytes": self.limits.memory_bytes,
            "cpu_seconds": self.limits.cpu_seconds,
            "wall_seconds": self.limits.wall_seconds,
            "max_payload_bytes": self.limits.max_payload_bytes,
            "max_model_bytes": self.limits.max_model_bytes,
        }
        started = time.monotonic()
        failure: Exception | None = None
        for _ in range(2):
            try:
                self.start()
                return self._exchange(job, payload, samples, spec.num_classes)
            except (FrameError, TimeoutError, OSError, ValueError, SandboxError) as exc:
                # The server failed, not the model (which never runs in it): restart it and
                # try once more, so that a hiccup here does not score an honest model 0.
                self._kill()
                failure = exc
        return None, f"the scoring sandbox failed twice ({failure!r})", time.monotonic() - started

    def _exchange(
        self, job: dict[str, Any], payload: bytes, samples: int, num_classes: int
    ) -> tuple[np.ndarray | None, str | None, float]:
        assert self._proc is not None and self._proc.stdin is not None
        write_frame(self._proc.stdin.fileno(), job, payload)
        deadline = time.monotonic() + self.limits.wall_seconds + _SERVER_GRACE_SECONDS
        reply = read_frame(self._stdout(), deadline)
        seconds = float(reply.get("seconds", 0.0))
        if not reply.get("ok"):
            return None, str(reply.get("error") or "failed without a reason"), seconds
        raw = read_exact(self._stdout(), 8 * samples, deadline)
        predictions = np.frombuffer(raw, dtype="<i8").astype(np.int64)
        if predictions.min(initial=0) < 0 or predictions.max(initial=0) >= num_classes:
            return None, "predictions out of the class range", seconds
        return predictions, None, seconds

    def _test_set_file(self, x: np.ndarray) -> Path:
        # Written once per test set as raw float32 (no pickle, no parsing), read by every child.
        digest = hashlib.blake2b(x.data, digest_size=16)
        digest.update(repr((x.shape, x.dtype.str)).encode())
        key = digest.hexdigest()
        if key not in self._test_sets:
            if len(self._test_sets) >= _CACHED_TEST_SETS:
                oldest = next(iter(self._test_sets))
                self._test_sets.pop(oldest).unlink(missing_ok=True)
            path = self._dir / f"x-{key}.f32"
            path.write_bytes(x.astype("<f4", copy=False).tobytes())
            self._test_sets[key] = path
        return self._test_sets[key]

    def _stdout(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        return self._proc.stdout.fileno()

    def _kill(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            self._proc.wait()
            for pipe in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()  # type: ignore[union-attr]
            self._proc = None


def check_test_set(
    x: np.ndarray, y: np.ndarray, spec: ModelSpec | None
) -> tuple[np.ndarray, np.ndarray, ModelSpec]:
    """The test set as float32/int64 arrays, and the spec (from the data when not given)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise SpecError(f"labels must be {len(x)} integers, got {y.dtype} of shape {y.shape}")
    y = y.astype(np.int64)
    if spec is None:
        # Without a manifest the labels tell the number of classes; pass the spec when known.
        spec = ModelSpec(tuple(x.shape[1:]), max(int(y.max(initial=0)) + 1, 2))
    if tuple(x.shape[1:]) != spec.input_shape:
        raise SpecError(
            f"the test samples are {list(x.shape[1:])}, not the spec's {list(spec.input_shape)}"
        )
    if len(y) and (y.min() < 0 or y.max() >= spec.num_classes):
        raise SpecError(f"labels must be 0..{spec.num_classes - 1}")
    return x, y, spec


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process's shared fork server, started on first use and stopped at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default


def score(
    payload: bytes,
    x: np.ndarray,
    y: np.ndarray,
    spec: ModelSpec | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> ScoreResult:
    """Score an untrusted payload in the shared sandbox (one fresh child process per call)."""
    return default_sandbox().score(payload, x, y, spec, batch_size=batch_size)


def score_in_process(
    payload: bytes,
    x: np.ndarray,
    y: np.ndarray,
    spec: ModelSpec | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> ScoreResult:
    """The same checks and inference in this process, with no limits: for trusted models only."""
    x, y, spec = check_test_set(x, y, spec)
    started = time.monotonic()
    try:
        predictions = inference.evaluate(payload, x, spec, batch_size=batch_size)
    except Exception as exc:
        return ScoreResult(0, len(y), f"{type(exc).__name__}: {exc}", time.monotonic() - started)
    correct = int(np.count_nonzero(predictions == y))
    return ScoreResult(correct, len(y), None, time.monotonic() - started)
