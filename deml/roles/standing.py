"""A competition's standing: its leaderboard, its juries (who keeps its stake, who loses it,
and why), its votes, and who is owed what. The one place these rules live in Python.

`deml status`, the demo summary, the Prefect artifacts and the dashboard all call these
functions, each with its own `Source`: the binding itself (`Competition` reads the chain
directly), or the dashboard's block-cached reader. The rows are JSON-ready as they are:
amounts are decimal strings of wei (JSON numbers lose precision above 2**53), enums are
lower-case names, hashes 0x-hex.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from deml.contracts import types
from deml.contracts.score_tree import unpack
from deml.contracts.types import HOST_FAULT, Outcome, Phase, RevealMode, Status, Summary


class Source(Protocol):
    """What the standing reads: a competition's views and events, all at one block."""

    @property
    def address(self) -> str: ...
    def host(self) -> str: ...
    def params(self) -> types.Params: ...
    def summary(self) -> Summary: ...
    def submission(self, submission_id: int) -> types.Submission: ...
    def round(self, r: int) -> types.Round: ...
    def seat(self, r: int, juror: str) -> types.Seat: ...
    def claimable(self, account: str) -> int: ...
    def commits(self) -> list[types.SubmissionCommitted]: ...
    def blob_reveals(self) -> list[types.ModelRevealedInBlobs]: ...
    def juries(self) -> list[types.JuryDrawn]: ...
    def vote_reveals(self) -> list[types.VoteRevealed]: ...
    def scores_published(self) -> list[types.ScoresPublished]: ...
    def submission_settlements(self) -> list[types.SubmissionSettled]: ...
    def juror_settlements(self) -> list[types.JurorSettled]: ...
    def credits(self) -> list[types.Credited]: ...
    def claims(self) -> list[types.Claimed]: ...


@dataclass(frozen=True)
class LeaderboardEntry:
    """One submission on the leaderboard."""

    id: int
    owner: str  # the committer (the contract records the owner only from the reveal)
    status: str  # committed or revealed
    rank: int | None  # scored submissions only
    score: int | None  # from the winning vector's published leaves, or a tally
    # "root" (the winning vector), "tally" (its own majority), or "no majority" (a tally that
    # found none: it scores 0 and is not ranked)
    scored_by: str | None
    accuracy: float | None  # score / test set size
    winner: bool  # after finalization only; until then rank 1 is the leader
    size: int
    committed_block: int
    # How the model was revealed: "calldata" or "blob" (None until revealed), and in blob mode
    # the versioned hashes of its blobs (0x-hex), which name them on any beacon node.
    revealed_in: str | None = None
    versioned_hashes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VoteEntry:
    """One distinct vote of one round, and the seats behind it."""

    round: int
    vote: str  # 0x-hex: a vector's vote hash, or HOST_FAULT's
    host_fault: bool
    root: str | None
    winner_id: int | None
    winner_score: int | None
    seats: int
    leads: bool  # the vote with the most seats
    majority: bool  # a strict majority of all seats


@dataclass(frozen=True)
class JurorEntry:
    """One juror of one round: its seats, its vote, and whether it keeps its stake."""

    round: int
    address: str
    seats: int
    backed: int  # seats backed by a unit it locked in the pool: its voting weight
    state: str  # none, committed, revealed, settled
    vote: str | None  # 0x-hex, once revealed
    slashed: bool  # its backed seats are (or will certainly be) burned
    slash_reason: str | None
    reward: str | None  # wei credited at its settlement (None until settled)


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
    """How the pool was split (the summary), and each account's part."""

    outcome: str
    winner_id: int | None
    winner_amount: str
    jury_amount: str
    per_seat: str
    prize_per_reveal: str
    burned: str
    entries: list[PayoutEntry]


@dataclass(frozen=True)
class Standing:
    """Everything the rules say about a competition at one block."""

    phase: Phase
    outcome: Outcome
    leaderboard: list[LeaderboardEntry]
    votes: list[VoteEntry]
    jurors: list[JurorEntry]
    payouts: Payouts | None  # after finalization

    @property
    def slashed(self) -> list[str]:
        """The jurors who lost (or have certainly lost) seats, once each."""
        return list(dict.fromkeys(j.address for j in self.jurors if j.slashed))

    @property
    def winner(self) -> LeaderboardEntry | None:
        return next((e for e in self.leaderboard if e.winner), None)


def standing(source: Source) -> Standing:
    """The leaderboard, the votes, the jurors and the payouts of one competition."""
    summary = source.summary()
    return Standing(
        summary.phase,
        summary.outcome,
        leaderboard(source, summary),
        votes(source, summary),
        jurors(source, summary),
        payouts(source, summary),
    )


