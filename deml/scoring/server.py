"""The scoring fork server: a process with ONNX Runtime loaded that forks one child per model.

Started by `deml.scoring.sandbox.Sandbox` (`python -I`, with a clean environment). The server
itself never touches a model: each job goes to a fresh child that applies its limits (address
space, CPU time, files of size 0, no core dumps), then decodes, checks and runs the model
(`deml.scoring.child`). No child ever runs a second model.

Most of what a child costs is paid where no model waits for it:
- ONNX Runtime is loaded and warmed up once, in the server, on models of our own
  (`deml.scoring.warmup`), so every child inherits it ready.
- While the server is idle it keeps `spares` children forked and warmed up on those models: a
  fresh process pays for every page it writes first, and for every code path it runs first.
- A child that has sent its result stops; the server tears it down when it is idle again.
- `workers` children run at a time, one per core by default: each is single-threaded.

Requests and replies are frames (`deml.scoring.frames`) that carry the client's `id`; replies
come back in the order the models finish.
"""

from __future__ import annotations

import array
import collections
import contextlib
import fcntl
import gc
import os
import select
import signal
import termios
import time
from dataclasses import dataclass
from typing import Any

from deml.exceptions import FrameError
from deml.scoring import confine, warmup
from deml.scoring.child import run as run_child
from deml.scoring.frames import pack_frame, read_exact, read_frame, readable, write_frame

# Finished children wait, stopped, to be torn down (about 1.5 ms of CPU each) when the server
# is idle rather than while other models are being scored; at most this many at a time.
MAX_LINGERING = 64
MAX_LINGERING_BYTES = 1 << 30
_MAX_WARM_FAILURES = 3
# The children's seccomp filter (deml.scoring.confine), compiled by `main` before any fork.
_SECCOMP: bytes | None = None
_RESULT_SECONDS = 5.0
# A job whose child dies of something other than the model (killed from outside before or
# while it ran) goes to a fresh child, at most this many times; then the reply says `lost`.
_MAX_DEATHS = 3
# A model that runs out of wall-clock or CPU time is scored 0 only if it does so this many
# times in a row, each in a fresh child.
_TIME_LIMIT_TRIES = 2
# How much of its budget (by rusage) a process has used when its CPU timer fires: all of it
# in theory; in CI a 1-second timer fired short of 1 s by rusage, three times in a row.
_CPU_TIMER_SHARE = 0.9
# Signals a model cannot send itself (it has no syscalls, only ONNX operators): the OOM killer,
# a stray kill or a terminal's. The CPU limit's own (SIGPROF, and SIGXCPU or SIGKILL from the
# backstop) are told apart by the CPU time used.
_FROM_OUTSIDE = frozenset(
    {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
     signal.SIGPROF, signal.SIGXCPU}
)  # fmt: skip


@dataclass
class _Child:
    pid: int
    job_w: int
    result_r: int
    warm: bool = False
    job: dict[str, Any] | None = None
    payload: bytes = b""
    deaths: int = 0
    timeouts: int = 0
    started: float = 0.0
    private_bytes: int = 0

    @property
    def deadline(self) -> float:
        assert self.job is not None
        return self.started + float(self.job["wall_seconds"])


