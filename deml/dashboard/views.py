"""What the dashboard shows, as plain dataclasses that serialise to the JSON API as they are.

Amounts are decimal strings of wei (JSON numbers lose precision above 2**53); times are
Unix seconds of block timestamps; enums are lower-case names (`vote_reveal`, `host_fault`).
The leaderboard, vote, juror and payout rows are deml.roles.standing's, as `deml status`
shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from deml.roles.standing import JurorEntry, LeaderboardEntry, Payouts, VoteEntry


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
    seats: int  # jury seats of the first vote
    round: int  # the vote under way (2: the re-vote)
    test_set_size: int
    next_deadline: int | None  # the deadline that ends the current phase
    created_block: int
    dataset_cid: str
    test_cid: str


@dataclass(frozen=True)
class TimelineStep:
    """One phase and the deadline that ends it (none for Revote, Settle and Finalized)."""

    phase: str
    ends_at: int | None
    state: str  # done, current, upcoming or skipped


@dataclass(frozen=True)
class LeaderboardRow(LeaderboardEntry):
    """One submission on the leaderboard (deml.roles.standing's entry), and when it was scored."""

    scored_at: int | None = None


@dataclass(frozen=True)
class RoundView:
    """One vote: its jury's size, windows and leading vote."""

    round: int
    drawn: bool
    seats: int
    backed_seats: int
    revealed_seats: int
    leader: str | None
    leader_seats: int
    majority: bool
    commit_deadline: int | None
    reveal_deadline: int | None
    tally_deadline: int | None


@dataclass(frozen=True)
class PoolView:
    """The factory's miner pool, as the competition draws from it."""

    address: str
    seat_stake: str
    total_units: int
    open_seals: int


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
    key_revealed: bool
    round: int
    prize: str
    pool: str
    entry_fee: str
    host_bond: str
    draw_bounty: str
    publish_bounty: str
    test_set_size: int
    seats: int
    winner_bps: int
    max_submissions: int
    max_model_bytes: int
    reveal_mode: str  # "calldata" or "blob"
    submissions: int
    revealed: int
    burned: str
    miner_pool: PoolView
    timeline: list[TimelineStep]
    rounds: list[RoundView]
    leaderboard: list[LeaderboardRow]
    votes: list[VoteEntry]
    jurors: list[JurorEntry]
    payouts: Payouts | None  # after finalization


@dataclass(frozen=True)
class AccountSubmission:
    """One of an address's submissions."""

    competition: str
    id: int
    status: str
    score: int | None
    accuracy: float | None  # score / test set size
    test_set_size: int
    committed_at: int
    scored_at: int | None


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
class AccountSeat:
    """An address's seats as a juror in one vote of one competition."""

    competition: str
    round: int
    seats: int
    backed: int
    state: str
    slashed: bool
    slash_reason: str | None  # why its backed seats are burned (the jury table's reason)
    reward: str | None


@dataclass(frozen=True)
class AccountBond:
    """An address's bond in the factory's miner pool, in seat units."""

    seat_stake: str  # wei per unit: the page shows the bond in ether too
    units: int
    locked: int
    pending_units: int
    pending_slash: int  # units a slash burns once no draw is sealed
    unbonding: int
    unbond_at: int


@dataclass(frozen=True)
class AccountView:
    """Everything the address page shows."""

    address: str
    submissions: list[AccountSubmission]
    claims: list[AccountClaim]
    claimable: list[AccountOwed]
    jury: list[AccountSeat]
    bond: AccountBond | None  # None: never bonded in the pool
