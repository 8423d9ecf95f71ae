"""The dashboard's read model: competitions, leaderboards, juries, payouts and histories.

Everything comes through the binding (deml.contracts.bindings): its views for the current
state, its event readers for history, read through a cache per block (deml.dashboard.cache).
The rules (leaderboard, slashes, payouts) are deml.roles.standing's, the same as `deml
status` uses. The answers are the dataclasses of deml.dashboard.views.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TypeVar

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from web3.exceptions import Web3RPCError

from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory, MinerPool
from deml.contracts.score_tree import unpack
from deml.contracts.types import (
    CreatedCompetition,
    Params,
    Participant,
    Phase,
    Round,
    Seat,
    Submission,
    Summary,
)
from deml.dashboard.cache import BlockCache
from deml.dashboard.views import (
    AccountBond,
    AccountClaim,
    AccountOwed,
    AccountSeat,
    AccountSubmission,
    AccountView,
    ChainHead,
    CompetitionRow,
    CompetitionView,
    LeaderboardRow,
    PoolView,
    RoundView,
    TimelineStep,
)
from deml.exceptions import (
    ChainUnreachable,
    FactoryMissing,
    MalformedAddress,
    UnknownCompetition,
    WrongChain,
)
from deml.roles import standing

# A fixed address, or a function that looks it up (again while none is found).
FactorySource = str | Callable[[], str | None] | None
READ_TIMEOUT_S = 5
E = TypeVar("E")
V = TypeVar("V")


# -- helpers -----------------------------------------------------------------------------------


def checked_address(text: str) -> str:
    """`text` as a checksummed address; MalformedAddress when it is not one."""
    if not is_address(text):
        raise MalformedAddress(
            f"{text!r} is not an Ethereum address: expected 0x and 40 hex digits"
            " (all lower case, or with a correct EIP-55 checksum)"
        )
    return to_checksum_address(text)


def reader_chain(url: str, *, dev: bool = False) -> Chain:
    """A read-only connection that does not ask the node anything until it is used."""
    # Views are eth_calls and need a `from`; a fresh key that never signs anything will do.
    return Chain.http(url, [Account.create()], dev=dev, timeout_s=READ_TIMEOUT_S)


def _timeline(summary: Summary, params: Params, round_: Round) -> list[TimelineStep]:
    phase = summary.phase
    voted = summary.key_revealed and summary.revealed > 0
    steps = []
    for step in Phase:
        if step == phase:
            state = "current"
        elif step < phase:
            state = "done"
        else:
            state = "upcoming"
        # Phases a competition passes by: the key and the votes without a model to judge (the
        # votes also without a key), the tally when a root won, the re-vote when the first
        # vote decided.
        if step < phase and (
            (step in (Phase.VOTE_COMMIT, Phase.VOTE_REVEAL, Phase.TALLY) and not voted)
            or (step == Phase.KEY and summary.revealed == 0)
            or (step == Phase.TALLY and round_.majority)
            or (step == Phase.REVOTE and summary.round == 1)
        ):
            state = "skipped"
        # The re-vote goes back to VOTE_COMMIT: once its jury is drawn the vote steps are the
        # re-vote's (their deadlines are round 2's), and the re-vote itself is behind.
        if step == Phase.REVOTE and summary.round == 2 and phase < Phase.REVOTE:
            state = "done"
        steps.append(TimelineStep(step.label, standing.phase_deadline(step, params, round_), state))
    return steps


def _round_view(r: int, round_: Round) -> RoundView:
    drawn = round_.drawn
    return RoundView(
        round=r,
        drawn=drawn,
        seats=round_.seats,
        backed_seats=round_.backed_seats,
        revealed_seats=round_.revealed_seats,
        leader="0x" + round_.leader.hex() if round_.leader_seats else None,
        leader_seats=round_.leader_seats,
        majority=round_.majority,
        commit_deadline=round_.commit_deadline if drawn else None,
        reveal_deadline=round_.reveal_deadline if drawn else None,
        tally_deadline=round_.tally_deadline if drawn else None,
    )


def _cached_events(reader: str) -> Callable[[CachedCompetition], list[Any]]:
    """A method that reads the binding's event reader `reader` through the block cache."""

    def read(self: CachedCompetition) -> list[Any]:
        return self._events(getattr(self.binding, reader))

    read.__name__ = reader
    return read


