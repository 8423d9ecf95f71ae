"""What the dashboard shows, as plain dataclasses that serialise to the JSON API as they are.

Amounts are decimal strings of wei (JSON numbers lose precision above 2**53); times are
Unix seconds of block timestamps; enums are lower-case names (`vote_reveal`, `validated`).
The leaderboard, miner and payout rows are deml.roles.standing's, as `deml status` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from deml.roles.standing import LeaderboardEntry, MinerEntry, Payouts


@dataclass(frozen=True)
class ChainHead:
    """The latest block."""

    chain_id: int
    block: int
    hash: str
    timestamp: int


@dataclass(frozen=True)
class CompetitionRow:
    """One competition in the list."""

    address: str
    host: str
    phase: str
    outcome: str
    prize: str
    pool: str
    entry_fee: str
    submissions: int
    revealed: int
    miners: int
    test_set_size: int
    next_deadline: int | None  # the deadline that ends the current phase
    created_block: int
    dataset_cid: str
    test_cid: str


@dataclass(frozen=True)
class TimelineStep:
    """One phase and the deadline that ends it (none for Settle and Finalized)."""

    phase: str
    ends_at: int | None
    state: str  # done, current, upcoming or skipped


@dataclass(frozen=True)
class LeaderboardRow(LeaderboardEntry):
    """One submission on the leaderboard (deml.roles.standing's entry), and when it settled."""

    settled_at: int | None = None


@dataclass(frozen=True)
class CompetitionView:
    """Everything the competition page shows."""

    address: str
    host: str
    dataset_cid: str
    test_cid: str
    created_block: int
    now: int  # the latest block's timestamp
    phase: str
    outcome: str
    test_key_revealed: bool
    prize: str
    pool: str
    entry_fee: str
    miner_stake: str
    test_set_size: int
    quorum: int
    winner_bps: int
    max_submissions: int
    max_model_bytes: int
    submissions: int
    revealed: int
    settled: int
    miners_count: int
    miners_slashed: int
    timeline: list[TimelineStep]
    leaderboard: list[LeaderboardRow]
    miners: list[MinerEntry]
    payouts: Payouts | None  # after finalization


@dataclass(frozen=True)
class AccountSubmission:
    """One of an address's submissions."""

    competition: str
    id: int
    status: str
    score: int | None
    pending_score: int | None
    accuracy: float | None  # validated score / test set size
    test_set_size: int
    committed_at: int
    settled_at: int | None


@dataclass(frozen=True)
class AccountClaim:
    """One Claimed event of an address."""

    competition: str
    to: str
    amount: str
    block: int
    timestamp: int


@dataclass(frozen=True)
class AccountOwed:
    """What an address can still claim in one competition."""

    competition: str
    amount: str


@dataclass(frozen=True)
class AccountMining:
    """An address's part as a miner in one competition."""

    competition: str
    status: str
    agreeing: int


@dataclass(frozen=True)
class AccountView:
    """Everything the address page shows."""

    address: str
    submissions: list[AccountSubmission]
    claims: list[AccountClaim]
    claimable: list[AccountOwed]
    mining: list[AccountMining]
