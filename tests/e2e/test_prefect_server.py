"""The machine's Prefect server: started once, shared by every command and state dir, and the
runs of a killed command marked crashed by the next one (issue 13: every command started a
temporary server of its own, and a killed one left its runs RUNNING forever)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from deml.chain.localnode import NodeInfo
from tests.helpers.project import ROOT, free_port


def deml(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deml.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@contextlib.contextmanager
def cpu_bound_load() -> Iterator[None]:
    """One process spinning on each core, for as long as the block runs."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def flow_runs(api: str, state: str) -> list[dict]:
    query = {"flow_runs": {"state": {"type": {"any_": [state]}}}}
    return requests.post(f"{api}/flow_runs/filter", json=query, timeout=10).json()


@pytest.mark.slow
def test_one_server_for_every_command_and_crashed_runs_marked(
    tmp_path: Path, anvil_node: NodeInfo
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEML_", "PREFECT_"))}
    base |= {
        "DEML_RPC_URL": anvil_node.url,
        "DEML_CONFIG_DIR": str(ROOT / "configs"),
        "DEML_PREFECT_PORT": str(port),
    }
    miner = {**base, "DEML_STATE_DIR": str(tmp_path / "miner")}
    other = {**base, "DEML_STATE_DIR": str(tmp_path / "other")}
    assert deml(miner, "prefect", "status").returncode == 3  # nothing runs yet
    deployed = deml(miner, "contracts", "deploy")
    factory = deployed.stdout.split("factory: ")[1].split()[0]
    miner["DEML_FACTORY"] = other["DEML_FACTORY"] = factory
    try:
        # The first command starts it, on a machine whose every core is busy (issue 14: under
        # load, Prefect's own ephemeral server gave up after its start-up timeout).
        with cpu_bound_load():
            first = deml(miner, "mine", "run")
        assert first.returncode == 0, first.stderr
        assert f"starting this machine's Prefect server on port {port}" in first.stderr
        assert "Prefect server started" in first.stderr
        again = deml(miner, "mine", "run")
        assert again.returncode == 0 and "Prefect server started" not in again.stderr
        shared = deml(other, "prefect", "status")  # another state dir on the machine uses it
        assert f"running: {api} (started from another state dir)" in shared.stdout

        # A miner killed mid-run leaves its flow run RUNNING; the next command marks it.
        log = (tmp_path / "killed.log").open("wb")
        killed = subprocess.Popen(
            [sys.executable, "-m", "deml.cli", "mine", "run", "--account", "6"],  # it bonds: slower
            cwd=ROOT, env=miner, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        # Once running, the run carries its process's tags (what the next command looks for).
        while time.monotonic() < deadline and not any(
            f"deml-pid:{killed.pid}" in r["tags"] for r in flow_runs(api, "RUNNING")
        ):
            time.sleep(0.05)
        (running,) = flow_runs(api, "RUNNING")
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        assert [r["id"] for r in flow_runs(api, "RUNNING")] == [running["id"]]
        after = deml(other, "mine", "run", "--account", "5")
        assert after.returncode == 0, after.stderr
        assert f"flow run {running['name']!r} marked crashed" in after.stderr
        crashed = flow_runs(api, "CRASHED")
        assert [r["id"] for r in crashed] == [running["id"]]
        assert f"process ({killed.pid} on this host)" in crashed[0]["state"]["message"]
        assert flow_runs(api, "RUNNING") == []

        # Killed inside a subflow: the subflow's run is marked crashed with its parent's.
        nested = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.nested_flows"],
            cwd=ROOT, env=miner, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while len(flow_runs(api, "RUNNING")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        runs = {r["name"]: r for r in flow_runs(api, "RUNNING")}
        assert len(runs) == 2, runs
        os.killpg(nested.pid, signal.SIGKILL)
        nested.wait()
        after = deml(other, "mine", "run", "--account", "5")
        assert after.returncode == 0, after.stderr
        crashed = {r["name"] for r in flow_runs(api, "CRASHED")}
        assert set(runs) <= crashed
        assert flow_runs(api, "RUNNING") == []
    finally:
        down = deml(miner, "prefect", "down")
    assert "Prefect server stopped" in down.stdout
    assert deml(miner, "prefect", "status").returncode == 3
