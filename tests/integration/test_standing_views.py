"""`deml status --json`, the dashboard's JSON API and the Prefect artifacts show one standing.

A competition is played phase by phase on anvil; at each step the three views are read, as
a user reads them, and must report the same leaderboard, votes, jury (burned seats
included) and payouts.
"""

from __future__ import annotations

import json
import os
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
from deml.dashboard.app import create_app
from tasks import standing
from tests.helpers.game import Game, bond_all, create_game, deploy_factory, fund
from tests.helpers.project import ROOT

HONEST = {1: 300, 2: 200, 3: 250}  # submission id -> the score honest jurors give it


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
    """A fresh competition on a pool of eight miners, and a function that reads its views."""
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
    factory = deploy_factory(anvil_chain, host)
    miners = fund(anvil_chain, 8)
    bond_all(factory.pool(), miners)
    game = create_game(anvil_chain, factory, host, seats=7)
    game.know(miners)
    dashboard = TestClient(create_app(anvil_chain, factory.address, head_ttl_s=0))
    runner = CliRunner()
    address = game.competition.address

    def read() -> dict[str, Any]:
        cli = runner.invoke(app, ["status", address, "--json"], env=env)
        assert cli.exit_code == 0, cli.output
        api = dashboard.get(f"/api/competitions/{address}")
        assert api.status_code == 200, api.text
        publish_standing(address)
        artifacts = {
            kind: json.loads(Artifact.get(standing.artifact_key(kind, address)).data)
            for kind in standing.ARTIFACTS
        }
        return {"status": json.loads(cli.stdout), "api": api.json(), "artifacts": artifacts}

    yield game, read


def same_standing(seen: dict[str, Any]) -> dict[str, Any]:
    """Check the three views agree; return the standing as `deml status` reports it."""
    status, api, artifacts = seen["status"], seen["api"], seen["artifacts"]
    assert status["phase"] == api["phase"] and status["outcome"] == api["outcome"]
    # The dashboard adds when each submission was scored; the rest of each row is the same.
    assert status["leaderboard"] == [
        {k: v for k, v in row.items() if k != "scored_at"} for row in api["leaderboard"]
    ]
    assert status["votes"] == api["votes"]
    assert status["jurors"] == api["jurors"]
    assert status["slashed"] == list(
        dict.fromkeys(j["address"] for j in api["jurors"] if j["slashed"])
    )
    assert status["payouts"] == api["payouts"]
    # An empty table is published as one row that says why.
    assert artifacts["leaderboard"] in (status["leaderboard"], [{"status": "no submissions yet"}])
    assert artifacts["jury"] in (status["jurors"], [{"status": "no jury drawn yet"}])
    entries = status["payouts"]["entries"] if status["payouts"] else []
    assert artifacts["payouts"] in (entries, [{"status": "not finalized yet"}])
    assert bool(entries) == (artifacts["payouts"] == entries)
    return status


def test_status_dashboard_and_artifacts_agree_at_every_phase(views: tuple[Game, Any]) -> None:
    game, read = views
    chain = game.chain
    alice, bob, carol = chain.accounts[1:4]

    # SUBMIT: three entries, no jury yet.
    for who in (alice, bob, carol):
        game.submit(who)
    seen = same_standing(read())
    assert [(e["id"], e["status"]) for e in seen["leaderboard"]] == [
        (1, "committed"),
        (2, "committed"),
        (3, "committed"),
    ]
    assert seen["jurors"] == [] and seen["slashed"] == []

    # REVEAL: the jury is drawn; two models revealed, the third never is.
    game.to_reveal()
    jury = game.draw()
    game.reveal(1, alice)
    game.reveal(2, bob)
    seen = same_standing(read())
    assert {e["id"]: e["status"] for e in seen["leaderboard"]} == {
        1: "revealed",
        2: "revealed",
        3: "committed",
    }
    assert sum(j["backed"] for j in seen["jurors"]) == sum(jury.values()) == 7

    # KEY, then VOTE-COMMIT: the host reveals the key; every juror commits but one; the
    # juror with the fewest seats commits a lie.
    game.to_key()
    game.reveal_key()
    # The two jurors with the fewest seats misbehave, so the honest ones keep a majority (a
    # draw of 7 seats from 8 equal bonds almost always spreads them that far).
    ranked = sorted(jury, key=lambda j: (jury[j], j))
    liar, silent = ranked[0], ranked[1]
    assert sum(jury[j] for j in ranked[2:]) >= 4, f"an unlucky draw: {jury}"
    honest = {1: HONEST[1], 2: HONEST[2]}
    lie = {1: HONEST[2], 2: HONEST[1]}
    for juror in jury:
        if juror != silent:
            game.commit(juror, lie if juror == liar else honest)
    seen = same_standing(read())
    assert seen["phase"] == "vote_commit" and seen["slashed"] == []

    # VOTE-REVEAL: the reveals come in; until voting ends nobody's seats are lost.
    game.to_vote_reveal()
    for juror in jury:
        if juror != silent:
            game.reveal_vote(juror)
    seen = same_standing(read())
    assert seen["slashed"] == [] and {v["seats"] for v in seen["votes"]} >= {jury[liar]}

    # SETTLE: the honest vote has a majority: the liar and the silent juror lose their seats;
    # the scores appear as the winning vector is published.
    game.to_tally()
    seen = same_standing(read())
    assert seen["phase"] == "settle"
    assert sorted(seen["slashed"]) == sorted([liar, silent])
    assert all(e["score"] is None for e in seen["leaderboard"])
    game.publish_all()
    seen = same_standing(read())
    assert [(e["id"], e["rank"], e["score"]) for e in seen["leaderboard"][:2]] == [
        (1, 1, HONEST[1]),
        (2, 2, HONEST[2]),
    ]
    assert seen["payouts"] is None

    # FINALIZED: alice wins; every wei is owed to someone, and claims show as they happen.
    game.finalize()
    seen = same_standing(read())
    assert seen["winner"] == {"address": alice.address, "id": 1}
    owed = {e["address"]: int(e["owed"]) for e in seen["payouts"]["entries"]}
    assert sum(owed.values()) == game.competition.liabilities()
    assert owed[liar] == owed.get(silent, 0) == 0 and owed[alice.address] > 0
    game.settle_jurors()
    game.claim_all([alice])
    seen = same_standing(read())
    claimed = {e["address"]: int(e["claimed"]) for e in seen["payouts"]["entries"]}
    assert claimed[alice.address] == owed[alice.address] and claimed[bob.address] == 0
    assert {j["address"]: j["reward"] for j in seen["jurors"]}[liar] == "0"