class CachedCompetition:
    """One competition's views and events through the block cache: a `standing.Source`.

    Views are read once per block, events once and then only for the blocks after the last
    one read, from the competition's creation block on.
    """

    def __init__(self, binding: Competition, created: CreatedCompetition, cache: BlockCache):
        self.binding = binding
        self.created = created
        self._cache = cache

    @property
    def address(self) -> str:
        return self.created.address

    def host(self) -> str:
        return self.created.host

    def params(self) -> Params:
        return self.created.params

    def summary(self) -> Summary:
        return self._cache.memo(("summary", self.address), self.binding.summary)

    def submission(self, submission_id: int) -> Submission:
        return self._view(self.binding.submission, submission_id)

    def participant(self, account: str) -> Participant:
        return self._view(self.binding.participant, account)

    def claimable(self, account: str) -> int:
        return self._view(self.binding.claimable, account)

    def round(self, r: int) -> Round:
        return self._view(self.binding.round, r)

    def seat(self, r: int, juror: str) -> Seat:
        key = ("seat", self.address, r, juror)
        return self._cache.memo(key, lambda: self.binding.seat(r, juror))

    # The event readers of the binding, through the cache.
    commits = _cached_events("commits")
    blob_reveals = _cached_events("blob_reveals")
    juries = _cached_events("juries")
    vote_reveals = _cached_events("vote_reveals")
    scores_published = _cached_events("scores_published")
    submission_settlements = _cached_events("submission_settlements")
    juror_settlements = _cached_events("juror_settlements")
    credits = _cached_events("credits")
    finalizations = _cached_events("finalizations")
    claims = _cached_events("claims")

    def leaderboard(self) -> list[standing.LeaderboardEntry]:
        """The standing's leaderboard, once per block."""
        return self._cache.memo(
            ("leaderboard", self.address), lambda: standing.leaderboard(self, self.summary())
        )

    def _view(self, read: Callable[[Any], V], arg: Any) -> V:
        key = (read.__name__, self.address, arg)
        return self._cache.memo(key, lambda: read(arg))

    def _events(self, read: Callable[..., list[E]]) -> list[E]:
        def fetch(first: int, last: int) -> list[E]:
            return read(from_block=first, to_block=last)

        key = (read.__name__, self.address)
        return self._cache.logs(key, fetch, self.created.block_number)


# -- the read model ----------------------------------------------------------------------------