def scores(source: Source, summary: Summary) -> dict[int, tuple[int, str]]:
    """Each scored submission's score and how it was scored: the winning vector's published
    leaves (the root that won), or a tally's validated scores (a tally scores the others 0)."""
    found: dict[int, tuple[int, str]] = {}
    r = summary.round
    for chunk in source.scores_published():
        if chunk.round == r:
            for leaf in unpack(chunk.leaves):
                found[leaf.id] = (leaf.score, "root")
    for settled in source.submission_settlements():
        if settled.round == r:
            found[settled.id] = (settled.score, "tally" if settled.validated else "no majority")
    return found


def leaderboard(source: Source, summary: Summary | None = None) -> list[LeaderboardEntry]:
    """Every submission: scored ones ranked by score (a tie goes to the lower id, as in the
    contract), then the others by id."""
    summary = summary or source.summary()
    size = source.params().test_set_size
    # Until finalization the best id is only the current leader.
    winner_id = summary.winner_id if summary.outcome == Outcome.WINNER else 0
    known = scores(source, summary)
    in_blobs = {
        r.id: ["0x" + h.hex() for h in r.versioned_hashes]
        for r in (source.blob_reveals() if source.params().reveal_mode == RevealMode.BLOB else [])
    }
    entries = []
    for commit in source.commits():
        sub = source.submission(commit.id)
        revealed = sub.status == Status.REVEALED
        score, scored_by = known.get(commit.id, (None, None))
        entries.append(
            LeaderboardEntry(
                id=commit.id,
                owner=commit.committer,
                status=sub.status.label,
                rank=None,
                score=score,
                scored_by=scored_by,
                accuracy=None if score is None or size == 0 else score / size,
                winner=commit.id == winner_id,
                size=sub.size,
                committed_block=commit.log.block_number,
                revealed_in=("blob" if commit.id in in_blobs else "calldata") if revealed else None,
                versioned_hashes=in_blobs.get(commit.id, []),
            )
        )
    ranked = [e for e in entries if e.scored_by in ("root", "tally")]
    scored = sorted(ranked, key=lambda e: (-(e.score or 0), e.id))
    rest = sorted((e for e in entries if e not in ranked), key=lambda e: e.id)
    return [replace(e, rank=i) for i, e in enumerate(scored, start=1)] + rest


def votes(source: Source, summary: Summary | None = None) -> list[VoteEntry]:
    """Each round's distinct revealed votes, most seats first."""
    summary = summary or source.summary()
    seats: dict[tuple[int, bytes], int] = defaultdict(int)
    shown: dict[tuple[int, bytes], types.VoteRevealed] = {}
    for revealed in source.vote_reveals():
        key = (revealed.round, revealed.vote)
        seats[key] += revealed.seats
        shown.setdefault(key, revealed)
    entries = []
    for (r, vote), count in seats.items():
        round_ = source.round(r)
        first = shown[(r, vote)]
        fault = vote == HOST_FAULT
        entries.append(
            VoteEntry(
                round=r,
                vote="0x" + vote.hex(),
                host_fault=fault,
                root=None if fault else "0x" + first.root.hex(),
                winner_id=None if fault else first.winner_id,
                winner_score=None if fault else first.winner_score,
                seats=count,
                leads=vote == round_.leader,
                majority=vote == round_.leader and round_.majority,
            )
        )
    return sorted(entries, key=lambda v: (v.round, -v.seats, v.vote))


def slash_reason(
    summary: Summary, round_: types.Round, seat: types.Seat, r: int, vote: bytes | None
) -> str | None:
    """Why a juror's backed seats in round `r` are burned, or None while it keeps them: the
    contract's rule (Competition._jurorOutcome), known as soon as it is certain. `vote` is
    what it revealed (None: nothing)."""
    # Nothing was put to a vote: no model revealed, or no key to score them with.
    if seat.backed == 0 or summary.revealed == 0 or not summary.key_revealed:
        return None
    if r != summary.round:
        # The first vote of a re-vote: only the absent lose their seats.
        return None if vote is not None else "drafted for the first vote, never revealed a vote"
    if not (round_.drawn and _past(summary)):
        return None
    if vote is None:
        return "drafted, never revealed a vote"
    if round_.majority:
        return None if vote == round_.leader else "voted against the majority's vote"
    if vote == HOST_FAULT:
        winner = summary.outcome == Outcome.WINNER
        return "voted HOST_FAULT; the tally named a winner" if winner else None
    if seat.cursor != summary.revealed and summary.phase not in (Phase.VOTE_REVEAL, Phase.TALLY):
        return "its vector was not published in the tally"
    if seat.dissent:
        return "its vector disagreed with a validated score"
    return None


