"""A local Prefect server in the background, for schedules and the UI (`deml serve`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from deml.exceptions import ToolchainError

START_TIMEOUT_S = 90


def healthy(port: int) -> bool:
    """Whether a Prefect API answers on this port."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok
    except requests.RequestException:
        return False


def ensure(home: Path, port: int) -> bool:
    """Start `prefect server start` unless one answers; return whether it was started now."""
    if healthy(port):
        return False
    home.mkdir(parents=True, exist_ok=True)
    log = home / "server.log"
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)  # the server must not try to reach itself as a client
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # outlives this command, like `deml chain up`
        )
    (home / "server.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise ToolchainError(f"the Prefect server did not start; see {log}")
        time.sleep(0.5)
    return True
