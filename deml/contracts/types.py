"""The contracts' types in Python: enums, structs and events, as ICompetition and IMinerPool
declare them (protocol v2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, TypeVar

from eth_utils import keccak

E = TypeVar("E")

BPS = 10_000
# The vote of a juror who finds the host at fault (Competition.HOST_FAULT).
HOST_FAULT = keccak(text="deml.v2.host-fault")


class _Named(IntEnum):
    @property
    def label(self) -> str:
        """The lower-case name shown to users and in JSON (`vote_commit`)."""
        return self.name.lower()


class Phase(_Named):
    SUBMIT = 0
    REVEAL = 1
    KEY = 2
    VOTE_COMMIT = 3
    VOTE_REVEAL = 4
    TALLY = 5
    REVOTE = 6
    SETTLE = 7
    FINALIZED = 8


class Outcome(_Named):
    PENDING = 0
    WINNER = 1
    HOST_FAULT = 2
    KEY_WITHHELD = 3
    VOID = 4
    NO_ENTRIES = 5


class Status(_Named):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2


class RevealMode(_Named):
    """How a competition's models are revealed (fixed at creation): in calldata, or in blobs."""

    CALLDATA = 0
    BLOB = 1


class VoteState(_Named):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    SETTLED = 3


# The phases that end at a deadline fixed at creation, and the Params field holding it.
_DEADLINES = {
    Phase.SUBMIT: "submit_deadline",
    Phase.REVEAL: "reveal_deadline",
    Phase.KEY: "key_deadline",
    Phase.VOTE_COMMIT: "vote_commit_deadline",
    Phase.VOTE_REVEAL: "vote_reveal_deadline",
}


