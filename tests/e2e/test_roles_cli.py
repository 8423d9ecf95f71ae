"""A host, a competitor and a miner, each in its own processes and state dir, run a whole
competition through the `deml` command against one anvil node, sharing content through a
kubo RPC endpoint (the stand-in: no kubo daemon installs here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deml.chain.localnode import NodeInfo
from tests.helpers import kubo_standin
from tests.helpers.project import ROOT, make_project


@pytest.fixture
def kubo() -> Iterator[kubo_standin.KuboStandin]:
    with kubo_standin.running() as node:
        yield node


@pytest.mark.slow
def test_host_competitor_and_miner_play_a_competition(
    tmp_path: Path,
    anvil_node: NodeInfo,
    prefect_server: str,
    migrated_db: Path,
    kubo: kubo_standin.KuboStandin,
) -> None:
    project = make_project(tmp_path / "project")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEML_", "PREFECT_"))}
    base.update(
        DEML_RPC_URL=anvil_node.url,
        DEML_CONFIG_DIR=str(ROOT / "configs"),
        DEML_IPFS_BACKEND="kubo",
        DEML_IPFS_API_URL=kubo.url,
        PREFECT_API_URL=prefect_server,  # one server for all: no start-up per command
        DVC_NO_ANALYTICS="1",
    )

    def run(role: str, *args: str) -> subprocess.CompletedProcess[str]:
        state = tmp_path / role
        if not state.exists():
            state.mkdir()
            (state / "mlflow.db").write_bytes(migrated_db.read_bytes())
        env = {**base, "DEML_STATE_DIR": str(state)}
        return subprocess.run(
            [sys.executable, "-m", "deml.cli", *args],
            cwd=project, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def deml(role: str, *args: str) -> str:
        proc = run(role, *args)
        assert proc.returncode == 0, f"deml {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def deml_fails(role: str, *args: str) -> str:
        proc = run(role, *args)
        assert proc.returncode == 1, f"deml {' '.join(args)} did not fail:\n{proc.stdout}"
        return proc.stderr

    # Before anyone deploys it, no role does it by itself: each names the fix.
    missing = deml_fails("miner", "mine", "run", "--account", "4")
    assert "deml contracts deploy" in missing
    assert "Traceback" not in missing  # the error once, in a line; --debug shows the traceback
    # The host deploys the factory (and its miner pool); the others are told where it is, as
    # users on a shared chain are.
    deployed = deml("host", "contracts", "deploy")
    base["DEML_FACTORY"] = re.search(r"factory: (0x[0-9a-fA-F]{40})", deployed).group(1)
    deml("miner", "mine", "run", "--account", "4")  # bonds in the pool: the jury comes from it
    created = deml("host", "host", "create", "--prize", "1", "--entry-fee", "0.01",
                   "--seats", "3")  # fmt: skip
    address = re.search(r"competition created: (0x[0-9a-fA-F]{40})", created).group(1)
    assert base["DEML_FACTORY"] in created
    deml("competitor", "compete", "submit", address, "--model", "torch-mlp",
         "--epochs", "4", "--account", "1")  # fmt: skip

    deml("host", "chain", "advance", "--competition", address, "--phase", "reveal")
    deml("miner", "mine", "run", "--account", "4", "--competition", address)  # draws the jury
    deml("competitor", "compete", "run", address, "--account", "1")  # reveals the model

    deml("host", "chain", "advance", "--competition", address, "--phase", "key")
    revealed = run("host", "host", "run", address)  # reveals the test key
    assert revealed.returncode == 0, revealed.stderr
    # Its log names what it sent and the transaction's hash.
    assert re.search(
        r"sending revealTestKey from 0x\w+: tx 0x[0-9a-f]{64}", revealed.stdout + revealed.stderr
    )
    scored = deml("miner", "mine", "run", "--account", "4", "--competition", address)
    assert "{'" + address in scored  # it scored the model (fetched through kubo) and committed
    deml("host", "chain", "advance", "--competition", address, "--phase", "vote-reveal")
    deml("miner", "mine", "run", "--account", "4", "--competition", address)  # reveals

    deml("host", "chain", "advance", "--competition", address, "--phase", "tally")
    # The miner's vote won: it publishes the scores and their bitmaps (for disputes); once the
    # dispute window is over it finalizes, settles its seats, claims.
    deml("miner", "mine", "run", "--account", "4", "--competition", address)
    deml("host", "chain", "advance", "--competition", address, "--phase", "settle")
    deml("miner", "mine", "run", "--account", "4", "--competition", address)
    deml("host", "host", "run", address)
    deml("competitor", "compete", "run", address, "--account", "1")

    status = json.loads(deml("host", "status", address, "--json"))
    assert status["phase"] == "finalized" and status["outcome"] == "winner"
    assert status["winner"]["id"] == 1
    assert status["leaderboard"][0]["scored_by"] == "root"
    assert status["balance"] == "0"
    # The winner, the juror (its pay, the bounties) and the host (its bond) were paid.
    paid = {e["address"]: int(e["claimed"]) for e in status["payouts"]["entries"]}
    assert len(paid) == 3 and all(n > 0 for n in paid.values())
    assert all(e["claimable"] == "0" for e in status["payouts"]["entries"])
    assert kubo.pins  # the host pinned its dataset on the node
