"""The dashboard's read model: competitions, leaderboards, miners, payouts and histories.

Everything comes through the binding (deml.competition): its views for the current state,
the contracts' events for history. Reads are cached per block (deml.dashboard.cache). The
answers are the dataclasses of deml.dashboard.views.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address
from requests.exceptions import RequestException
from web3 import HTTPProvider, Web3
from web3.exceptions import Web3RPCError

from deml.chain import Chain
from deml.competition import (
    Competition,
    CompetitionFactory,
    CreatedCompetition,
    MinerStatus,
    Outcome,
    Params,
    Phase,
    Status,
    Summary,
)
from deml.dashboard.cache import BlockCache
from deml.dashboard.views import (
    AccountClaim,
    AccountMining,
    AccountOwed,
    AccountSubmission,
    AccountView,
    ChainHead,
    CompetitionRow,
    CompetitionView,
    LeaderboardEntry,
    MinerEntry,
    PayoutEntry,
    Payouts,
    TimelineStep,
)
from deml.exceptions import ChainError, DemlError

# A fixed address, or a function that looks it up (again while none is found).
FactorySource = str | Callable[[], str | None] | None
READ_TIMEOUT_S = 5


class MalformedAddress(DemlError, ValueError):
    """Text that is not an Ethereum address."""


class UnknownCompetition(DemlError, LookupError):
    """An address the factory never created a competition at."""


class FactoryMissing(DemlError, LookupError):
    """No CompetitionFactory is configured, or none lives at the configured address."""


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
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": READ_TIMEOUT_S}))
    return Chain(w3=w3, accounts=[Account.create()], backend="http", dev=dev)


def _name(value: Phase | Outcome | Status | MinerStatus) -> str:
    return value.name.lower()


def _deadline(phase: Phase, params: Params) -> int | None:
    return {
        Phase.SUBMIT: params.submit_deadline,
        Phase.REVEAL: params.reveal_deadline,
        Phase.VOTE_COMMIT: params.vote_commit_deadline,
        Phase.VOTE_REVEAL: params.vote_reveal_deadline,
    }.get(phase)


def _timeline(phase: Phase, params: Params, key_revealed: bool) -> list[TimelineStep]:
    steps = []
    for step in Phase:
        if step == phase:
            state = "current"
        elif step < phase:
            state = "done"
        else:
            state = "upcoming"
        # Without the key there is nothing to vote on: the phase jumps to Settle.
        skipped = step in (Phase.VOTE_COMMIT, Phase.VOTE_REVEAL) and not key_revealed
        if skipped and phase >= Phase.SETTLE:
            state = "skipped"
        steps.append(TimelineStep(_name(step), _deadline(step, params), state))
    return steps


def _accuracy(score: int | None, test_set_size: int) -> float | None:
    return None if score is None or test_set_size == 0 else score / test_set_size


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
        self._competitions: dict[str, Competition] = {}
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
        """One competition: timeline, pool, leaderboard, miners and payouts."""
        with self._reading():
            created = self._created_at(checked_address(address))
            return self._cache.memo(("competition", created.address), lambda: self._view(created))

    def account(self, address: str) -> AccountView:
        """An address's submissions, claims and votes across every competition."""
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

    def _binding(self, address: str) -> Competition:
        if address not in self._competitions:
            self._competitions[address] = Competition(self.chain, address)
        return self._competitions[address]

    def _competition_rows(self) -> list[CompetitionRow]:
        rows = []
        for created in sorted(self._created().values(), key=lambda c: -c.block_number):
            summary = self._summary(created.address)
            params = created.params
            rows.append(
                CompetitionRow(
                    address=created.address,
                    host=created.host,
                    phase=_name(summary.phase),
                    outcome=_name(summary.outcome),
                    prize=str(summary.prize),
                    pool=str(summary.pool),
                    entry_fee=str(params.entry_fee),
                    submissions=summary.submissions,
                    revealed=summary.revealed,
                    miners=summary.miners,
                    test_set_size=params.test_set_size,
                    next_deadline=_deadline(summary.phase, params),
                    created_block=created.block_number,
                    dataset_cid=created.dataset_cid,
                    test_cid=created.test_cid,
                )
            )
        return rows

    def _summary(self, address: str) -> Summary:
        return self._cache.memo(("summary", address), lambda: self._binding(address).summary())

    def _events(self, created: CreatedCompetition, event: str) -> list[Any]:
        """Every `event` log of one competition, from its creation block on."""
        contract = self._binding(created.address).contract

        def fetch(first: int, last: int) -> list[Any]:
            return list(getattr(contract.events, event)().get_logs(from_block=first, to_block=last))

        return self._cache.logs((event, created.address), fetch, created.block_number)

    def _settled_at(self, created: CreatedCompetition) -> dict[int, int]:
        """Submission id -> timestamp of the block that settled it."""
        return {
            int(log["args"]["id"]): self._cache.timestamp(int(log["blockNumber"]))
            for log in self._events(created, "SubmissionSettled")
        }

    def _view(self, created: CreatedCompetition) -> CompetitionView:
        binding = self._binding(created.address)
        summary = self._summary(created.address)
        params = created.params
        return CompetitionView(
            address=created.address,
            host=created.host,
            dataset_cid=created.dataset_cid,
            test_cid=created.test_cid,
            created_block=created.block_number,
            now=self._cache.current.timestamp,
            phase=_name(summary.phase),
            outcome=_name(summary.outcome),
            test_key_revealed=summary.test_key_revealed,
            prize=str(summary.prize),
            pool=str(summary.pool),
            entry_fee=str(params.entry_fee),
            miner_stake=str(params.miner_stake),
            test_set_size=params.test_set_size,
            quorum=params.quorum,
            winner_bps=params.winner_bps,
            max_submissions=params.max_submissions,
            max_model_bytes=params.max_model_bytes,
            submissions=summary.submissions,
            revealed=summary.revealed,
            settled=summary.settled,
            miners_count=summary.miners,
            miners_slashed=summary.miners_slashed,
            timeline=_timeline(summary.phase, params, summary.test_key_revealed),
            # Until finalization the best id is only the current leader.
            leaderboard=self._leaderboard(
                created, summary.best_id if summary.phase == Phase.FINALIZED else 0
            ),
            miners=self._miners(created, summary.phase),
            payouts=self._payouts(created, binding) if summary.phase == Phase.FINALIZED else None,
        )

    def _leaderboard(self, created: CreatedCompetition, winner_id: int) -> list[LeaderboardEntry]:
        binding = self._binding(created.address)
        size = created.params.test_set_size
        settled_at = self._settled_at(created)
        entries = []
        for log in self._events(created, "SubmissionCommitted"):
            sid = int(log["args"]["id"])
            sub = binding.submission(sid)
            validated = sub.status == Status.VALIDATED
            pending = sub.top_score if sub.status == Status.REVEALED and sub.votes else None
            score = sub.top_score if validated else None
            entries.append(
                LeaderboardEntry(
                    id=sid,
                    owner=str(log["args"]["committer"]),
                    status=_name(sub.status),
                    rank=None,
                    score=score,
                    pending_score=pending,
                    votes=sub.votes,
                    top_votes=sub.top_votes,
                    accuracy=_accuracy(score if validated else pending, size),
                    winner=validated and sid == winner_id,
                    size=sub.size,
                    committed_block=int(log["blockNumber"]),
                    settled_at=settled_at.get(sid),
                )
            )
        return _ranked(entries)

    def _miners(self, created: CreatedCompetition, phase: Phase) -> list[MinerEntry]:
        binding = self._binding(created.address)
        settled = {
            str(log["args"]["miner"]): log["args"] for log in self._events(created, "MinerSettled")
        }
        miners = []
        for log in self._events(created, "MinerRegistered"):
            address = str(log["args"]["miner"])
            status = binding.participant(address).miner_status
            result = settled.get(address)
            agreeing = int(result["agreeing"]) if result else None
            disagreeing = int(result["disagreeing"]) if result else None
            counted = (agreeing or 0) + (disagreeing or 0)
            reason = None
            if status == MinerStatus.SLASHED:
                reason = "most of its votes disagreed with the validated scores"
            elif status == MinerStatus.COMMITTED and phase >= Phase.SETTLE:
                reason = "committed votes but never revealed them"
            miners.append(
                MinerEntry(
                    address=address,
                    status=_name(status),
                    agreeing=agreeing,
                    disagreeing=disagreeing,
                    agreement=(agreeing or 0) / counted if counted else None,
                    slashed=reason is not None,
                    slash_reason=reason,
                )
            )
        return miners

    def _payouts(self, created: CreatedCompetition, binding: Competition) -> Payouts:
        roles: dict[str, list[str]] = {created.host: ["host"]}
        for log in self._events(created, "SubmissionCommitted"):
            roles.setdefault(str(log["args"]["committer"]), []).append("competitor")
        for log in self._events(created, "MinerRegistered"):
            roles.setdefault(str(log["args"]["miner"]), []).append("miner")
        claimed: dict[str, int] = {}
        for log in self._events(created, "Claimed"):
            account = str(log["args"]["account"])
            claimed[account] = claimed.get(account, 0) + int(log["args"]["amount"])
        finals = self._events(created, "Finalized")
        final = finals[0] if finals else None
        summary = self._summary(created.address)
        entries = []
        for account, account_roles in roles.items():
            claimable = binding.claimable(account)
            paid = claimed.get(account, 0)
            entries.append(
                PayoutEntry(
                    address=account,
                    roles=sorted(set(account_roles)),
                    owed=str(paid + claimable),
                    claimed=str(paid),
                    claimable=str(claimable),
                )
            )
        entries.sort(key=lambda e: -int(e.owed))
        winner_id = int(final["args"]["winnerId"]) if final else summary.best_id
        return Payouts(
            outcome=_name(summary.outcome),
            winner_id=winner_id or None,
            winner_amount=str(summary.winner_amount),
            reward_per_vote=str(summary.reward_per_vote),
            host_amount=str(summary.host_amount),
            entries=entries,
        )

    # -- accounts --------------------------------------------------------------------------

    def _account(self, account: str) -> AccountView:
        submissions: list[AccountSubmission] = []
        claims: list[AccountClaim] = []
        owed: list[AccountOwed] = []
        mining: list[AccountMining] = []
        for created in self._created().values():
            binding = self._binding(created.address)
            submissions += self._account_submissions(created, account)
            for log in self._events(created, "Claimed"):
                if log["args"]["account"] == account:
                    block = int(log["blockNumber"])
                    claims.append(
                        AccountClaim(
                            created.address,
                            str(log["args"]["to"]),
                            str(log["args"]["amount"]),
                            block,
                            self._cache.timestamp(block),
                        )
                    )
            # Zero before finalization and after the claim.
            if amount := binding.claimable(account):
                owed.append(AccountOwed(created.address, str(amount)))
            registered = self._events(created, "MinerRegistered")
            if any(log["args"]["miner"] == account for log in registered):
                part = binding.participant(account)
                mining.append(
                    AccountMining(created.address, _name(part.miner_status), part.agreeing_votes)
                )
        submissions.sort(key=lambda s: (s.committed_at, s.competition, s.id))
        claims.sort(key=lambda c: c.block)
        return AccountView(account, submissions, claims, owed, mining)

    def _account_submissions(
        self, created: CreatedCompetition, account: str
    ) -> list[AccountSubmission]:
        binding = self._binding(created.address)
        size = created.params.test_set_size
        settled_at = self._settled_at(created)
        result = []
        for log in self._events(created, "SubmissionCommitted"):
            if log["args"]["committer"] != account:
                continue
            sid = int(log["args"]["id"])
            sub = binding.submission(sid)
            score = sub.top_score if sub.status == Status.VALIDATED else None
            pending = sub.top_score if sub.status == Status.REVEALED and sub.votes else None
            result.append(
                AccountSubmission(
                    competition=created.address,
                    id=sid,
                    status=_name(sub.status),
                    score=score,
                    pending_score=pending,
                    accuracy=_accuracy(score, size),
                    test_set_size=size,
                    committed_at=self._cache.timestamp(int(log["blockNumber"])),
                    settled_at=settled_at.get(sid),
                )
            )
        return result

    # -- internals -------------------------------------------------------------------------

    def _factory_binding(self) -> CompetitionFactory:
        if self._factory is None:
            source = self._factory_source
            address = source() if callable(source) else source
            if address is None:
                raise FactoryMissing(
                    "no CompetitionFactory is recorded for this network: pass --factory ADDRESS,"
                    " or create a competition first (a dev chain deploys the factory then)"
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
            except ChainError:
                raise
            except (RequestException, OSError, Web3RPCError) as exc:
                raise ChainError(self._unreachable(exc)) from None

    def _chain_id(self) -> int:
        """The node's chain id, asked once per block: the node behind a URL may be replaced."""
        self._cache.head()
        chain_id = self._cache.memo("chain_id", lambda: int(self.chain.w3.eth.chain_id))
        expected = self._expected_chain_id
        if expected is not None and chain_id != expected:
            raise ChainError(
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


def _ranked(entries: list[LeaderboardEntry]) -> list[LeaderboardEntry]:
    """Validated first, best score first (ties: lower id), ranked; then pending; then the rest."""
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
    ranked = [replace(e, rank=i) for i, e in enumerate(validated, start=1)]
    return ranked + pending + rest