class ReadModel:
    """The dashboard's data, read through the binding and cached per block; thread-safe."""

    def __init__(
        self,
        chain: Chain,
        factory: FactorySource,
        *,
        rpc_url: str | None = None,
        expected_chain_id: int | None = None,
        head_ttl_s: float = 1.0,
    ) -> None:
        self.chain = chain
        self.rpc_url = rpc_url
        self._factory_source = factory
        self._factory: CompetitionFactory | None = None
        self._expected_chain_id = expected_chain_id
        self._cache = BlockCache(chain, ttl_s=head_ttl_s)
        self._competitions: dict[str, CachedCompetition] = {}
        self._pools: dict[str, MinerPool] = {}
        # One reader at a time: eth-tester is not thread-safe, and a second request for the
        # same block waits for the first and then reads its cached answer.
        self._lock = threading.RLock()

    # -- public reads ----------------------------------------------------------------------

    def head(self) -> ChainHead:
        """The latest block and the chain's id."""
        with self._reading():
            head = self._cache.head()
            return ChainHead(self._chain_id(), head.number, head.hash, head.timestamp)

    def competitions(self) -> list[CompetitionRow]:
        """Every competition the factory created, newest first."""
        with self._reading():
            return self._cache.memo("competitions", self._competition_rows)

    def require_competition(self, address: str) -> str:
        """The checksummed address of a competition the factory created, else an error."""
        with self._reading():
            return self._created_at(checked_address(address)).address

    def competition(self, address: str) -> CompetitionView:
        """One competition: timeline, votes, leaderboard, jurors and payouts."""
        with self._reading():
            created = self._created_at(checked_address(address))
            return self._cache.memo(("competition", created.address), lambda: self._view(created))

    def account(self, address: str) -> AccountView:
        """An address's submissions, claims, seats and bond across every competition."""
        with self._reading():
            account = checked_address(address)
            return self._cache.memo(("account", account), lambda: self._account(account))

    # -- competitions ----------------------------------------------------------------------

    def _created(self) -> dict[str, CreatedCompetition]:
        factory = self._factory_binding()

        def fetch(first: int, last: int) -> list[CreatedCompetition]:
            return factory.competitions(from_block=first, to_block=last)

        created = self._cache.logs(("created", factory.address), fetch)
        return {c.address: c for c in created}

    def _created_at(self, address: str) -> CreatedCompetition:
        created = self._created().get(address)
        if created is None:
            raise UnknownCompetition(
                f"no competition at {address}: the factory {self._factory_binding().address}"
                " never created one there (is it on another network?)"
            )
        return created

    def _source(self, created: CreatedCompetition) -> CachedCompetition:
        source = self._competitions.get(created.address)
        # A competition created again at the same address (a dev chain reverted to a snapshot,
        # or a reorg) is another competition: its parameters and creation block are new.
        if source is None or source.created != created:
            binding = Competition(self.chain, created.address)
            source = self._competitions[created.address] = CachedCompetition(
                binding, created, self._cache
            )
        return source

    def _competition_rows(self) -> list[CompetitionRow]:
        rows = []
        for created in sorted(self._created().values(), key=lambda c: -c.block_number):
            source = self._source(created)
            summary = source.summary()
            params = created.params
            rows.append(
                CompetitionRow(
                    address=created.address,
                    host=created.host,
                    phase=summary.phase.label,
                    outcome=summary.outcome.label,
                    prize=str(summary.prize),
                    pool=str(summary.pool),
                    entry_fee=str(params.entry_fee),
                    submissions=summary.submissions,
                    revealed=summary.revealed,
                    seats=params.seats,
                    round=summary.round,
                    test_set_size=params.test_set_size,
                    next_deadline=standing.phase_deadline(
                        summary.phase, params, source.round(summary.round)
                    ),
                    created_block=created.block_number,
                    dataset_cid=created.dataset_cid,
                    test_cid=created.test_cid,
                )
            )
        return rows

    def _scored_at(self, source: CachedCompetition) -> dict[int, int]:
        """Submission id -> timestamp of the block that published or settled its score."""
        round_ = source.summary().round
        at: dict[int, int] = {}
        for chunk in source.scores_published():
            if chunk.round == round_:
                for leaf in unpack(chunk.leaves):
                    at.setdefault(leaf.id, self._cache.timestamp(chunk.log.block_number))
        for settled in source.submission_settlements():
            if settled.round == round_:
                at[settled.id] = self._cache.timestamp(settled.log.block_number)
        return at

    def _view(self, created: CreatedCompetition) -> CompetitionView:
        source = self._source(created)
        summary = source.summary()
        params = created.params
        scored_at = self._scored_at(source)
        pool = self._pool(source)
        return CompetitionView(
            address=created.address,
            host=created.host,
            dataset_cid=created.dataset_cid,
            test_cid=created.test_cid,
            created_block=created.block_number,
            now=self._cache.current.timestamp,
            phase=summary.phase.label,
            outcome=summary.outcome.label,
            key_revealed=summary.key_revealed,
            round=summary.round,
            prize=str(summary.prize),
            pool=str(summary.pool),
            entry_fee=str(params.entry_fee),
            host_bond=str(params.host_bond),
            draw_bounty=str(params.draw_bounty),
            publish_bounty=str(params.publish_bounty),
            test_set_size=params.test_set_size,
            seats=params.seats,
            winner_bps=params.winner_bps,
            max_submissions=params.max_submissions,
            max_model_bytes=params.max_model_bytes,
            reveal_mode=params.reveal_mode.label,
            submissions=summary.submissions,
            revealed=summary.revealed,
            burned=str(summary.burned),
            miner_pool=PoolView(
                pool.address, str(pool.seat_stake()), pool.total_units(), pool.open_seals()
            ),
            timeline=_timeline(summary, params, source.round(summary.round)),
            rounds=[_round_view(r, source.round(r)) for r in range(1, summary.round + 1)],
            leaderboard=[
                LeaderboardRow(**asdict(entry), scored_at=scored_at.get(entry.id))
                for entry in source.leaderboard()
            ],
            votes=standing.votes(source, summary),
            jurors=standing.jurors(source, summary),
            payouts=standing.payouts(source, summary),
        )

    def _pool(self, source: CachedCompetition) -> MinerPool:
        address = self._cache.memo(
            ("pool-of", source.address), lambda: source.binding.pool().address
        )
        if address not in self._pools:
            self._pools[address] = MinerPool(self.chain, address)
        return self._pools[address]

    def _factory_pool(self) -> MinerPool:
        factory = self._factory_binding()
        address = self._cache.memo(("pool-of", factory.address), lambda: factory.pool().address)
        if address not in self._pools:
            self._pools[address] = MinerPool(self.chain, address)
        return self._pools[address]

    # -- accounts --------------------------------------------------------------------------

    def _account(self, account: str) -> AccountView:
        submissions: list[AccountSubmission] = []
        claims: list[AccountClaim] = []
        owed: list[AccountOwed] = []
        jury: list[AccountSeat] = []
        bond: AccountBond | None = None
        for created in self._created().values():
            source = self._source(created)
            submissions += self._account_submissions(source, account)
            for claim in source.claims():
                if claim.account == account:
                    block = claim.log.block_number
                    claims.append(
                        AccountClaim(
                            created.address,
                            claim.to,
                            str(claim.amount),
                            block,
                            self._cache.timestamp(block),
                        )
                    )
            # Zero until something is owed, and after the claim.
            if amount := source.claimable(account):
                owed.append(AccountOwed(created.address, str(amount)))
            for juror in standing.jurors(source):
                if juror.address == account:
                    jury.append(
                        AccountSeat(
                            created.address,
                            juror.round,
                            juror.seats,
                            juror.backed,
                            juror.state,
                            juror.slashed,
                            juror.slash_reason,
                            juror.reward,
                        )
                    )
        # The factory's own pool: a miner bonds before any competition exists.
        pool = self._factory_pool()
        held = self._cache.memo(("bond", account), lambda: pool.juror(account))
        if held.index:
            bond = AccountBond(
                str(pool.seat_stake()),
                held.units,
                held.locked,
                held.pending_units,
                held.pending_slash,
                held.unbonding,
                held.unbond_at,
            )
        submissions.sort(key=lambda s: (s.committed_at, s.competition, s.id))
        claims.sort(key=lambda c: c.block)
        return AccountView(account, submissions, claims, owed, jury, bond)

    def _account_submissions(
        self, source: CachedCompetition, account: str
    ) -> list[AccountSubmission]:
        scored_at = self._scored_at(source)
        size = source.params().test_set_size
        return [
            AccountSubmission(
                competition=source.address,
                id=entry.id,
                status=entry.status,
                score=entry.score,
                accuracy=entry.accuracy,
                test_set_size=size,
                committed_at=self._cache.timestamp(entry.committed_block),
                scored_at=scored_at.get(entry.id),
            )
            for entry in source.leaderboard()
            if entry.owner == account
        ]

    # -- internals -------------------------------------------------------------------------

    def _factory_binding(self) -> CompetitionFactory:
        if self._factory is None:
            source = self._factory_source
            address = source() if callable(source) else source
            if address is None:
                raise FactoryMissing(
                    "no CompetitionFactory is recorded for this network: pass --factory ADDRESS,"
                    " or deploy one with `deml contracts deploy`"
                )
            self._factory = CompetitionFactory(self.chain, checked_address(address))
        factory = self._factory
        if not self._cache.memo(("code", factory.address), lambda: self._has_code(factory.address)):
            if callable(self._factory_source):
                self._factory = None  # look it up again next time: a dev chain may redeploy it
            raise FactoryMissing(
                f"no CompetitionFactory at {factory.address} on chain {self.chain.chain_id}:"
                " was the chain reset, or is the dashboard on the wrong network?"
            )
        return factory

    def _has_code(self, address: str) -> bool:
        return len(self.chain.w3.eth.get_code(to_checksum_address(address))) > 0

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the lock, and turn a node that does not answer into a ChainError."""
        with self._lock:
            try:
                self._chain_id()
                yield
            except ChainUnreachable as exc:
                raise ChainUnreachable(self._unreachable(exc.__cause__ or exc)) from None
            except Web3RPCError as exc:
                raise ChainUnreachable(self._unreachable(exc)) from None

    def _chain_id(self) -> int:
        """The node's chain id, asked once per block: the node behind a URL may be replaced."""
        self._cache.head()
        chain_id = self._cache.memo("chain_id", lambda: int(self.chain.w3.eth.chain_id))
        expected = self._expected_chain_id
        if expected is not None and chain_id != expected:
            raise WrongChain(
                f"the node at {self.rpc_url} is chain {chain_id}, but the settings expect"
                f" {expected}; are you connected to the right network?"
            )
        return chain_id

    def _unreachable(self, exc: Exception) -> str:
        where = f"at {self.rpc_url}" if self.rpc_url else ""
        hint = (
            " Start the local chain with `deml chain up`."
            if self.chain.dev
            else " Is the RPC URL (--rpc or DEML_RPC_URL) right?"
        )
        return f"no chain answers {where}: {type(exc).__name__}.{hint}".replace("  ", " ")
