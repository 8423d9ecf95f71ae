"""A stateful property test: random sequences of every action, by every role, across time.

After each step it checks that the balance equals the internal ledger, that the ledger equals
what went in less what came out, that nobody is paid twice, that phases never go backwards,
and, once finalized, that everything left is claimable by someone (nothing is stranded). At
the end of each example it plays the competition out and checks the balance reaches zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.contracts.commitments import hash_test_key, model_commitment, new_salt
from deml.contracts.types import Params, Phase
from deml.exceptions import ContractRevert

TEST_SET = 50
STEP = 100
FEE, STAKE = 1_000, 5_000
# Steps per example: enough to reach finalization often (the teardown plays out the rest).
STEPS = 12


@dataclass
class World:
    """What lives across examples: the chain, one factory, the inspector and the accounts."""

    chain: Chain
    factory: CompetitionFactory
    inspector: Contract
    host: LocalAccount
    players: list[LocalAccount]


@dataclass
class Sub:
    owner: LocalAccount
    model: bytes
    salt: bytes
    revealed: bool = False


@dataclass
class Ledger:
    paid_in: int = 0
    paid_out: int = 0
    claimed: set[str] = field(default_factory=set)


def true_score(model: bytes) -> int:
    """What an honest miner would compute for a model: any fixed function of its bytes."""
    return int.from_bytes(keccak(model)[:2], "big") % (TEST_SET + 1)


class CompetitionMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.subs: dict[int, Sub] = {}
        self.votes: dict[str, tuple[list[int], list[int], bytes]] = {}
        self.ledger = Ledger()
        self.last_phase = Phase.SUBMIT

    # -- setup ---------------------------------------------------------------------------

    @initialize(
        prize=st.integers(0, 10**6),
        quorum=st.integers(1, 3),
        winner_bps=st.sampled_from([0, 5_000, 9_000, 10_000]),
        max_submissions=st.integers(1, 3),
    )
    def create(self, prize: int, quorum: int, winner_bps: int, max_submissions: int) -> None:
        w = self.world
        now = w.chain.timestamp()
        self.key = new_salt()
        self.params = Params(
            entry_fee=FEE,
            miner_stake=STAKE,
            submit_deadline=now + STEP,
            reveal_deadline=now + 2 * STEP,
            vote_commit_deadline=now + 3 * STEP,
            vote_reveal_deadline=now + 4 * STEP,
            test_set_size=TEST_SET,
            max_model_bytes=64,
            max_submissions=max_submissions,
            quorum=quorum,
            winner_bps=winner_bps,
            test_key_hash=hash_test_key(self.key),
        )
        self.comp: Competition = w.factory.create(
            self.params, "bafy-dataset", "bafy-test", prize=prize, sender=w.host
        )
        self.ledger.paid_in += prize

    # -- actions -------------------------------------------------------------------------

    def _try(self, action, *, paid_in: int = 0):
        try:
            result = action()
        except ContractRevert:
            return None
        self.ledger.paid_in += paid_in
        return result

    @rule(who=st.integers(0, 6), model=st.binary(min_size=1, max_size=64))
    def commit(self, who: int, model: bytes) -> None:
        player = self.world.players[who]
        salt = new_salt()
        commitment = model_commitment(model, salt, player.address, self.comp.address)
        sid = self._try(lambda: self.comp.commit(commitment, sender=player), paid_in=FEE)
        if sid is not None:
            self.subs[sid] = Sub(player, model, salt)

    @rule(data=st.data())
    def reveal(self, data: st.DataObject) -> None:
        if not self.subs:
            return
        sid = data.draw(st.sampled_from(sorted(self.subs)))
        sub = self.subs[sid]
        if (
            self._try(lambda: self.comp.reveal(sid, sub.model, sub.salt, sender=sub.owner))
            is not None
        ):
            sub.revealed = True

    @rule(right=st.booleans())
    def reveal_key(self, right: bool) -> None:
        key = self.key if right else new_salt()
        self._try(lambda: self.comp.reveal_test_key(key, sender=self.world.host))

    @rule(who=st.integers(0, 6))
    def register_miner(self, who: int) -> None:
        self._try(lambda: self.comp.register_miner(sender=self.world.players[who]), paid_in=STAKE)

    @rule(who=st.integers(0, 6), honest=st.booleans(), noise=st.integers(1, TEST_SET))
    def commit_votes(self, who: int, honest: bool, noise: int) -> None:
        miner = self.world.players[who]
        ids = [sid for sid, sub in sorted(self.subs.items()) if sub.revealed and sub.owner != miner]
        scores = [
            true_score(self.subs[sid].model)
            if honest
            else (true_score(self.subs[sid].model) + noise) % (TEST_SET + 1)
            for sid in ids
        ]
        salt = new_salt()
        if self._try(lambda: self.comp.commit_votes(ids, scores, salt, sender=miner)) is not None:
            self.votes[miner.address] = (ids, scores, salt)

    @rule(who=st.integers(0, 6))
    def reveal_votes(self, who: int) -> None:
        miner = self.world.players[who]
        if miner.address in self.votes:
            ids, scores, salt = self.votes[miner.address]
            self._try(lambda: self.comp.reveal_votes(ids, scores, salt, sender=miner))

    @rule(seconds=st.sampled_from([1, STEP // 2, STEP, 2 * STEP]))
    def advance(self, seconds: int) -> None:
        self.world.chain.increase_time(seconds)

    @rule()
    def settle(self) -> None:
        ids = [sid for sid, sub in sorted(self.subs.items()) if sub.revealed]
        self._try(lambda: self.comp.settle(ids, sender=self.world.host))

    @rule(who=st.integers(0, 6))
    def settle_miner(self, who: int) -> None:
        miner = self.world.players[who].address
        if miner in self.votes:
            ids, scores, salt = self.votes[miner]
            self._try(
                lambda: self.comp.settle_miner(miner, ids, scores, salt, sender=self.world.host)
            )

    @rule()
    def finalize(self) -> None:
        self._try(lambda: self.comp.finalize(sender=self.world.host))

    @rule(who=st.integers(0, 7))
    def claim(self, who: int) -> None:
        account = ([self.world.host, *self.world.players])[who]
        amount = self._try(lambda: self.comp.claim(sender=account))
        if amount is not None:
            assert account.address not in self.ledger.claimed, "paid twice"
            self.ledger.claimed.add(account.address)
            self.ledger.paid_out += amount

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        if not hasattr(self, "comp"):
            return
        w = self.world
        accounts = [w.host.address, *(p.address for p in w.players)]
        balance, liabilities, phase, claimable = w.chain.call(
            w.inspector.functions.inspect(self.comp.address, accounts)
        )
        assert balance == liabilities, "the balance left the internal ledger"
        assert liabilities == self.ledger.paid_in - self.ledger.paid_out
        assert self.ledger.paid_out <= self.ledger.paid_in
        assert phase >= self.last_phase, "a phase went backwards"
        self.last_phase = Phase(phase)
        for address, amount in zip(accounts, claimable, strict=True):
            if address in self.ledger.claimed:
                assert amount == 0, "claimable again after claiming"
        if phase == Phase.FINALIZED:
            assert sum(claimable) == liabilities, "funds stranded: nobody can claim them"

    def teardown(self) -> None:
        """Play the competition out and check that every wei leaves."""
        if not hasattr(self, "comp"):
            return
        w = self.world
        end = self.params.vote_reveal_deadline
        if w.chain.timestamp() < end:
            w.chain.travel_to(end)
        self.settle()
        for who in range(7):
            self.settle_miner(who)
        self.finalize()
        accounts = [w.host, *w.players]
        owed = w.chain.call(
            w.inspector.functions.inspect(self.comp.address, [a.address for a in accounts])
        )[3]
        for who, amount in enumerate(owed):
            if amount:
                self.claim(who)
        self.books_balance()
        assert w.chain.balance(self.comp.address) == 0, "ether left after every party claimed"


@pytest.mark.anvil
@pytest.mark.timeout(3_600)  # the ci profile runs 2,000 examples; deep runs 20,000
def test_competition_state_machine(anvil_chain: Chain) -> None:
    chain = anvil_chain
    world = World(
        chain=chain,
        factory=CompetitionFactory.deploy(chain),
        inspector=chain.deploy(artifacts.load_fixture("Inspector")),
        host=chain.accounts[0],
        players=chain.accounts[1:8],
    )
    CompetitionMachine.world = world
    run_state_machine_as_test(
        CompetitionMachine,
        settings=settings(
            settings(),  # the profile's example count (tests/conftest.py)
            stateful_step_count=STEPS,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