@dataclass(frozen=True)
class Params:
    """A competition's parameters, as ICompetition.Params (amounts in wei, times in seconds)."""

    entry_fee: int
    host_bond: int
    draw_bounty: int
    publish_bounty: int
    submit_deadline: int
    reveal_deadline: int
    key_deadline: int
    vote_commit_deadline: int
    vote_reveal_deadline: int
    tally_duration: int
    test_set_size: int
    max_model_bytes: int
    max_submissions: int
    seats: int
    winner_bps: int
    test_key_hash: bytes
    reveal_mode: RevealMode
    samples_root: bytes  # Merkle root of the plaintext test samples (contracts.sample_tree)

    @property
    def miner_bps(self) -> int:
        return BPS - self.winner_bps

    @property
    def revote_seats(self) -> int:
        """Seats of the re-vote's jury: twice the first's, plus one."""
        return 2 * self.seats + 1

    def deadline(self, phase: Phase) -> int | None:
        """When `phase` of the first vote ends by the clock; None for the phases that end on a
        call or depend on the vote (tally, re-vote, settle)."""
        field = _DEADLINES.get(phase)
        return None if field is None else int(getattr(self, field))

    def funding(self, prize: int) -> int:
        """What the host sends to create it: prize, bond, two draw bounties, publication."""
        return prize + self.host_bond + 2 * self.draw_bounty + self.publish_bounty

    def as_abi(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def from_abi(cls, raw: Sequence[Any] | Mapping[str, Any]) -> Params:
        # A view returns the struct as a tuple; an event decodes it as a dict in field order.
        values = dict(
            zip(
                (f.name for f in fields(cls)),
                raw.values() if isinstance(raw, Mapping) else raw,
                strict=True,
            )
        )
        values["test_key_hash"] = bytes(values["test_key_hash"])
        values["reveal_mode"] = RevealMode(values["reveal_mode"])
        values["samples_root"] = bytes(values["samples_root"])
        return cls(**values)


@dataclass(frozen=True)
class Submission:
    id: int
    owner: str | None
    status: Status
    size: int
    hash: bytes  # the commitment until revealed, then keccak256 of the model bytes


@dataclass(frozen=True)
class Participant:
    commits: int
    reveals: int
    claimed: bool
    credits: int  # bounties and jury pay, claimable at any time


@dataclass(frozen=True)
class Round:
    """One vote: its jury, windows and leading vote (ICompetition.Round)."""

    seats: int
    backed_seats: int
    revealed_seats: int
    leader_seats: int
    published_seats: int
    dissent_seats: int
    settled: int
    drawn_at: int
    commit_deadline: int
    reveal_deadline: int
    tally_deadline: int
    leader: bytes

    @property
    def drawn(self) -> bool:
        return self.drawn_at != 0

    @property
    def majority(self) -> bool:
        """Whether the leading vote has a strict majority of all seats."""
        return 2 * self.leader_seats > self.seats


@dataclass(frozen=True)
class Seat:
    """One juror's part in one vote (ICompetition.Seat)."""

    seats: int
    backed: int
    state: VoteState
    dissent: bool
    cursor: int
    last_id: int
    hash: bytes  # its commitment until revealed, then its vote


@dataclass(frozen=True)
class Verdict:
    """What a revealed vote says."""

    root: bytes
    count: int
    winner_id: int
    winner_score: int


@dataclass(frozen=True)
class Summary:
    phase: Phase
    outcome: Outcome
    key_revealed: bool
    round: int
    submissions: int
    revealed: int
    winner_id: int
    winner_score: int
    prize: int
    pool: int
    winner_amount: int
    jury_amount: int
    per_seat: int
    prize_per_reveal: int
    burned: int


@dataclass(frozen=True)
class PoolJuror:
    """One miner's bond in the pool (IMinerPool.Juror), in seat units."""

    index: int
    locked: int
    units: int
    pending_units: int
    pending_slash: int
    unbonding: int
    unbond_at: int

    @property
    def free(self) -> int:
        """Units that can back a new seat."""
        return max(self.units - self.locked - self.pending_slash, 0)


# -- events: what the typed event readers of deml.contracts.bindings return -------------------


@dataclass(frozen=True)
class Log:
    """Where an event was emitted."""

    block_number: int
    tx_hash: str  # 0x-prefixed


@dataclass(frozen=True)
class CreatedCompetition:
    """One CompetitionCreated event: what a miner or dashboard needs to find a competition."""

    address: str
    host: str
    dataset_cid: str
    test_cid: str
    prize: int
    params: Params
    block_number: int


@dataclass(frozen=True)
class SubmissionCommitted:
    """A competitor committed (and paid for) a submission."""

    id: int
    committer: str
    commitment: bytes
    log: Log


@dataclass(frozen=True)
class ModelRevealed:
    """A committed model was revealed, its bytes in the event."""

    id: int
    owner: str
    model_hash: bytes
    size: int
    model: bytes
    log: Log


@dataclass(frozen=True)
class ModelRevealedInBlobs:
    """A committed model was revealed in blobs: their versioned hashes, its size, and the CID
    of a copy in content storage (for once the blobs expire)."""

    id: int
    owner: str
    model_hash: bytes
    size: int
    versioned_hashes: list[bytes]
    cid: str
    log: Log


@dataclass(frozen=True)
class JuryDrawn:
    """One batch of a vote's jury (drawJury seats at most 16 per call): one juror per seat,
    and whether its seat is backed by a locked unit. `whole_juries` joins a vote's batches."""

    round: int
    jurors: list[str]
    backed: list[bool]
    commit_deadline: int
    log: Log


def whole_juries(batches: Sequence[JuryDrawn]) -> list[JuryDrawn]:
    """One JuryDrawn per vote, its batches joined in draw order (the first batch's log, the
    last batch's deadline): a juror drawn in two batches is one juror with its seats summed."""
    rounds: dict[int, JuryDrawn] = {}
    for batch in batches:
        joined = rounds.get(batch.round)
        rounds[batch.round] = (
            batch
            if joined is None
            else JuryDrawn(
                round=batch.round,
                jurors=[*joined.jurors, *batch.jurors],
                backed=[*joined.backed, *batch.backed],
                commit_deadline=batch.commit_deadline,
                log=joined.log,
            )
        )
    return list(rounds.values())


@dataclass(frozen=True)
class VoteCommitted:
    """A juror committed the hash of its vote."""

    round: int
    juror: str
    commitment: bytes
    log: Log


@dataclass(frozen=True)
class VoteRevealed:
    """A juror revealed its vote (a root, or HOST_FAULT with a zero root), with its seats."""

    round: int
    juror: str
    vote: bytes
    root: bytes
    count: int
    winner_id: int
    winner_score: int
    seats: int
    log: Log


@dataclass(frozen=True)
class ScoresPublished:
    """A chunk of the winning vector (packed leaves from position `first_leaf`)."""

    round: int
    first_leaf: int
    leaves: bytes
    log: Log


@dataclass(frozen=True)
class Challenge:
    """A challenge of a decided root (contracts/Disputes.sol), with its state when read."""

    id: int
    round: int
    submission: int
    sample: int
    predicted: int  # the class its proof shows
    challenger: str
    open: bool
    contest_end: int  # when it stands unless the commitment was computed by then
    architecture: bytes
    weights_root: bytes


@dataclass(frozen=True)
class VectorPublished:
    """A chunk of one juror's vector, added to a tally."""

    round: int
    juror: str
    first_leaf: int
    leaves: bytes
    log: Log


@dataclass(frozen=True)
class SubmissionSettled:
    """A tally settled a submission: validated at a score, or scored 0."""

    round: int
    id: int
    validated: bool
    score: int
    seats: int
    log: Log


@dataclass(frozen=True)
class DissentProven:
    """A juror's vector was shown to disagree with a validated score."""

    round: int
    juror: str
    id: int
    score: int
    settled_score: int
    log: Log


@dataclass(frozen=True)
class Finalized:
    """The pool was split."""

    outcome: Outcome
    winner_id: int
    winner_amount: int
    jury_amount: int
    per_seat: int
    prize_per_reveal: int
    burned: int
    log: Log


@dataclass(frozen=True)
class JurorSettled:
    """A juror's seats of one vote were released or burned, its pay credited."""

    round: int
    juror: str
    kept: int
    burned: int
    reward: int
    log: Log


@dataclass(frozen=True)
class Credited:
    """An account earned a bounty or jury pay, claimable at once."""

    account: str
    amount: int
    reason: str
    log: Log


@dataclass(frozen=True)
class Claimed:
    """An account pulled what it was owed (to `to`)."""

    account: str
    to: str
    amount: int
    log: Log


# How each event field's type is read from web3's decoded arguments.
_READ: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "str": str,
    "bytes": bytes,
    "bool": bool,
    "Outcome": Outcome,
    "list[str]": lambda values: [str(v) for v in values],
    "list[bool]": lambda values: [bool(v) for v in values],
    "list[bytes]": lambda values: [bytes(v) for v in values],
}


def decode_event(event: type[E], args: Mapping[str, Any], log: Log) -> E:
    """An event dataclass from web3's decoded `args`: each field (`model_hash`) is read from
    the Solidity argument of the same name in camelCase (`modelHash`)."""
    values: dict[str, Any] = {"log": log}
    for f in fields(event):  # type: ignore[arg-type]
        if f.name != "log":
            head, *rest = f.name.split("_")
            values[f.name] = _READ[str(f.type)](args[head + "".join(w.title() for w in rest)])
    return event(**values)
