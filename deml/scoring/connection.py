"""The client's side of the scoring fork server's pipes (`deml.scoring.server`).

Requests go out on the server's stdin; one reader thread routes the replies, which come back in
the order the models finish, to the callers waiting for them. If the server dies or goes quiet,
every caller still waiting learns it (`ServerLost`) instead of hanging.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
import threading
import time
from typing import Any

from deml.exceptions import ServerLost
from deml.scoring.frames import pack_frame, read_exact, read_frame, write_all


class Reply:
    """One request's answer, filled in by the connection's reader thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.sent = time.monotonic()
        self.header: dict[str, Any] = {}
        self.data = b""
        self.failure: BaseException | None = None


class Connection:
    """One running fork server: requests go out on its stdin, a reader thread routes the replies
    (which come back in the order the models finish) to the callers waiting for them."""

    def __init__(self, proc: subprocess.Popen[bytes], window: int, startup_seconds: float) -> None:
        """Wait for the server's "ready" (FrameError or TimeoutError if it does not come)."""
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self._stdin, self._stdout = proc.stdin.fileno(), proc.stdout.fileno()
        ready = read_frame(self._stdout, time.monotonic() + startup_seconds)
        self.pid = int(ready["pid"])
        # Which layers of deml.scoring.confine its children apply on this machine.
        self.confinement: dict[str, Any] = dict(ready.get("confinement") or {})
        self.failure: BaseException | None = None
        self.last_heard = time.monotonic()
        self._lock = threading.Lock()
        self._pending: dict[int, Reply] = {}
        self._ids = itertools.count(1)
        # Bounds the jobs queued in the server (each holds its payload in memory).
        self._window = threading.Semaphore(window)
        self._reader = threading.Thread(target=self._read, name="deml-sandbox-replies", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.failure is None and self.proc.poll() is None

    def request(self, header: dict[str, Any], payload: bytes, silence: float) -> Reply:
        """Send a request; its reply arrives later (`wait`). Raises ServerLost, also when no
        room opens in the window while the server says nothing for `silence` seconds."""
        request_id = next(self._ids)
        # Built first: a header that is not JSON fails here, holding nothing.
        frame = pack_frame({**header, "id": request_id, "payload_bytes": len(payload)}, payload)
        started = time.monotonic()
        while not self._window.acquire(timeout=min(1.0, silence)):
            self._check(started, silence)
        reply = Reply()
        with self._lock:
            if self.failure is not None:
                self._window.release()
                raise ServerLost(repr(self.failure))
            self._pending[request_id] = reply
            try:
                write_all(self._stdin, frame)
            except BaseException as exc:
                # Part of a frame may be in the pipe: nothing after it would parse.
                self._fail(exc)
                if not isinstance(exc, OSError):
                    raise
        return reply

    def wait(self, reply: Reply, silence: float) -> tuple[dict[str, Any], bytes]:
        """The reply's header and data; ServerLost if the server went `silence` seconds
        without a word while this request was out (it is then killed)."""
        while not reply.done.wait(timeout=min(1.0, silence)):
            self._check(reply.sent, silence)
        if reply.failure is not None:
            raise ServerLost(repr(reply.failure))
        return reply.header, reply.data

    def _check(self, since: float, silence: float) -> None:
        # A server quiet for `silence` seconds while we wait on it is stuck: kill it, and the
        # reader thread tells everyone waiting.
        if self.failure is not None:
            raise ServerLost(repr(self.failure))
        if time.monotonic() - max(self.last_heard, since) > silence:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]

    def close(self) -> None:
        """Let the server finish and exit; kill it if it takes over 5 s."""
        with self._lock:
            # No request may be written from here on (its descriptor is about to close).
            if self.failure is None:
                self.failure = ServerLost("the sandbox was closed")
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.kill()

    def _read(self) -> None:
        try:
            while True:
                header = read_frame(self._stdout)
                data = read_exact(self._stdout, int(header.get("data_bytes", 0)))
                self.last_heard = time.monotonic()
                with self._lock:
                    reply = self._pending.pop(int(header["id"]), None)
                if reply is not None:
                    reply.header, reply.data = header, data
                    reply.done.set()
                    self._window.release()
        except BaseException as exc:  # the server exited, was killed, or garbled a frame
            with self._lock:
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        # Called with the lock held: every waiting caller learns the server is gone.
        if self.failure is None:
            self.failure = exc
        for reply in self._pending.values():
            reply.failure = exc
            reply.done.set()
            self._window.release()
        self._pending.clear()
