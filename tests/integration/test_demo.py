"""The demo's competition under pytest: every role a Prefect flow, on a real anvil node."""

from __future__ import annotations

import json
from pathlib import Path

from prefect.artifacts import Artifact

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.roles import tracking
from deml.settings import load_settings
from flows.demo import COMPETITORS, DISHONEST_MINER, HONEST_MINERS, TEMPLATE, demo_flow
from tasks.standing import artifact_key

ETHER = 10**18


def test_demo_competition(role_env: Path) -> None:
    summary = demo_flow(project=str(role_env), epochs=6)
    signers = accounts.from_mnemonic(DEV_MNEMONIC)
    board = summary["leaderboard"]
    submissions = sum(len(models) for models in COMPETITORS.values())
    assert len(board) == submissions and all(r["status"] == "validated" for r in board)

    # The winner is the best validated submission (a tie goes to the lower id).
    best = min(board, key=lambda r: (-r["score"], r["id"]))
    assert best["rank"] == 1 and best["winner"]
    assert summary["winner"] == {"address": best["owner"], "id": best["id"]}

    # The cheat is slashed and earns nothing; the honest miners are paid.
    cheat = signers[DISHONEST_MINER].address
    assert summary["slashed"] == [cheat]
    owed = {e["address"]: int(e["owed"]) for e in summary["payouts"]["entries"]}
    assert owed[cheat] == 0
    assert all(owed[signers[m].address] > 0 for m in HONEST_MINERS)

    # Every wei of the pool went out, and was claimed: prize, buy-ins and stakes.
    pool = (
        TEMPLATE["prize_eth"] * ETHER
        + submissions * ETHER * 1 // 10
        + (len(HONEST_MINERS) + 1) * ETHER // 2
    )
    assert sum(owed.values()) == pool
    assert all(e["claimable"] == "0" for e in summary["payouts"]["entries"])
    assert summary["balance"] == "0"
    assert summary["duration_s"] > 0

    # MLflow: one run per submission, each with its verified score.
    tracking.configure(load_settings().resolved_mlflow_uri)
    runs = tracking.runs_for_competition(summary["competition"])
    verified = {r["submission_id"]: r["verified_correct"] for r in runs}
    assert verified == {r["id"]: r["score"] for r in board}
    assert all(r["val_accuracy"] is not None for r in runs)

    # Prefect: the standing is published as table artifacts, the same rows as the summary.
    key = artifact_key("leaderboard", summary["competition"])
    artifact = Artifact.get(key)
    assert artifact is not None and artifact.type == "table"
    assert json.loads(artifact.data) == board
    assert (Path(load_settings().state_dir) / "demo-summary.json").is_file()