class _Server:
    """The fork server's state: warm spares, queued jobs, running and finished children.

    One thread, one `select` loop. It never blocks on the client (replies go out as the pipe
    takes them). It hands jobs only to children waiting for one (a warm spare or a fresh fork),
    and reads a child's result once the child has started to send it.
    """

    def __init__(self, reply_fd: int, spares: int, workers: int) -> None:
        self.reply_fd = reply_fd
        self.spares = spares
        self.workers = max(1, workers)
        self.pool: collections.deque[_Child] = collections.deque()
        # Jobs waiting for a child: header, payload, how many children were lost on it, and how
        # many ran out of time on it.
        self.queue: collections.deque[tuple[dict[str, Any], bytes, int, int]] = collections.deque()
        self.running: dict[int, _Child] = {}
        self.finished: collections.deque[_Child] = collections.deque()
        self.lingering_bytes = 0
        self.syncs: list[dict[str, Any]] = []
        self.out = bytearray()
        self.open = True
        self.warm_failures = 0

    def serve(self) -> None:
        os.set_blocking(self.reply_fd, False)
        while self.open or self.queue or self.running or self.out:
            self._dispatch()
            idle = not self.queue and not self.running
            if idle:
                # Off the scoring path: tear down finished children, then refill the pool.
                while self.finished:
                    self._reap_finished()
                self._answer_syncs()
            refill = idle and self.open and len(self.pool) < self.spares
            # Spares speak once (warm) and otherwise only by dying: both are heard here.
            spares = [c.result_r for c in self.pool]
            readable = ([0] if self.open else []) + list(self.running) + spares
            writable = [self.reply_fd] if self.out else []
            ready, can_write, _ = select.select(
                readable, writable, [], 0 if refill else self._wait_seconds()
            )
            if can_write:
                self._flush()
            for fd in ready:
                if fd == 0:
                    self._read_request()
                elif fd in self.running:
                    self._finish(self.running.pop(fd))
                else:
                    self._spare_spoke(fd)
            self._expire()
            if refill and not ready:
                self._add_spare()
            while self.finished and (
                len(self.finished) > MAX_LINGERING or self.lingering_bytes > MAX_LINGERING_BYTES
            ):
                self._reap_finished()
        for child in [*self.pool, *self.finished]:
            _reap(child)

    def _read_request(self) -> None:
        try:
            request = read_frame(0)
            payload = read_exact(0, int(request.get("payload_bytes", 0)))
        except (FrameError, ValueError):
            self.open = False  # the client is gone or done
            return
        if request.get("op") == "sync":
            self.syncs.append(request)
        else:
            self.queue.append((request, payload, 0, 0))

    def _dispatch(self) -> None:
        while self.queue and len(self.running) < self.workers:
            job, payload, deaths, timeouts = self.queue.popleft()
            # A spare still warming up is busy: the job would wait for it, and so would we.
            child = next((c for c in self.pool if c.warm), None)
            if child is None:
                child = _fork_child(warm=False)
            else:
                self.pool.remove(child)
            child.job, child.payload = job, payload
            child.deaths, child.timeouts = deaths, timeouts
            child.started = time.monotonic()
            try:
                write_frame(child.job_w, job, payload)
            except OSError:  # it died before the job reached it
                self._lost(child, "died before they could read the model")
                continue
            self.running[child.result_r] = child

    def _lost(self, child: _Child, why: str) -> None:
        # Not the model's doing (it never ran, or something outside killed its process): the
        # job goes to a fresh child, up to a limit; then the client is told it was lost, never
        # that the model scored 0.
        assert child.job is not None
        _reap(child)
        if child.deaths + 1 < _MAX_DEATHS:
            self.queue.appendleft((child.job, child.payload, child.deaths + 1, child.timeouts))
            return
        error = f"{_MAX_DEATHS} scoring processes in a row {why}"
        reply = {"ok": False, "lost": True, "error": error, "seconds": 0.0}
        self._reply({**reply, "id": child.job.get("id")})

    def _finish(self, child: _Child) -> None:
        assert child.job is not None
        if _unread_bytes(child.job_w):
            self._lost(child, "died before they could read the model")
            return
        header, data = _collect(child)
        if header.get("lost"):
            self._lost(child, str(header["error"]))
            return
        if header.get("out_of_time") and self._try_again(child):
            _reap(child)
            return
        self._reply({**header, "id": child.job.get("id"), "pid": child.pid}, data)
        _close_pipes(child)
        self._linger(child)

    def _expire(self) -> None:
        now = time.monotonic()
        for fd, child in list(self.running.items()):
            if now >= child.deadline and not readable(fd, 0):  # a result in the pipe counts
                del self.running[fd]
                assert child.job is not None
                if self._try_again(child):
                    _reap(child)
                    continue
                self._reply(
                    {
                        "ok": False,
                        "error": _timed_out(child.job),
                        "seconds": now - child.started,
                        "id": child.job.get("id"),
                        "pid": child.pid,
                    }
                )
                _kill(child)
                _close_pipes(child)
                self._linger(child)

    def _try_again(self, child: _Child) -> bool:
        # A time limit is the only verdict that depends on the machine (its speed, its load at
        # that moment): before a model is scored 0 for it, it gets a second, fresh child.
        if child.timeouts >= _TIME_LIMIT_TRIES - 1:
            return False
        assert child.job is not None
        self.queue.appendleft((child.job, child.payload, child.deaths, child.timeouts + 1))
        return True

    def _linger(self, child: _Child) -> None:
        child.payload = b""
        child.private_bytes = _private_bytes(child.pid)
        self.lingering_bytes += child.private_bytes
        self.finished.append(child)

    def _reap_finished(self) -> None:
        child = self.finished.popleft()
        self.lingering_bytes -= child.private_bytes
        _reap(child)

    def _spare_spoke(self, fd: int) -> None:
        child = next(c for c in self.pool if c.result_r == fd)
        if not child.warm:
            try:
                child.warm = read_frame(fd, time.monotonic() + 5).get("warm") is True
            except (FrameError, TimeoutError, ValueError, RecursionError):
                child.warm = False
            if child.warm:
                self.warm_failures = 0
                return
            self.warm_failures += 1
        # It failed to warm up, or died waiting (the OOM killer, a stray signal): it must never
        # get a job. If warming up keeps failing, stop keeping spares rather than fork in a
        # loop (jobs then get a fresh fork each).
        self.pool.remove(child)
        _reap(child)
        if self.warm_failures >= _MAX_WARM_FAILURES:
            print(f"spares failed to warm up {self.warm_failures} times: none kept", flush=True)
            self.spares = 0

    def _add_spare(self) -> None:
        try:
            self.pool.append(_fork_child(warm=True))
        except OSError as exc:  # out of processes or memory: make do with the spares we have
            print(f"could not fork a spare ({exc}); keeping {len(self.pool)}", flush=True)
            self.spares = len(self.pool)

    def _answer_syncs(self) -> None:
        if self.syncs and len(self.pool) >= self.spares and all(c.warm for c in self.pool):
            for request in self.syncs:
                self._reply({"ok": True, "id": request.get("id"), "spares": len(self.pool)})
            self.syncs.clear()

    def _wait_seconds(self) -> float | None:
        if not self.running:
            return None
        return max(0.0, min(c.deadline for c in self.running.values()) - time.monotonic())

    def _reply(self, header: dict[str, Any], data: bytes = b"") -> None:
        self.out += pack_frame({**header, "data_bytes": len(data)}, data)
        self._flush()

    def _flush(self) -> None:
        try:
            while self.out:
                del self.out[: os.write(self.reply_fd, self.out)]
        except BlockingIOError:
            pass  # the rest goes when the pipe has room
        except BrokenPipeError:  # the client is gone: finish what runs, then exit
            self.out.clear()
            self.open = False


