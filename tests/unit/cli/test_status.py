"""`deml status` as a user reads it: the leaderboard, and a blob reveal's versioned hashes."""

from __future__ import annotations

import pytest

from deml.cli.status import print_report

HASHES = ["0x01" + "ab" * 31, "0x01" + "cd" * 31]


def report(mode: str) -> dict:
    row = {
        "id": 1, "owner": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "status": "revealed",
        "rank": 1, "score": 434, "scored_by": "root", "accuracy": 434 / 450, "winner": True,
        "size": 163_207, "committed_block": 30, "revealed_in": mode,
        "versioned_hashes": HASHES if mode == "blob" else [],
    }  # fmt: skip
    return {
        "competition": "0x8EFa1819Ff5B279077368d44B593a4543280e402",
        "phase": "finalized", "outcome": "winner", "round": 1, "deadlines": {},
        "chain_time": None, "test_set_size": 450, "reveal_mode": mode, "leaderboard": [row],
        "winner": {"address": row["owner"], "id": 1}, "votes": [], "jurors": [],
        "slashed": [], "payouts": None, "balance": "0",
    }  # fmt: skip


def test_status_names_the_blobs_of_each_reveal(capsys: pytest.CaptureFixture[str]) -> None:
    print_report(report("blob"))
    shown = capsys.readouterr().out
    assert "revealed in EIP-4844 blobs" in shown
    assert f"1: {HASHES[0]}, {HASHES[1]}" in shown
    print_report(report("calldata"))
    assert "blobs" not in capsys.readouterr().out
