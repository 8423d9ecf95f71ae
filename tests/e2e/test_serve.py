"""`deml serve`: a local Prefect server, and the miner deployment running on its schedule."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from deml.chain.localnode import NodeInfo
from tests.helpers.project import ROOT, free_port


@pytest.mark.serial
def test_serve_runs_the_miner_on_its_interval(tmp_path: Path, anvil_node: NodeInfo) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEML_", "PREFECT_"))}
    env.update(
        DEML_STATE_DIR=str(tmp_path / "state"),
        DEML_RPC_URL=anvil_node.url,
        DEML_CONFIG_DIR=str(ROOT / "configs"),
        # The server's scheduler looks for due runs every 60 s by default.
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
    )
    # The miner works for the factory deployed on the chain (no command deploys it by itself).
    subprocess.run(
        [sys.executable, "-m", "deml.cli", "contracts", "deploy"],
        cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # Its output goes to a file: a pipe nobody reads fills up after enough runs, and then
    # `serve` blocks writing its log and never stops.
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-m", "deml.cli", "serve", "--port", str(port), "--interval", "5"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        completed: list[dict] = []
        deadline = time.monotonic() + 150
        while len(completed) < 2 and time.monotonic() < deadline:
            time.sleep(3)
            try:
                # (The scheduler also books runs ahead: ask for the completed ones.)
                query = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 50}
                completed = httpx.post(f"{api}/flow_runs/filter", json=query, timeout=10).json()
            except httpx.HTTPError:
                continue  # the server is still starting
        if len(completed) < 2:
            output = log.read_text(errors="replace")
            raise AssertionError(f"the scheduled miner runs did not complete:\n{output[-3000:]}")
        deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        assert [d["name"] for d in deployments] == ["miner-4"]
        assert deployments[0]["schedules"][0]["schedule"]["interval"] == 5
        assert all(r["deployment_id"] == deployments[0]["id"] for r in completed)
        # A scheduled run's log says what it sent: the first one bonded the miner. (The runner
        # relays its run's output to `serve`'s: on a busy machine it reaches the file later.)
        sent = r"sending bond from 0x\w+: tx 0x[0-9a-f]{64}"
        deadline = time.monotonic() + 60
        while not re.search(sent, log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert re.search(sent, log.read_text()), log.read_text()[-3000:]
    finally:
        interrupted = datetime.now(UTC)
        os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C
        try:
            serve.wait(timeout=30)
            stopped = True
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)  # leave nothing running, then say so
            serve.wait()
            stopped = False
        # Runs that began over a second after Ctrl-C (the run in flight may begin just after).
        after = {
            "start_time": {"after_": (interrupted + timedelta(seconds=1)).isoformat()},
            "state": {"type": {"any_": ["RUNNING", "COMPLETED", "FAILED", "CRASHED"]}},
        }
        late = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": after}, timeout=10).json()
        # The server outlives `serve` on purpose; the test stops it as a user would.
        down = subprocess.run(
            [sys.executable, "-m", "deml.cli", "prefect", "down"],
            cwd=tmp_path, env={**env, "DEML_PREFECT_PORT": str(port)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert stopped, f"`deml serve` ignored Ctrl-C for 30 s:\n{log.read_text()[-3000:]}"
    assert late == [], "flow runs started after Ctrl-C"
    assert "Prefect server stopped" in down.stdout, down.stdout + down.stderr
