"""`deml dashboard` as a user runs it: a server in a subprocess, read over HTTP."""

from __future__ import annotations

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
from deml.contracts import deployment
from deml.settings import load_settings
from tests.helpers.dashboard import World, played_on
from tests.helpers.project import ROOT, free_port

DEML = [sys.executable, "-m", "deml.cli"]


@pytest.fixture(scope="module")
def world(anvil_node: NodeInfo) -> Iterator[World]:
    with played_on(anvil_node) as played:
        yield played


@pytest.fixture
def env(tmp_path: Path, anvil_node: NodeInfo) -> dict[str, str]:
    """A local network on the session's anvil node, with its own state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEML_")}
    env["DEML_STATE_DIR"] = str(tmp_path / "state")
    env["DEML_RPC_URL"] = anvil_node.url
    return env


def serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `deml dashboard` and wait until it answers; return it and its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [*DEML, "dashboard", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            requests.get(f"{url}/api/head", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"deml dashboard did not start:\n{proc.communicate()[0]}")


def stop(proc: subprocess.Popen[str]) -> str:
    """Ctrl-C the server; return what it printed."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def test_serves_the_factory_recorded_for_the_network(
    env: dict[str, str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEML_STATE_DIR", env["DEML_STATE_DIR"])
    deployment.record(load_settings(), world.factory.address)
    proc, url = serve(env)
    try:
        rows = requests.get(f"{url}/api/competitions", timeout=10).json()
        assert [row["address"] for row in rows][-1] == world.finished.competition.address
        view = requests.get(f"{url}/api/competitions/{rows[-1]['address']}", timeout=10).json()
        assert view["payouts"]["winner_id"] == 3
        assert {j["address"] for j in view["jurors"]} == set(world.finished.jury())
        assert requests.get(url, timeout=10).status_code == 200
    finally:
        output = stop(proc)
    assert f"dashboard: {url}/" in output


def test_factory_and_rpc_options_win(env: dict[str, str], world: World) -> None:
    env["DEML_RPC_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing there: --rpc wins
    rpc = world.chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    proc, url = serve(env, "--rpc", rpc, "--factory", world.factory.address.lower())
    try:
        rows = requests.get(f"{url}/api/competitions", timeout=10).json()
        assert len(rows) == 3
    finally:
        stop(proc)


def test_a_malformed_factory_is_one_line_of_error(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [*DEML, "dashboard", "--factory", "0x12"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "not an Ethereum address" in proc.stderr and "Traceback" not in proc.stderr
