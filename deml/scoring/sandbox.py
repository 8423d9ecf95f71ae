"""Scoring untrusted models: the number of test samples each one classifies correctly.

`score()` runs every model in a fresh child process of a fork server (`deml.scoring.server`) with
memory, CPU-time and wall-clock limits and a clean environment. A model that fails anything
scores 0 correct, with the reason recorded, so honest miners still agree on the integer.
The test labels never enter the sandbox: the child returns predictions, the caller counts.
Models are scored several at a time, one per core, from one call or from several threads.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deml import _paths
from deml.exceptions import FrameError, SandboxError, ServerLost, SpecError
from deml.model import codec, cost, inference
from deml.model.spec import ModelSpec
from deml.scoring import server
from deml.scoring.connection import Connection, Reply

BATCH_SIZE = inference.BATCH_SIZE
log = logging.getLogger(__name__)
# The only variables the sandbox sees: no keys, tokens or DEML_* settings, one thread each.
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    # No telemetry thread, no database of the graph names of the models it loads.
    "ORT_DISABLE_TELEMETRY": "1",
}
_STARTUP_SECONDS = 60.0
# How long past a job's own wall-clock limit the server may take to answer before it is
# presumed stuck and restarted.
_SERVER_GRACE_SECONDS = 15.0
_CACHED_TEST_SETS = 4
# Children kept forked and warmed up while the sandbox is idle, ready for a burst of models.
SPARES = 24
MAX_SPARES = 256


@dataclass(frozen=True)
class Limits:
    """What one model may use while it is scored."""

    memory_bytes: int = 1 << 30
    # The verdict for the honest range: operations counted from the graph, the same on every
    # machine (deml.model.cost). The time limits are a backstop, far above what the budget
    # takes on a slow core (bench/results/cost.json), and run out twice before a 0.
    max_operations: int = cost.MAX_SCORING_OPERATIONS
    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    max_payload_bytes: int = codec.MAX_PAYLOAD_BYTES
    max_model_bytes: int = codec.MAX_MODEL_BYTES


@dataclass(frozen=True)
class ScoreResult:
    """A model's score: `correct` of `total`, or 0 and the `error` that stopped it; `pid` is
    the process that ran it (none when it was refused before reaching one). `bitmap` says
    which samples it got right: sample i is bit i % 8 of byte i // 8 (none for a failure)."""

    correct: int
    total: int
    error: str | None
    seconds: float
    pid: int | None = None
    bitmap: bytes = b""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def correct_bitmap(self) -> bytes:
        """The bitmap of correct samples, all zero for a model that failed."""
        return self.bitmap or bytes((self.total + 7) // 8)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def default_workers() -> int:
    """Models scored at a time: one per core this process may use (each child uses one)."""
    return max(1, len(os.sched_getaffinity(0)))


class Sandbox:
    """A fork server that scores each model in its own limited child process.

    Several models are scored at a time (`workers`, one per core by default), from one call
    (`score_all`) or from several threads. `spares` children are kept forked and warmed up
    while the sandbox is idle, so that a burst of models pays neither for `fork` nor for a
    fresh process's first-use costs.
    """

    def __init__(
        self,
        limits: Limits = Limits(),
        workdir: Path | None = None,
        spares: int = SPARES,
        workers: int | None = None,
    ) -> None:
        if not 0 <= spares <= MAX_SPARES:
            raise ValueError(f"spares must be 0..{MAX_SPARES}, not {spares}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.limits = limits
        self.spares = spares
        self.workers = workers or default_workers()
        self._own_dir = workdir is None
        self._dir = Path(workdir or tempfile.mkdtemp(prefix="deml-sandbox-"))
        self._conn: Connection | None = None
        self._closed = False
        self._start_lock = threading.Lock()
        self._files_lock = threading.Lock()
        self._test_sets: dict[str, Path] = {}
        self._in_use: collections.Counter[str] = collections.Counter()

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The fork server's process id, while it runs."""
        return self._conn.pid if self._conn is not None else None

    @property
    def confinement(self) -> dict[str, Any]:
        """What each child gives up on this machine (`deml.scoring.confine.available`)."""
        return dict(self._connection().confinement)

    def start(self) -> None:
        """Start the fork server (ONNX Runtime loads once, here) unless it runs already."""
        self._connection()

    def close(self) -> None:
        """Stop the fork server and remove its files; the sandbox cannot be used again."""
        with self._start_lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if self._own_dir:
            for path in self._dir.glob("*"):
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def wait_ready(self) -> int:
        """Block until the server is idle with its spares forked and warm; their number."""
        conn, silence = self._connection(), self._silence()
        try:
            header, _ = conn.wait(conn.request({"op": "sync"}, b"", silence), silence)
        except ServerLost as exc:
            raise SandboxError(f"the scoring sandbox stopped answering ({exc})") from exc
        return int(header.get("spares", 0))

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
        """Score each payload on one test set (written once), each in its own child process.

        Raises SandboxError if the fork server itself fails twice, or if a payload's scoring
        process is killed from outside every time it is tried: neither is the model's doing,
        so no model is scored 0 for it. Only the sandbox's own limits score a model 0.
        """
        if self._closed:
            raise SandboxError("the scoring sandbox is closed")
        x, y, spec = check_test_set(x, y, spec)
        payloads = list(payloads)
        results: list[ScoreResult | None] = [None] * len(payloads)
        todo = []
        for i, payload in enumerate(payloads):
            if len(payload) > self.limits.max_payload_bytes:
                # Refused on its size alone: no need to hand it to a sandbox.
                error = codec.PayloadTooLarge(len(payload), self.limits.max_payload_bytes)
                results[i] = ScoreResult(0, len(y), f"PayloadTooLarge: {error}", 0.0)
            else:
                todo.append(i)
        with self._test_set_file(x) as x_file:
            job = self._job(x_file, len(x), spec, batch_size)
            for attempt in range(2):
                if not todo:
                    break
                conn = self._connection()
                lost: list[int] = []
                replies: list[tuple[int, Reply | None]] = []
                for i in todo:
                    try:
                        replies.append((i, conn.request(job, payloads[i], self._silence())))
                    except ServerLost:
                        replies.append((i, None))
                for i, reply in replies:
                    try:
                        if reply is None:
                            raise ServerLost("the server was gone before the job was sent")
                        header, data = conn.wait(reply, self._silence())
                    except ServerLost as exc:
                        # The server failed, not the model (which never runs in it): restart
                        # it and try once more, so that a hiccup here scores no honest model 0.
                        failure, lost = exc, [*lost, i]
                        continue
                    if header.get("lost"):
                        # Its process was killed from outside, again and again (the OOM
                        # killer, a stray signal): no verdict on the model, so no 0 for it.
                        raise SandboxError(f"payload {i} could not be scored: {header['error']}")
                    results[i] = _result(header, data, y, spec)
                if lost:
                    self._restart(conn)
                    if attempt == 1:
                        raise SandboxError(f"the scoring sandbox failed twice ({failure})")
                todo = lost
        return [r for r in results if r is not None]

    def _job(self, x_file: Path, samples: int, spec: ModelSpec, batch_size: int) -> dict[str, Any]:
        return {
            "x": str(x_file),
            "samples": samples,
            "input_shape": list(spec.input_shape),
            "num_classes": spec.num_classes,
            "batch_size": int(batch_size),
            "memory_bytes": self.limits.memory_bytes,
            "max_operations": self.limits.max_operations,
            "cpu_seconds": self.limits.cpu_seconds,
            "wall_seconds": self.limits.wall_seconds,
            "max_payload_bytes": self.limits.max_payload_bytes,
            "max_model_bytes": self.limits.max_model_bytes,
        }

    def _silence(self) -> float:
        # A running model answers within its wall-clock limit, tried twice (a model out of
        # time gets a second child before it scores 0): a server quiet for longer than that
        # (plus a grace) while jobs are out is presumed stuck.
        return 2 * self.limits.wall_seconds + _SERVER_GRACE_SECONDS

    def _connection(self) -> Connection:
        with self._start_lock:
            if self._closed:
                raise SandboxError("the scoring sandbox is closed")
            if self._conn is not None and self._conn.alive:
                return self._conn
            if self._conn is not None:
                self._conn.kill()
                self._conn = None
            self._conn = self._spawn()
            _warn_if_unconfined(self._conn.confinement)
            return self._conn

    def _restart(self, conn: Connection) -> None:
        with self._start_lock:
            if self._conn is conn:
                conn.kill()
                self._conn = None

    def _spawn(self) -> Connection:
        self._dir.mkdir(parents=True, exist_ok=True)
        # -I: no user site, no PYTHON* variables, no current directory on sys.path; the
        # checkout goes first on it, so the server runs this very code, installed or not.
        boot = (
            f"import sys; sys.path.insert(0, {str(_paths.checkout())!r});"
            f" from {server.__name__} import {server.main.__name__};"
            f" {server.main.__name__}({int(self.spares)}, {int(self.workers)})"
        )
        with open(self._dir / "sandbox.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", boot],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=SANDBOX_ENV,
                cwd=self._dir,
                close_fds=True,
            )
        try:
            # Room for every worker's job plus as many queued, so that none waits on this pipe.
            return Connection(proc, 2 * self.workers + 2, _STARTUP_SECONDS)
        except (FrameError, TimeoutError, ValueError, KeyError) as exc:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
            raise SandboxError(
                f"the scoring sandbox did not start; see {self._dir / 'sandbox.log'}"
            ) from exc

    @contextlib.contextmanager
    def _test_set_file(self, x: np.ndarray) -> Iterator[Path]:
        # Written once per test set as raw float32 (no pickle, no parsing), read by every child;
        # never removed while a call still scores on it.
        digest = hashlib.blake2b(x.data, digest_size=16)
        digest.update(repr((x.shape, x.dtype.str)).encode())
        key = digest.hexdigest()
        with self._files_lock:
            if key not in self._test_sets:
                for old in [k for k in self._test_sets if not self._in_use[k]]:
                    if len(self._test_sets) < _CACHED_TEST_SETS:
                        break
                    self._test_sets.pop(old).unlink(missing_ok=True)
                self._test_sets[key] = self._dir / f"x-{key}.f32"
            path = self._test_sets[key]
            # Children cannot write into it (their file-size limit is 0) but could shorten or
            # remove it: then it is written again, under a new inode.
            if not path.is_file() or path.stat().st_size != 4 * x.size:
                staged = path.with_suffix(".tmp")
                staged.write_bytes(x.astype("<f4", copy=False).tobytes())
                os.replace(staged, path)
            self._in_use[key] += 1
        try:
            yield self._test_sets[key]
        finally:
            with self._files_lock:
                self._in_use[key] -= 1


_warned: set[str] = set()


def _warn_if_unconfined(confinement: dict[str, Any]) -> None:
    missing = []
    if not confinement.get("seccomp"):
        missing.append("seccomp (install libseccomp2)")
    if not confinement.get("landlock_abi"):
        missing.append("Landlock (Linux 5.13 or later, with the landlock LSM enabled)")
    for layer in missing:
        if layer not in _warned:  # once per process, not once per restart
            _warned.add(layer)
            log.warning("scoring children run without %s on this machine", layer)


def _result(header: dict[str, Any], data: bytes, y: np.ndarray, spec: ModelSpec) -> ScoreResult:
    seconds = float(header.get("seconds", 0.0))
    pid = int(header["pid"]) if isinstance(header.get("pid"), int) else None

    def failed(error: str) -> ScoreResult:
        return ScoreResult(0, len(y), error, seconds, pid)

    if not header.get("ok"):
        return failed(str(header.get("error") or "failed without a reason"))
    if len(data) != 8 * len(y):
        return failed(f"the sandbox sent {len(data):,} bytes of predictions for {len(y):,} samples")
    predictions = np.frombuffer(data, dtype="<i8")
    if predictions.min(initial=0) < 0 or predictions.max(initial=0) >= spec.num_classes:
        return failed("predictions out of the class range")
    hits = predictions == y
    bitmap = np.packbits(hits, bitorder="little").tobytes()
    return ScoreResult(int(np.count_nonzero(hits)), len(y), None, seconds, pid, bitmap)


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


def default_sandbox(spares: int | None = None, workers: int | None = None) -> Sandbox:
    """The process's shared fork server, started on first use and stopped at exit (the first
    call's `spares` and `workers` hold for the life of the process)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox(spares=SPARES if spares is None else spares, workers=workers)
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
    hits = predictions == y
    bitmap = np.packbits(hits, bitorder="little").tobytes()
    return ScoreResult(
        int(np.count_nonzero(hits)), len(y), None, time.monotonic() - started, None, bitmap
    )
