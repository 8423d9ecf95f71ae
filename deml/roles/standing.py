"""A competition's standing: its leaderboard, its miners (who is slashed, and why) and who is
owed what. The one place these rules live.

`deml status`, the demo summary, the Prefect artifacts and the dashboard all call these
functions, each with its own `Source`: the binding itself (`Competition` reads the chain
directly), or the dashboard's block-cached reader. The rows are JSON-ready as they are:
amounts are decimal strings of wei (JSON numbers lose precision above 2**53), enums are
lower-case names.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from deml.contracts import types
from deml.contracts.types import MinerStatus, Phase, Status, Summary


class Source(Protocol):
    """What the standing reads: a competition's views and events, all at one block."""

    @property
    def address(self) -> str: ...
    def host(self) -> str: ...
    def params(self) -> types.Params: ...
    def summary(self) -> Summary: ...
    def submission(self, submission_id: int) -> types.Submission: ...
    def participant(self, account: str) -> types.Participant: ...
    def claimable(self, account: str) -> int: ...
    def commits(self) -> list[types.SubmissionCommitted]: ...
    def registrations(self) -> list[types.MinerRegistered]: ...
    def miner_settlements(self) -> list[types.MinerSettled]: ...
    def finalizations(self) -> list[types.Finalized]: ...
    def claims(self) -> list[types.Claimed]: ...


@dataclass(frozen=True)
class LeaderboardEntry:
    """One submission on the leaderboard."""

    id: int
    owner: str  # the committer (the contract records the owner only from the reveal)
    status: str  # committed, revealed, rejected or validated
    rank: int | None  # validated submissions only
    score: int | None  # the validated score
    pending_score: int | None  # the most common score voted so far, before settlement
    votes: int
    top_votes: int
    accuracy: float | None  # (validated or pending) score / test set size
    winner: bool  # after finalization only; until then rank 1 is the leader
    size: int
    committed_block: int


@dataclass(frozen=True)
class MinerEntry:
    """One miner: its votes' agreement with the validated scores, and its stake."""

    address: str
    status: str
    agreeing: int | None  # from its MinerSettled event: None until it is settled
    disagreeing: int | None
    agreement: float | None  # agreeing / (agreeing + disagreeing), once settled
    slashed: bool
    slash_reason: str | None


@dataclass(frozen=True)
class PayoutEntry:
    """What one account is owed after finalization, in all its roles."""

    address: str
    roles: list[str]
    owed: str  # claimed + claimable
    claimed: str
    claimable: str


@dataclass(frozen=True)
class Payouts:
    """How the pool was split (the Finalized event and the summary), and each account's part."""

    outcome: str
    winner_id: int | None
    winner_amount: str
    reward_per_vote: str
    host_amount: str
    entries: list[PayoutEntry]


@dataclass(frozen=True)
class Standing:
    """Everything the rules say about a competition at one block."""

    phase: Phase
    leaderboard: list[LeaderboardEntry]
    miners: list[MinerEntry]
    payouts: Payouts | None  # after finalization

    @property
    def slashed(self) -> list[str]:
        """The miners who lost (or have certainly lost) their stake."""
        return [m.address for m in self.miners if m.slashed]

    @property
    def winner(self) -> LeaderboardEntry | None:
        return next((e for e in self.leaderboard if e.winner), None)


def standing(source: Source) -> Standing:
    """The leaderboard, the miners and the payouts of one competition."""
    summary = source.summary()
    return Standing(
        summary.phase, leaderboard(source, summary), miners(source, summary), payouts(source)
    )


def leaderboard(source: Source, summary: Summary | None = None) -> list[LeaderboardEntry]:
    """Every submission: validated ones ranked by score (a tie goes to the lower id, as in the
    contract), then revealed ones with votes by their pending score, then the rest by id."""
    summary = summary or source.summary()
    size = source.params().test_set_size
    # Until finalization the best id is only the current leader.
    winner_id = summary.best_id if summary.phase == Phase.FINALIZED else 0
    entries = []
    for commit in source.commits():
        sub = source.submission(commit.id)
        validated = sub.status == Status.VALIDATED
        score = sub.top_score if validated else None
        pending = sub.top_score if sub.status == Status.REVEALED and sub.votes else None
        shown = score if validated else pending
        entries.append(
            LeaderboardEntry(
                id=commit.id,
                owner=commit.committer,
                status=sub.status.label,
                rank=None,
                score=score,
                pending_score=pending,
                votes=sub.votes,
                top_votes=sub.top_votes,
                accuracy=None if shown is None or size == 0 else shown / size,
                winner=validated and commit.id == winner_id,
                size=sub.size,
                committed_block=commit.log.block_number,
            )
        )
    return _ranked(entries)