def jurors(source: Source, summary: Summary | None = None) -> list[JurorEntry]:
    """Every juror of every drawn vote, in draw order. A settled juror's fate is the chain's
    (its JurorSettled event); before that, the rule's."""
    summary = summary or source.summary()
    votes = {(v.round, v.juror): v.vote for v in source.vote_reveals()}
    settled = {(s.round, s.juror): s for s in source.juror_settlements()}
    entries = []
    for drawn in types.whole_juries(source.juries()):
        round_ = source.round(drawn.round)
        for juror in dict.fromkeys(drawn.jurors):
            seat = source.seat(drawn.round, juror)
            vote = votes.get((drawn.round, juror))
            reason = slash_reason(summary, round_, seat, drawn.round, vote)
            done = settled.get((drawn.round, juror))
            if done is not None and done.burned and reason is None:
                reason = "its seats were burned at settlement"
            slashed = bool(done.burned) if done is not None else reason is not None
            entries.append(
                JurorEntry(
                    round=drawn.round,
                    address=juror,
                    seats=drawn.jurors.count(juror),
                    backed=seat.backed,
                    state=seat.state.label,
                    vote=None if vote is None else "0x" + vote.hex(),
                    slashed=slashed,
                    slash_reason=reason if slashed else None,
                    reward=None if done is None else str(done.reward),
                )
            )
    return entries


def claimed(claims: list[types.Claimed]) -> dict[str, int]:
    """Wei claimed so far, by the account that was owed it."""
    paid: dict[str, int] = defaultdict(int)
    for claim in claims:
        paid[claim.account] += claim.amount
    return dict(paid)


def payouts(source: Source, summary: Summary | None = None) -> Payouts | None:
    """After finalization: the split, and what each account is owed, has claimed and can
    still claim (owed = claimed + claimable), largest first; None before."""
    summary = summary or source.summary()
    if summary.phase != Phase.FINALIZED:
        return None
    roles: dict[str, list[str]] = {source.host(): ["host"]}
    for commit in source.commits():
        roles.setdefault(commit.committer, []).append("competitor")
    for drawn in source.juries():
        for juror in drawn.jurors:
            roles.setdefault(juror, []).append("juror")
    for credit in source.credits():
        if credit.reason in ("draw", "publish"):
            roles.setdefault(credit.account, []).append("bounty")
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
        outcome=summary.outcome.label,
        winner_id=summary.winner_id or None if summary.outcome == Outcome.WINNER else None,
        winner_amount=str(summary.winner_amount),
        jury_amount=str(summary.jury_amount),
        per_seat=str(summary.per_seat),
        prize_per_reveal=str(summary.prize_per_reveal),
        burned=str(summary.burned),
        entries=entries,
    )


def phase_deadline(phase: Phase, params: types.Params, round_: types.Round) -> int | None:
    """When `phase` ends: fixed at creation up to the key; for the votes, the current round's
    windows (a re-vote's are set when its jury is drawn). None for the phases a call ends."""
    if phase in (Phase.SUBMIT, Phase.REVEAL, Phase.KEY):
        return params.deadline(phase)
    ends = {
        Phase.VOTE_COMMIT: round_.commit_deadline,
        Phase.VOTE_REVEAL: round_.reveal_deadline,
        Phase.TALLY: round_.tally_deadline,
    }
    if phase not in ends:
        return None
    if round_.drawn:
        return ends[phase]
    return {
        Phase.VOTE_COMMIT: params.vote_commit_deadline,
        Phase.VOTE_REVEAL: params.vote_reveal_deadline,
        Phase.TALLY: params.vote_reveal_deadline + params.tally_duration,
    }[phase]


def next_deadline(source: Source, now: int) -> int | None:
    """The first phase deadline after `now` (chain time), or None when none is ahead."""
    params = source.params()
    round_ = source.round(source.summary().round)
    deadlines = (phase_deadline(phase, params, round_) for phase in Phase)
    return min((at for at in deadlines if at is not None and at > now), default=None)


def report(source: Source, balance: int, chain_time: int | None = None) -> dict[str, Any]:
    """One competition as JSON-ready data: what `deml status --json` prints and the demo
    writes. `balance` is the wei the contract holds (0 once everyone has claimed);
    `chain_time`, the latest block's time, which the deadlines are counted from."""
    summary = source.summary()
    params = source.params()
    round_ = source.round(summary.round)
    now = standing(source)
    winner = now.winner
    return {
        "competition": source.address,
        "phase": summary.phase.label,
        "outcome": summary.outcome.label,
        "round": summary.round,
        "deadlines": {
            phase.label: at
            for phase in Phase
            if (at := phase_deadline(phase, params, round_)) is not None
        },
        "prize": str(summary.prize),
        "pool": str(summary.pool),
        "test_set_size": params.test_set_size,
        "reveal_mode": params.reveal_mode.label,
        "leaderboard": [asdict(e) for e in now.leaderboard],
        "winner": None if winner is None else {"address": winner.owner, "id": winner.id},
        "votes": [asdict(v) for v in now.votes],
        "jurors": [asdict(j) for j in now.jurors],
        "slashed": now.slashed,
        "payouts": None if now.payouts is None else asdict(now.payouts),
        "balance": str(balance),
        "chain_time": chain_time,
    }


def _past(summary: Summary) -> bool:
    """Whether the current round's votes are all in: its reveal window is behind us."""
    return summary.phase in (Phase.TALLY, Phase.REVOTE, Phase.SETTLE, Phase.FINALIZED)
