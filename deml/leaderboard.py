"""A competition's standing, read from the chain: who scored what, validated or not yet."""

from __future__ import annotations

from dataclasses import dataclass

from deml.competition import Competition, Status


@dataclass(frozen=True)
class Row:
    """One revealed submission on the leaderboard."""

    submission_id: int
    owner: str
    status: str  # "validated", "rejected", or "pending" (votes in, not settled)
    correct: int | None  # the validated score, or the leading vote while pending
    votes: int
    agreeing: int
    accuracy: float | None


def leaderboard(comp: Competition) -> list[Row]:
    """Revealed submissions, best first: validated by score (ties: lower id), then the rest."""
    size = comp.params().test_set_size
    rows = []
    for submission_id in comp.revealed_ids():
        s = comp.submission(submission_id)
        status = {Status.VALIDATED: "validated", Status.REJECTED: "rejected"}.get(
            s.status, "pending"
        )
        correct = s.top_score if s.votes else None
        rows.append(
            Row(
                submission_id,
                s.owner or "",
                status,
                correct,
                s.votes,
                s.top_votes,
                None if correct is None else correct / size,
            )
        )
    rank = {"validated": 0, "pending": 1, "rejected": 2}
    return sorted(rows, key=lambda r: (rank[r.status], -(r.correct or 0), r.submission_id))
