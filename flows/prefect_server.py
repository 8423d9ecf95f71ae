"""One Prefect server per machine, started once and kept: `deml prefect up|down|status`.

Every role command and `deml serve` talk to it, so a one-shot command pays no server start
(Prefect's default, a temporary server per process, took 10-60 s a command on a busy 2-core
machine and leaked a server when the command was killed). Like the chain node, it runs
detached from the shell, with its pid, port and log recorded in the state dir that started it;
the other state dirs on the machine find it on its port and use it. `PREFECT_API_URL` (a
remote server, Prefect Cloud) replaces it.

A flow run whose process died stays RUNNING on the server: Prefect marks a run crashed only
from inside the process. Each run is therefore tagged with its host and pid
(`tags_for_this_process`), and `mark_crashed` (run when a role command starts) moves the runs
of dead processes on this host to Crashed, with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from deml._fs import tail
from deml._process import alive
from deml.exceptions import SettingsError, ToolchainError

START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15
PID_TAG = "deml-pid:"
HOST_TAG = "deml-host:"


@dataclass(frozen=True)
class ServerInfo:
    """What `deml prefect up` recorded about the server it started."""

    pid: int
    port: int
    log_file: str
    started_at: float

    @property
    def api_url(self) -> str:
        return api_url(self.port)


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def is_local(url: str) -> bool:
    """Whether the API URL names this machine (a server deml could have started)."""
    return urlparse(url).hostname in ("127.0.0.1", "localhost", "::1")


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    """Whether a Prefect API answers at `url` (ending in /api)."""
    try:
        return requests.get(f"{url.rstrip('/')}/health", timeout=timeout_s).ok
    except requests.RequestException:
        return False


class ManagedServer:
    """Start, inspect and stop the Prefect server whose records live in `home`."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.record = home / "server.json"
        self.log = home / "server.log"

    def status(self) -> ServerInfo | None:
        """The server this home started, when it still answers (a stale record is removed)."""
        if not self.record.is_file():
            return None
        try:
            info = ServerInfo(**json.loads(self.record.read_text()))
        except (ValueError, TypeError):
            info = None
        if info is not None and alive(info.pid, b"prefect") and healthy(info.api_url):
            return info
        self.record.unlink(missing_ok=True)
        return None

    def foreign(self) -> bool:
        """Whether a Prefect server that this home did not start answers on the port."""
        return self.status() is None and healthy(api_url(self.port))

    def start(self) -> tuple[str, bool]:
        """The API URL of the server on the port, started here unless one answers; and
        whether it was started now."""
        if (info := self.status()) is not None:
            return info.api_url, False
        url = api_url(self.port)
        if healthy(url):
            return url, False  # another state dir's server on this machine: share it
        if _port_taken(self.port):
            raise ToolchainError(
                f"port {self.port} is taken by something that is not a Prefect server; free it"
                " or choose another port (DEML_PREFECT_PORT)"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)  # the server must not try to reach itself as a client
        # Every role on the machine writes to this server's SQLite database: a request waits
        # up to 30 s for the write lock (Prefect's default, 10 s, answered 503 under the load
        # of six roles on two cores, and a competitor missed its reveal window).
        env.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "30")
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry, no route out
        # The late-runs service marks each overdue scheduled run Late, in its own write. A miner
        # served with one pass at a time (`deml serve`) leaves a run overdue whenever a pass
        # outlasts its interval, and those writes fight every role's state changes for SQLite's
        # lock (a client whose write loses is answered 503 and retries after 2, 4, 8... s): 305
        # state writes failed "database is locked" in five minutes of the real-time test, none
        # with the service off. The runner starts overdue runs whether marked Late or not.
        env.setdefault("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false")
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as sink:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives this command, like the chain node
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop(proc.pid)
                raise ToolchainError(
                    f"the Prefect server did not start; the end of {self.log}:\n{tail(self.log)}"
                )
            time.sleep(0.5)
        info = ServerInfo(proc.pid, self.port, str(self.log), time.time())
        self.record.write_text(json.dumps(asdict(info), indent=2))
        return url, True

    def stop(self) -> ServerInfo | None:
        """Stop the server this home started; None if none runs. A server started from
        another state dir is refused: stop it there."""
        info = self.status()
        if info is None:
            if self.foreign():
                raise SettingsError(
                    f"the Prefect server on port {self.port} was started from another state"
                    " dir; run `deml prefect down` there"
                )
            return None
        _stop(info.pid)
        self.record.unlink(missing_ok=True)
        return info


def tags_for_this_process() -> list[str]:
    """Tags that tie a flow run to this process, for `mark_crashed`."""
    return [f"{HOST_TAG}{socket.gethostname()}", f"{PID_TAG}{os.getpid()}"]


def tag_with_this_process(flow: Any, flow_run: Any, state: Any) -> None:
    """An `on_running` hook: tag the run with this process (`tags_for_this_process`)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, tags=[*flow_run.tags, *tags_for_this_process()])


def mark_crashed() -> list[str]:
    """Move the RUNNING and PENDING flow runs of dead processes on this host, and their
    unfinished subflow runs, to Crashed; return their names. Needs the Prefect client, so
    runs after `prepare_prefect`."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])
    )
    host = f"{HOST_TAG}{socket.gethostname()}"
    crashed = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[host]), state=unfinished)
        )
        dead = []  # (run, the pid of its process)
        for run in runs:
            pid = _pid_of(run.tags)
            if pid is None or alive(pid, b"deml"):
                continue
            family, parents = [run], [run.id]
            while parents:  # its subflows ran in the same process, which took them along
                children = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=parents),
                        state=unfinished,
                    )
                )
                family += children
                parents = [child.id for child in children]
            dead += [(member, pid) for member in family]
        for run, pid in dead:
            client.set_flow_run_state(
                run.id,
                Crashed(message=f"its process ({pid} on this host) ended without reporting"),
                force=True,
            )
            crashed.append(run.name)
    return crashed


def _pid_of(tags: list[str]) -> int | None:
    for tag in tags:
        if tag.startswith(PID_TAG) and tag[len(PID_TAG) :].isdigit():
            return int(tag[len(PID_TAG) :])
    return None


def _stop(pid: int) -> None:
    """SIGTERM the server's process group (uvicorn and its children), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not alive(pid):
            return


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