def main(spares: int, workers: int) -> None:
    """Serve requests from stdin until it closes; one fresh child per job.

    `spares` children are forked and warmed up ahead of the jobs, while the server is idle;
    `workers` jobs run at a time.
    """
    # Stray prints from libraries must not corrupt the protocol: stdout becomes the log.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    global _SECCOMP
    _SECCOMP = confine.program()  # compiled once; every child inherits it and only loads it
    _warm_up()
    ready = {"ready": True, "pid": os.getpid(), "confinement": confine.available(_SECCOMP)}
    write_frame(reply_fd, ready)
    _Server(reply_fd, spares, workers).serve()


def _collect(child: _Child) -> tuple[dict[str, Any], bytes]:
    assert child.job is not None
    # An honest child writes its whole result at once: one that stalls halfway holds the
    # server up for a few seconds at most.
    deadline = min(child.deadline, time.monotonic() + _RESULT_SECONDS)
    try:
        header = read_frame(child.result_r, deadline)
        data = b""
        if header.get("ok"):
            data = read_exact(child.result_r, 8 * int(child.job["samples"]), deadline)
        return {**header, "seconds": time.monotonic() - child.started}, data
    except TimeoutError:
        reason, verdict = _timed_out(child.job), "out_of_time"
    except Exception:  # EOF, or bytes that are not a frame: what the child sent is its own doing
        reason, verdict = _death_reason(child, child.job)
    header = {"ok": False, "error": reason, "seconds": time.monotonic() - child.started}
    return {**header, verdict: True} if verdict else header, b""


