"""`deml status --json`, the dashboard's JSON API and the Prefect artifacts show one standing.

A competition is played phase by phase on anvil; at each step the three views are read, as
a user reads them, and must report the same leaderboard, slashed miners and payouts.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prefect import flow
from prefect.artifacts import Artifact
from typer.testing import CliRunner

from deml.chain.client import Chain
from deml.chain.localnode import NodeInfo
from deml.cli.app import app
from deml.contracts.bindings import CompetitionFactory
from deml.dashboard.app import create_app
from tasks import standing
from tests.helpers.game import DATASET_CID, PRIZE, TEST_CID, Game, default_params
from tests.helpers.project import ROOT

HONEST = {1: 300, 2: 200, 3: 250}  # submission id -> the score honest miners give it


@flow(name="publish-standing")
def publish_standing(address: str) -> dict[str, Any]:
    return standing.publish(address)


@pytest.fixture
def views(
    anvil_chain: Chain,
    anvil_node: NodeInfo,
    prefect_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Game, Any]]:
    """A fresh competition, and a function that reads its three views."""
    for key in [k for k in os.environ if k.startswith("DEML_")]:
        monkeypatch.delenv(key)
    env = {
        "DEML_RPC_URL": anvil_node.url,
        "DEML_STATE_DIR": str(tmp_path / "state"),
        "DEML_CONFIG_DIR": str(ROOT / "configs"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    host = anvil_chain.accounts[0]
    factory = CompetitionFactory.deploy(anvil_chain, sender=host)
    key = secrets.token_bytes(32)
    params = default_params(anvil_chain, key, quorum=2)
    comp = factory.create(params, DATASET_CID, TEST_CID, prize=PRIZE, sender=host)
    game = Game(anvil_chain, comp, params, key, host)
    dashboard = TestClient(create_app(anvil_chain, factory.address, head_ttl_s=0))
    runner = CliRunner()

    def read() -> dict[str, Any]:
        cli = runner.invoke(app, ["status", comp.address, "--json"], env=env)
        assert cli.exit_code == 0, cli.output
        api = dashboard.get(f"/api/competitions/{comp.address}")
        assert api.status_code == 200, api.text
        publish_standing(comp.address)
        artifacts = {
            kind: json.loads(Artifact.get(standing.artifact_key(kind, comp.address)).data)
            for kind in standing.ARTIFACTS
        }
        return {"status": json.loads(cli.stdout), "api": api.json(), "artifacts": artifacts}

    yield game, read


def same_standing(seen: dict[str, Any]) -> dict[str, Any]:
    """Check the three views agree; return the standing as `deml status` reports it."""
    status, api, artifacts = seen["status"], seen["api"], seen["artifacts"]
    assert status["phase"] == api["phase"]
    # The dashboard adds when each submission settled; the rest of each row is the same.
    assert status["leaderboard"] == [
        {k: v for k, v in row.items() if k != "settled_at"} for row in api["leaderboard"]
    ]
    assert status["miners"] == api["miners"]
    assert status["slashed"] == [m["address"] for m in api["miners"] if m["slashed"]]
    assert status["payouts"] == api["payouts"]
    # An empty table is published as one row that says why.
    assert artifacts["leaderboard"] in (status["leaderboard"], [{"status": "no submissions yet"}])
    assert artifacts["miners"] in (status["miners"], [{"status": "no miners yet"}])
    entries = status["payouts"]["entries"] if status["payouts"] else []
    assert artifacts["payouts"] in (entries, [{"status": "not finalized yet"}])
    assert bool(entries) == (artifacts["payouts"] == entries)
    return status


def test_status_dashboard_and_artifacts_agree_at_every_phase(views: tuple[Game, Any]) -> None:
    game, read = views
    chain = game.chain
    alice, bob, carol = chain.accounts[1:4]
    honest, also_honest, silent, liar = chain.accounts[4:8]

    # SUBMIT: three entries, four miners bonded.
    for who in (alice, bob, carol):
        game.submit(who)
    for miner in (honest, also_honest, silent, liar):
        game.competition.register_miner(sender=miner)
    seen = same_standing(read())
    assert [(e["id"], e["status"]) for e in seen["leaderboard"]] == [
        (1, "committed"),
        (2, "committed"),
        (3, "committed"),
    ]
    assert [m["status"] for m in seen["miners"]] == ["registered"] * 4 and seen["slashed"] == []

    # REVEAL: two models revealed, the third never is; the host reveals the key.
    game.to_reveal()
    game.reveal(1, alice)
    game.reveal(2, bob)
    game.reveal_key()
    seen = same_standing(read())
    assert {e["id"]: e["status"] for e in seen["leaderboard"]} == {
        1: "revealed",
        2: "revealed",
        3: "committed",
    }

    # VOTE-COMMIT: every miner commits; the liar swaps the scores.
    game.to_vote_commit()
    votes = {1: HONEST[1], 2: HONEST[2]}
    for miner in (honest, also_honest, silent):
        game.commit_votes(miner, votes)
    game.commit_votes(liar, {1: HONEST[2], 2: HONEST[1]})
    seen = same_standing(read())
    assert [m["status"] for m in seen["miners"]] == ["committed"] * 4 and seen["slashed"] == []

    # VOTE-REVEAL: the silent miner never reveals; until voting ends it could still.
    game.to_vote_reveal()
    for miner in (honest, also_honest, liar):
        game.reveal_votes(miner)
    seen = same_standing(read())
    assert seen["slashed"] == []
    pending = {e["id"]: e["pending_score"] for e in seen["leaderboard"]}
    assert pending == {1: HONEST[1], 2: HONEST[2], 3: None}

    # SETTLE, nothing settled yet: the silent miner has lost its stake for certain.
    game.to_settle()
    seen = same_standing(read())
    assert seen["slashed"] == [silent.address]

    # Submissions settled: both validated, ranked; the liar is slashed once settled.
    game.competition.settle([1, 2], sender=game.host)
    for miner in (honest, also_honest, liar):
        ids, scores, salt = game.vote_salts[miner.address]
        game.competition.settle_miner(miner.address, ids, scores, salt, sender=game.host)
    seen = same_standing(read())
    assert [(e["id"], e["rank"], e["score"]) for e in seen["leaderboard"][:2]] == [
        (1, 1, HONEST[1]),
        (2, 2, HONEST[2]),
    ]
    assert seen["slashed"] == [silent.address, liar.address]
    assert seen["payouts"] is None

    # FINALIZED: alice wins; every wei is owed to someone, and claims show as they happen.
    game.competition.finalize(sender=game.host)
    seen = same_standing(read())
    assert seen["winner"] == {"address": alice.address, "id": 1}
    owed = {e["address"]: int(e["owed"]) for e in seen["payouts"]["entries"]}
    assert sum(owed.values()) == game.competition.liabilities()
    assert owed[liar.address] == owed[silent.address] == 0 and owed[alice.address] > 0
    game.claim_all([alice, honest])
    seen = same_standing(read())
    claimed = {e["address"]: int(e["claimed"]) for e in seen["payouts"]["entries"]}
    assert claimed[alice.address] == owed[alice.address] and claimed[bob.address] == 0
