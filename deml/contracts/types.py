"""The contracts' types in Python: enums, structs and events, as ICompetition declares them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, TypeVar

E = TypeVar("E")

BPS = 10_000


class _Named(IntEnum):
    @property
    def label(self) -> str:
        """The lower-case name shown to users and in JSON (`vote_commit`)."""
        return self.name.lower()


class Phase(_Named):
    SUBMIT = 0
    REVEAL = 1
    VOTE_COMMIT = 2
    VOTE_REVEAL = 3
    SETTLE = 4
    FINALIZED = 5


class Outcome(_Named):
    PENDING = 0
    WINNER = 1
    NO_WINNER = 2
    KEY_WITHHELD = 3


class Status(_Named):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    REJECTED = 3
    VALIDATED = 4


class MinerStatus(_Named):
    NONE = 0
    REGISTERED = 1
    COMMITTED = 2
    REVEALED = 3
    SETTLED = 4
    SLASHED = 5


# The phases that end at a deadline fixed at creation, and the Params field holding it.
_DEADLINES = {
    Phase.SUBMIT: "submit_deadline",
    Phase.REVEAL: "reveal_deadline",
    Phase.VOTE_COMMIT: "vote_commit_deadline",
    Phase.VOTE_REVEAL: "vote_reveal_deadline",
}


@dataclass(frozen=True)
class Params:
    """A competition's parameters, as ICompetition.Params (amounts in wei, times in seconds)."""

    entry_fee: int
    miner_stake: int
    submit_deadline: int
    reveal_deadline: int
    vote_commit_deadline: int
    vote_reveal_deadline: int
    test_set_size: int
    max_model_bytes: int
    max_submissions: int
    quorum: int
    winner_bps: int
    test_key_hash: bytes

    @property
    def miner_bps(self) -> int:
        return BPS - self.winner_bps

    def deadline(self, phase: Phase) -> int | None:
        """When `phase` ends; None for the phases that end on a call (Settle) or never."""
        field = _DEADLINES.get(phase)
        return None if field is None else int(getattr(self, field))

    def starts_at(self, phase: Phase) -> int | None:
        """When `phase` opens by the clock: the deadline of the phase before it."""
        return None if phase == Phase.SUBMIT else self.deadline(Phase(phase - 1))

    def as_abi(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def from_abi(cls, raw: Sequence[Any] | Mapping[str, Any]) -> Params:
        # A view returns the struct as a tuple; an event decodes it as a dict in field order.
        values = list(raw.values()) if isinstance(raw, Mapping) else list(raw)
        values[-1] = bytes(values[-1])
        return cls(*values)


@dataclass(frozen=True)
class Submission:
    id: int
    owner: str | None
    status: Status
    size: int
    votes: int
    top_votes: int
    top_score: int
    hash: bytes  # the commitment until revealed, then keccak256 of the model bytes


@dataclass(frozen=True)
class Participant:
    commits: int
    reveals: int
    claimed: bool
    miner_status: MinerStatus
    agreeing_votes: int
    vote_commitment: bytes


@dataclass(frozen=True)
class Summary:
    phase: Phase
    outcome: Outcome
    test_key_revealed: bool
    submissions: int
    revealed: int
    settled: int
    miners: int
    miners_revealed: int
    miners_settled: int
    miners_slashed: int
    best_id: int
    prize: int
    pool: int
    winner_amount: int
    reward_per_vote: int
    host_amount: int


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
    """A committed model was revealed: its hash and size (the bytes are in calldata)."""

    id: int
    owner: str
    model_hash: bytes
    size: int
    log: Log


@dataclass(frozen=True)
class MinerRegistered:
    """A miner bonded its stake."""

    miner: str
    log: Log


@dataclass(frozen=True)
class VotesCommitted:
    """A miner committed the hash of its scores."""

    miner: str
    commitment: bytes
    log: Log


@dataclass(frozen=True)
class VotesRevealed:
    """A miner revealed its scores (`count` of them)."""

    miner: str
    count: int
    log: Log


@dataclass(frozen=True)
class SubmissionSettled:
    """A submission's votes were tallied: validated or rejected."""

    id: int
    validated: bool
    score: int
    votes: int
    agreeing: int
    log: Log


@dataclass(frozen=True)
class MinerSettled:
    """A miner's votes were checked against the validated scores."""

    miner: str
    agreeing: int
    disagreeing: int
    slashed: bool
    log: Log


@dataclass(frozen=True)
class Finalized:
    """The pool was split."""

    outcome: Outcome
    winner_id: int
    winner_amount: int
    reward_per_vote: int
    host_amount: int
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