def _timed_out(job: dict[str, Any]) -> str:
    return f"timed out after {float(job['wall_seconds']):g} s (wall clock)"


def _death_reason(child: _Child, job: dict[str, Any]) -> tuple[str, str | None]:
    """Why the child stopped without a result, and what that says: `lost` (killed from
    outside: not the model's doing, no verdict on it), `out_of_time` (the CPU limit), or
    None (the model's own failure)."""
    # Its result pipe closed, so it is exiting; one that sent garbage instead is still alive.
    for _ in range(100):
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.01)
    else:
        _kill(child)
        return "the scoring process sent a malformed result", None
    child.pid = 0
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        # The job's CPU budget is counted from the job (an interval timer, SIGPROF); the process
        # as a whole used at least that much (`_CPU_TIMER_SHARE`: rusage and the timer do not
        # count alike). Less, and the signal came from outside.
        used = usage.ru_utime + usage.ru_stime
        if used >= float(job["cpu_seconds"]) * _CPU_TIMER_SHARE:
            return f"killed by the CPU time limit ({job['cpu_seconds']} s)", "out_of_time"
        if sig in _FROM_OUTSIDE:
            name = signal.Signals(sig).name
            return f"were killed from outside ({name}, after {used:.2f} s of CPU)", "lost"
        return f"the model killed its process ({signal.Signals(sig).name})", None
    return f"the scoring process exited with status {os.WEXITSTATUS(status)} and no result", None


def _unread_bytes(fd: int) -> int:
    # How much of the job still sits in the pipe (FIONREAD answers on either end of a pipe).
    if fd < 0:
        return 0
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count)
    return count[0]


def _private_bytes(pid: int) -> int:
    # Resident pages not shared with a file: what tearing the process down gives back.
    try:
        with open(f"/proc/{pid}/statm") as f:
            fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _kill(child: _Child) -> None:
    if child.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)


def _close_pipes(child: _Child) -> None:
    # Closed exactly once: a number closed twice may by then belong to another child's pipe.
    for fd in (child.job_w, child.result_r):
        if fd >= 0:
            os.close(fd)
    child.job_w = child.result_r = -1


def _reap(child: _Child) -> None:
    _close_pipes(child)
    _kill(child)
    if child.pid:
        os.waitpid(child.pid, 0)
        child.pid = 0


def _fork_child(warm: bool) -> _Child:
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(job_w)
        os.close(result_r)
        run_child(server, job_r, result_w, warm, _SECCOMP)
    os.close(job_r)
    os.close(result_w)
    return _Child(pid, job_w, result_r)


def _warm_up() -> None:
    # First use of ONNX Runtime, the checker and numpy builds registries and caches: done once
    # in the server, on a model of our own, so that every child inherits them ready.
    for _ in range(2):
        warmup.run()
    # Objects that exist now are never collected: the collector will not write to (and so
    # copy) the pages every child shares with the server.
    gc.freeze()
