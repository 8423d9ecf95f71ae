"""The demo's competition under pytest: every role a Prefect flow, on a real anvil node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prefect.artifacts import Artifact

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.roles import tracking
from deml.settings import load_settings
from flows.demo import COMPETITORS, DISHONEST_MINER, HONEST_MINERS, TEMPLATE, demo_flow
from tasks.standing import artifact_key

ETHER = 10**18


@pytest.mark.slow
def test_demo_competition(role_env: Path) -> None:
    summary = demo_flow(project=str(role_env), epochs=6)
    signers = accounts.from_mnemonic(DEV_MNEMONIC)
    board = summary["leaderboard"]
    submissions = sum(len(models) for models in COMPETITORS.values())
    # Every model revealed, and scored by the jury's winning vector (published on chain).
    assert len(board) == submissions
    assert all(r["status"] == "revealed" and r["scored_by"] == "root" for r in board)

    # Every model travelled in blobs; the wide MLP, too large for a calldata reveal (96 KiB),
    # was fetched from them, scored, and won on merit.
    assert summary["reveal_mode"] == "blob"
    assert all(r["revealed_in"] == "blob" and r["versioned_hashes"] for r in board)
    largest = max(board, key=lambda r: r["size"])
    assert largest["size"] > 98_304 and len(largest["versioned_hashes"]) == 2
    assert largest["winner"] and largest["score"] > max(
        r["score"] for r in board if r is not largest
    )

    # The winner is the best score (a tie goes to the lower id).
    best = min(board, key=lambda r: (-r["score"], r["id"]))
    assert best["rank"] == 1 and best["winner"]
    assert summary["outcome"] == "winner"
    assert summary["winner"] == {"address": best["owner"], "id": best["id"]}

    # A 21-seat jury was drawn from the pool; the majority's vote won. The cheat, when
    # drawn, voted another vector: its seats are burned and it earns nothing.
    jurors = {j["address"]: j for j in summary["jurors"]}
    assert sum(j["seats"] for j in jurors.values()) == TEMPLATE["seats"]
    cheat = signers[DISHONEST_MINER].address
    honest = [signers[m].address for m in HONEST_MINERS]
    assert all(not jurors[h]["slashed"] for h in honest if h in jurors)
    if cheat in jurors:
        assert jurors[cheat]["slashed"] and summary["slashed"] == [cheat]
        assert jurors[cheat]["reward"] == "0"
    else:
        assert summary["slashed"] == []
    assert [v["majority"] for v in summary["votes"]].count(True) == 1

    # Every wei the competition took in went out: paid, or burned.
    owed = {e["address"]: int(e["owed"]) for e in summary["payouts"]["entries"]}
    assert all(e["claimable"] == "0" for e in summary["payouts"]["entries"])
    assert sum(owed.values()) + int(summary["payouts"]["burned"]) == (
        2 * TEMPLATE["prize_eth"] * ETHER  # the prize, and the host bond (back: a winner)
        + 2 * ETHER // 100  # the draw bounties: one earned, one back to the host
        + ETHER // 100  # the publication bounty
        + submissions * ETHER // 10  # the buy-ins
    )
    assert summary["balance"] == "0"
    assert summary["duration_s"] > 0

    # MLflow: one run per submission, each with its verified score.
    tracking.configure(load_settings().resolved_mlflow_uri)
    runs = tracking.runs_for_competition(summary["competition"])
    verified = {r["submission_id"]: r["verified_correct"] for r in runs}
    assert verified == {r["id"]: r["score"] for r in board}
    assert all(r["val_accuracy"] is not None for r in runs)

    # Prefect: the standing is published as table artifacts, the same rows as the summary.
    artifact = Artifact.get(artifact_key("leaderboard", summary["competition"]))
    assert artifact is not None and artifact.type == "table"
    assert json.loads(artifact.data) == board
    assert (Path(load_settings().state_dir) / "demo-summary.json").is_file()
