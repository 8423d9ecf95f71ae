"""The `deml` command as a user runs it: in a subprocess, with its exit codes and output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from deml import artifacts
from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import rpc_chain_id
from tests.helpers.project import ROOT, free_port

DEML = [sys.executable, "-m", "deml.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*DEML, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"deml {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def local_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a private local chain: its own state dir and port; stopped afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEML_")}
    env["DEML_STATE_DIR"] = str(tmp_path / "state")
    env["DEML_RPC_URL"] = f"http://127.0.0.1:{free_port()}"
    yield env
    run("chain", "down", env=env, check=False)


def dev_chain(url: str) -> Chain:
    return Chain.connect(
        url, accounts.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
    )


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("deml 0.1.0")
    help_text = run("--help").stdout
    for command in ("chain", "contracts", "config"):
        assert command in help_text


def test_chain_up_down_and_restart_keeps_deployed_contracts(
    local_env: dict[str, str], tmp_path: Path
) -> None:
    url = local_env["DEML_RPC_URL"]
    port = url.rsplit(":", 1)[1]
    state = tmp_path / "chain.json"

    up = run("chain", "up", "--port", port, "--state", str(state), env=local_env)
    assert f"started {url}" in up.stdout
    reply = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=5
    )
    assert int(reply.json()["result"], 16) == 31337

    again = run("chain", "up", "--port", port, "--state", str(state), env=local_env)
    assert f"already running: {url}" in again.stdout

    chain = dev_chain(url)
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    chain.transact(probe.functions.store(42, 100))
    assert "block" in run("chain", "status", env=local_env).stdout

    down = run("chain", "down", env=local_env)
    assert "stopped anvil" in down.stdout
    assert rpc_chain_id(url) is None
    assert run("chain", "down", env=local_env).stdout.strip() == "no local chain is running"
    status = run("chain", "status", env=local_env, check=False)
    assert status.returncode == 1 and "not running" in status.stdout

    run("chain", "up", "--port", port, "--state", str(state), env=local_env)
    restarted = dev_chain(url)
    assert restarted.w3.eth.get_code(probe.address) == chain.w3.eth.get_code(probe.address) != b""
    again = restarted.contract(artifacts.load_fixture("Probe"), probe.address)
    assert restarted.call(again.functions.value()) == 42


def test_commands_start_the_local_chain_when_none_runs(
    local_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from deml.chain.localnode import connect
    from deml.settings import load_settings

    # The network's own URL (not an override): deml manages that node and starts it.
    configs = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", configs)
    networks = yaml.safe_load((configs / "networks.yaml").read_text())
    networks["networks"]["local"]["rpc_url"] = local_env["DEML_RPC_URL"]
    (configs / "networks.yaml").write_text(yaml.safe_dump(networks))
    monkeypatch.setenv("DEML_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEML_STATE_DIR", local_env["DEML_STATE_DIR"])
    monkeypatch.delenv("DEML_RPC_URL", raising=False)
    assert rpc_chain_id(local_env["DEML_RPC_URL"]) is None
    chain = connect(load_settings())
    assert chain.chain_id == 31337
    assert chain.balance(chain.accounts[0].address) > 0


def test_an_rpc_url_that_does_not_answer_is_an_error_not_a_new_chain(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEML_")}
    dead = f"http://127.0.0.1:{free_port()}"
    env.update(DEML_STATE_DIR=str(tmp_path / "state"), DEML_RPC_URL=dead)
    proc = run("status", "0x5FbDB2315678afecb367f032d93F642f64180aa3", env=env, check=False)
    assert proc.returncode == 1
    assert f"no chain answers at {dead} (DEML_RPC_URL)" in proc.stderr
    assert rpc_chain_id(dead) is None  # nothing was started in its place
    assert not (tmp_path / "state" / "anvil" / "node.json").exists()


def test_contracts_check_passes_on_main() -> None:
    assert run("contracts", "check").stdout.strip() == "artifacts are current"


@pytest.mark.slow
def test_contracts_check_fails_after_an_edit_without_rebuild(tmp_path: Path) -> None:
    """On a copy of the tree, so the checkout itself is untouched."""
    for part in ("deml", "contracts", "configs"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    source = tmp_path / "contracts" / "test" / "Probe.sol"
    source.write_text(source.read_text() + "\n// an edit\n")
    stale = run("contracts", "check", cwd=tmp_path, check=False)
    assert stale.returncode == 1
    assert "contracts/test/Probe.sol changed" in stale.stderr
    built = run("contracts", "build", cwd=tmp_path)
    assert "Probe" in built.stdout
    assert run("contracts", "check", cwd=tmp_path).returncode == 0


def test_bad_setting_is_one_line_without_traceback() -> None:
    env = {**os.environ, "DEML_CHAIN_ID": "minus one"}
    proc = run("config", env=env, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid settings")
    assert "[DEML_CHAIN_ID]" in lines[0] and "Traceback" not in proc.stderr
    debug = run("--debug", "config", env=env, check=False)
    assert "Traceback" in debug.stderr


def test_chain_up_refuses_a_port_held_by_another_node(
    local_env: dict[str, str], anvil_node
) -> None:
    proc = run("chain", "up", "--port", str(anvil_node.port), env=local_env, check=False)
    assert proc.returncode == 1
    assert f"port {anvil_node.port} is taken by another node" in proc.stderr