def slash_reason(status: MinerStatus, phase: Phase) -> str | None:
    """Why a miner loses its stake, or None while it keeps it."""
    if status == MinerStatus.SLASHED:
        return "most of its votes disagreed with the validated scores"
    # Once voting is over a committed vote can no longer be revealed: its stake is lost,
    # whatever settlement still has to do.
    if status == MinerStatus.COMMITTED and phase >= Phase.SETTLE:
        return "committed votes but never revealed them"
    return None


def miners(source: Source, summary: Summary | None = None) -> list[MinerEntry]:
    """Every registered miner, in registration order, with its agreement and stake."""
    phase = (summary or source.summary()).phase
    settled = {s.miner: s for s in source.miner_settlements()}
    entries = []
    for registration in source.registrations():
        address = registration.miner
        status = source.participant(address).miner_status
        result = settled.get(address)
        counted = result.agreeing + result.disagreeing if result else 0
        reason = slash_reason(status, phase)
        entries.append(
            MinerEntry(
                address=address,
                status=status.label,
                agreeing=result.agreeing if result else None,
                disagreeing=result.disagreeing if result else None,
                agreement=result.agreeing / counted if result and counted else None,
                slashed=reason is not None,
                slash_reason=reason,
            )
        )
    return entries


def claimed(claims: list[types.Claimed]) -> dict[str, int]:
    """Wei claimed so far, by the account that was owed it."""
    paid: dict[str, int] = defaultdict(int)
    for claim in claims:
        paid[claim.account] += claim.amount
    return dict(paid)


def payouts(source: Source) -> Payouts | None:
    """After finalization: the split, and what each account is owed, has claimed and can
    still claim (owed = claimed + claimable), largest first; None before."""
    finals = source.finalizations()
    if not finals:
        return None
    final = finals[0]
    roles: dict[str, list[str]] = {source.host(): ["host"]}
    for commit in source.commits():
        roles.setdefault(commit.committer, []).append("competitor")
    for registration in source.registrations():
        roles.setdefault(registration.miner, []).append("miner")
    paid = claimed(source.claims())
    entries = []
    for account, account_roles in roles.items():
        claimable = source.claimable(account)
        done = paid.get(account, 0)
        entries.append(
            PayoutEntry(
                address=account,
                roles=sorted(set(account_roles)),
                owed=str(done + claimable),
                claimed=str(done),
                claimable=str(claimable),
            )
        )
    entries.sort(key=lambda e: (-int(e.owed), e.address))
    return Payouts(
        outcome=final.outcome.label,
        winner_id=final.winner_id or None,
        winner_amount=str(final.winner_amount),
        reward_per_vote=str(final.reward_per_vote),
        host_amount=str(final.host_amount),
        entries=entries,
    )


def report(source: Source, balance: int) -> dict[str, Any]:
    """One competition as JSON-ready data: what `deml status --json` prints and the demo
    writes. `balance` is the wei the contract holds (0 once everyone has claimed)."""
    summary = source.summary()
    params = source.params()
    now = standing(source)
    winner = now.winner
    return {
        "competition": source.address,
        "phase": summary.phase.label,
        "outcome": summary.outcome.label,
        "deadlines": {
            phase.label: params.deadline(phase)
            for phase in Phase
            if params.deadline(phase) is not None
        },
        "prize": str(summary.prize),
        "pool": str(summary.pool),
        "test_set_size": params.test_set_size,
        "leaderboard": [asdict(e) for e in now.leaderboard],
        "winner": None if winner is None else {"address": winner.owner, "id": winner.id},
        "miners": [asdict(m) for m in now.miners],
        "slashed": now.slashed,
        "payouts": None if now.payouts is None else asdict(now.payouts),
        "balance": str(balance),
    }


def _ranked(entries: list[LeaderboardEntry]) -> list[LeaderboardEntry]:
    validated = sorted(
        (e for e in entries if e.score is not None), key=lambda e: (-(e.score or 0), e.id)
    )
    pending = sorted(
        (e for e in entries if e.score is None and e.pending_score is not None),
        key=lambda e: (-(e.pending_score or 0), e.id),
    )
    rest = sorted(
        (e for e in entries if e.score is None and e.pending_score is None), key=lambda e: e.id
    )
    return [replace(e, rank=i) for i, e in enumerate(validated, start=1)] + pending + rest
