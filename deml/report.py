"""One competition's state as plain data: what `deml status`, the demo and flows print."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from deml.competition import Competition, MinerStatus, Phase
from deml.leaderboard import leaderboard


def payouts(comp: Competition) -> dict[str, int]:
    """Wei paid out so far, by the account that claimed it (from the Claimed events)."""
    paid: dict[str, int] = {}
    for log in comp.contract.events.Claimed().get_logs(from_block=0):
        account = str(log["args"]["account"])
        paid[account] = paid.get(account, 0) + int(log["args"]["amount"])
    return paid


def slashed(comp: Competition) -> list[str]:
    """Miners who lost their stake: outvoted, or committed without revealing."""
    miners = {
        str(log["args"]["miner"])
        for log in comp.contract.events.MinerRegistered().get_logs(from_block=0)
    }
    # A committed miner has lost its stake only once the competition is final.
    final = comp.phase() == Phase.FINALIZED
    lost = []
    for miner in sorted(miners):
        status = comp.participant(miner).miner_status
        if status == MinerStatus.SLASHED or (status == MinerStatus.COMMITTED and final):
            lost.append(miner)
    return lost


def report(comp: Competition) -> dict[str, Any]:
    """Phase, deadlines, leaderboard, winner, payouts, slashes and the balance, in one dict."""
    summary = comp.summary()
    params = comp.params()
    winner = None
    if summary.best_id:
        owner = comp.submission(summary.best_id).owner
        winner = {"address": owner, "submission_id": summary.best_id}
    return {
        "competition": comp.address,
        "phase": summary.phase.name.lower(),
        "outcome": summary.outcome.name.lower(),
        "deadlines": {
            "submit": params.submit_deadline,
            "reveal": params.reveal_deadline,
            "vote_commit": params.vote_commit_deadline,
            "vote_reveal": params.vote_reveal_deadline,
        },
        "prize_wei": summary.prize,
        "pool_wei": summary.pool,
        "test_set_size": params.test_set_size,
        "leaderboard": [
            {
                "submission_id": r.submission_id,
                "owner": r.owner,
                "status": r.status,
                "verified_correct": r.correct if r.status == "validated" else None,
                "leading_score": r.correct,
                "votes": r.votes,
            }
            for r in leaderboard(comp)
        ],
        "winner": winner,
        "payouts": payouts(comp),
        "slashed": slashed(comp),
        "final_balance_wei": comp.chain.balance(comp.address),
        "summary": {
            k: (v.name.lower() if hasattr(v, "name") else v) for k, v in asdict(summary).items()
        },
    }
