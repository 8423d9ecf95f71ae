"""A competition played as real users play it: a chain whose clock nobody moves (anvil mining a
block every second), and the host, two competitors and three miners each in its own processes
and state dir, sharing only the chain, one Prefect server and content served by CID.

The host deploys the factory and serves its store as a trustless gateway (`deml ipfs serve`);
the others read the dataset only through that gateway. The miners are scheduled by the shared
Prefect server (`deml serve`, one per miner); the host and the competitors watch it
(`--watch`), each doing what its phase allows. No `chain advance`. The competition reveals its
models in EIP-4844 blobs, as the demo's does: the miners fetch them from their node.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import LocalNode
from tests.helpers.project import ROOT, free_port

MINERS = (4, 5, 6)
COMPETITORS = {1: "torch-mlp", 2: "torch-mlp"}  # the quickest to train: the clock is real
# Seconds per phase: the submit window covers both trainings (a process start, the dataset
# through the gateway, an epoch, the codec search: 95 s in a CI run where every machine's
# process started at once on two cores), the vote windows two miner polls (a drafted miner's
# first pass fetches the split and scores every model: 65 s there); the host and the
# competitors wake a second after each phase opens (`--watch`). The reveal window holds a
# watch interval and the first blob transaction anvil sees (it loads its KZG setup then: 3 s
# here, 9 s with every machine busy).
PHASES = {
    "submit": "120s",
    "reveal": "30s",
    "key": "20s",
    "vote-commit": "60s",
    "vote-reveal": "30s",
    "tally": "15s",
}
# Each scheduled miner run is a new process (about 4 CPU-seconds): three miners polling every
# 15 s already take most of one of the two cores this test shares among six machines.
MINER_INTERVAL_S = 15
WATCH_S = 10
DEADLINE_S = 365  # the whole play, from the factory to the last claim


@pytest.fixture
def chain_node(tmp_path: Path) -> Iterator[str]:
    """anvil mining a block every second, as a real network does: no time travel."""
    node = LocalNode(tmp_path / "chain")
    info, _ = node.start(
        port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False, block_time=1
    )
    yield info.url
    node.stop()


class Machine:
    """One user's machine: a state dir, an environment, and the commands it runs."""

    def __init__(self, name: str, root: Path, base: dict[str, str]) -> None:
        self.name = name
        self.state = root / name
        self.state.mkdir()
        self.env = {**base, "DEML_STATE_DIR": str(self.state)}
        self.cwd = self.state  # no DeML checkout on any machine: the installed package
        self.background: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, ok: bool = True) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "deml.cli", *args],
            cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if ok and proc.returncode != 0:
            raise AssertionError(
                f"{self.name}: deml {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.stdout + proc.stderr

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start `deml ARGS` in the background, its output in a log in the state dir."""
        log = (self.state / f"{args[0]}-{args[1]}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "deml.cli", *args],
            cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.background.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for proc in self.background:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.serial
@pytest.mark.timeout(DEADLINE_S + 180)
def test_a_competition_in_real_time_across_machines(
    tmp_path: Path, chain_node: str, migrated_db: Path
) -> None:
    started = time.monotonic()
    gateway_port, prefect_port = free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEML_", "PREFECT_"))}
    base |= {
        "DEML_RPC_URL": chain_node,
        "DEML_CONFIG_DIR": str(ROOT / "configs"),
        "DEML_PREFECT_PORT": str(prefect_port),  # one Prefect server for the machines
        # The server books a deployment's scheduled runs every 60 s by default: on a clock of
        # tens of seconds a phase would pass before the miners' first runs.
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        # ...and books 100 runs ahead per deployment each time: a few are enough, and every
        # booking is a write to the SQLite database all six machines share.
        "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "5",
        # Three miners share two cores here: one scoring child each, two spares kept warm.
        "DEML_SCORING_WORKERS": "1",
        "DEML_SCORING_SPARES": "2",
        "OMP_NUM_THREADS": "1",  # a thread per machine: six share two cores here
        "PYTHONUNBUFFERED": "1",  # the logs in the order things happened
        "DVC_NO_ANALYTICS": "1",
    }
    machines = {}
    for name in ["host", *(f"competitor{a}" for a in COMPETITORS), *(f"miner{a}" for a in MINERS)]:
        machines[name] = Machine(name, tmp_path, base)
        (machines[name].state / "mlflow.db").write_bytes(migrated_db.read_bytes())
    host = machines["host"]
    try:
        # The one Prefect server every machine's commands use, started while the host deploys.
        server = host.start("prefect", "up")
        deployed = host.run("contracts", "deploy")
        factory = re.search(r"factory: (0x[0-9a-fA-F]{40})", deployed).group(1)
        host.start("ipfs", "serve", "--port", str(gateway_port))
        host.run("data", "init", "project")  # the dataset pipeline, in a git + DVC repo
        host.cwd = host.state / "project"
        for name, machine in machines.items():
            if name != "host":
                machine.env |= {
                    "DEML_FACTORY": factory,
                    "DEML_IPFS_GATEWAYS": f"http://127.0.0.1:{gateway_port}",
                }
        bonds = [
            machines[f"miner{a}"].start("pool", "bond", "10", "--account", str(a)) for a in MINERS
        ]
        for proc in [server, *bonds]:
            assert proc.wait(timeout=120) == 0, f"see the logs under {tmp_path}"
        for account in MINERS:
            miner = machines[f"miner{account}"]
            miner.start("serve", "--account", str(account), "--interval", str(MINER_INTERVAL_S))

        phases = [f"--{phase}={length}" for phase, length in PHASES.items()]
        created = host.run(
            "host", "create", "--prize", "1", "--entry-fee", "0.01", "--seats", "3",
            "--reveal-mode", "blob", *phases,
        )  # fmt: skip
        address = re.search(r"competition created: (0x[0-9a-fA-F]{40})", created).group(1)
        for account, model in COMPETITORS.items():
            machines[f"competitor{account}"].start(
                "compete", "submit", address, "--model", model, "--epochs", "1",
                "--seed", str(account), "--account", str(account),
            )  # fmt: skip

        # The host and the competitors watch the competition, each in one long-lived process
        # (a poll every few seconds, no start-up per poll), until it is over and all is paid.
        host.start("host", "run", address, "--watch", str(WATCH_S))
        for account in COMPETITORS:
            machines[f"competitor{account}"].start(
                "compete", "run", address, "--account", str(account), "--watch", str(WATCH_S)
            )
        status: dict = {}
        while time.monotonic() - started < DEADLINE_S:
            status = json.loads(host.run("status", address, "--json"))
            if status["phase"] == "finalized" and status["balance"] == "0":
                break
            time.sleep(10)
        assert status.get("phase") == "finalized", json.dumps(status, indent=1)[:4000]
        assert status["outcome"] == "winner"
        assert status["balance"] == "0"
        board = status["leaderboard"]
        assert len(board) == 2 and all(r["status"] == "revealed" for r in board)
        # Revealed in blobs, which the miners fetched from their node and checked.
        assert status["reveal_mode"] == "blob"
        assert all(r["revealed_in"] == "blob" and len(r["versioned_hashes"]) == 1 for r in board)
        best = min(board, key=lambda r: (-r["score"], r["id"]))
        assert status["winner"]["id"] == best["id"]
        # The drafted miners read the dataset through the host's gateway: it is in their stores.
        signers = accounts.from_mnemonic(DEV_MNEMONIC)
        drafted = {juror["address"] for juror in status["jurors"]}
        on_jury = [a for a in MINERS if signers[a].address in drafted]
        assert on_jury
        for account in on_jury:
            assert any((machines[f"miner{account}"].state / "ipfs" / "blocks").rglob("*"))
        # One Prefect server saw the three miners' scheduled runs.
        api = f"http://127.0.0.1:{prefect_port}/api"
        deployments = requests.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        assert sorted(d["name"] for d in deployments) == [f"miner-{a}" for a in MINERS]
        # Each miner ran one pass at a time: none raced the next for the CPU and the models.
        for deployment in deployments:
            query = {"deployments": {"id": {"any_": [deployment["id"]]}}}
            runs = requests.post(f"{api}/flow_runs/filter", json=query, timeout=10).json()
            spans = sorted(
                (datetime.fromisoformat(r["start_time"]), datetime.fromisoformat(r["end_time"]))
                for r in runs
                if r["start_time"] and r["end_time"]
            )
            assert len(spans) >= 2
            assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    finally:
        for machine in machines.values():
            machine.stop()
        host.run("prefect", "down", ok=False)
