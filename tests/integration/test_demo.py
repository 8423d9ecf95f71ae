"""The demo's competition under pytest: every role a Prefect flow, on a real anvil node."""

from __future__ import annotations

import json
from pathlib import Path

from prefect.artifacts import Artifact

from deml import account, tracking
from deml.chain import DEV_MNEMONIC
from deml.settings import load_settings
from flows.demo import COMPETITORS, DISHONEST_MINER, HONEST_MINERS, TEMPLATE, demo_flow

ETHER = 10**18


def test_demo_competition(role_env: Path) -> None:
    summary = demo_flow(project=str(role_env), epochs=6)
    accounts = account.from_mnemonic(DEV_MNEMONIC)
    board = summary["leaderboard"]
    submissions = sum(len(models) for models in COMPETITORS.values())
    assert len(board) == submissions and all(r["status"] == "validated" for r in board)

    # The winner is the best validated submission (a tie goes to the lower id).
    best = min(board, key=lambda r: (-r["verified_correct"], r["submission_id"]))
    assert summary["winner"] == {"address": best["owner"], "submission_id": best["submission_id"]}

    # The cheat is slashed and earns nothing; the honest miners are paid.
    cheat = accounts[DISHONEST_MINER].address
    assert summary["slashed"] == [cheat]
    assert cheat not in summary["payouts"]
    assert {accounts[m].address for m in HONEST_MINERS} <= set(summary["payouts"])

    # Every wei of the pool went out: prize, buy-ins and stakes.
    pool = (
        TEMPLATE["prize_eth"] * ETHER
        + submissions * ETHER * 1 // 10
        + (len(HONEST_MINERS) + 1) * ETHER // 2
    )
    assert sum(summary["payouts"].values()) == pool
    assert summary["final_balance_wei"] == 0
    assert summary["duration_s"] > 0

    # MLflow: one run per submission, each with its verified score.
    tracking.configure(load_settings().resolved_mlflow_uri)
    runs = tracking.runs_for_competition(summary["competition"])
    verified = {r["submission_id"]: r["verified_correct"] for r in runs}
    assert verified == {r["submission_id"]: r["verified_correct"] for r in board}
    assert all(r["val_accuracy"] is not None for r in runs)

    # Prefect: the miners published the leaderboard as a table artifact.
    key = f"leaderboard-{summary['competition'].lower()[2:12]}"
    artifact = Artifact.get(key)
    assert artifact is not None and artifact.type == "table"
    assert any(row["submission"] == best["submission_id"] for row in json.loads(artifact.data))
    assert (Path(load_settings().state_dir) / "demo-summary.json").is_file()
