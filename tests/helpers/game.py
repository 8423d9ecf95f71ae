"""A competition and its players, with a helper per phase: the contract tests' vocabulary.

Protocol v2: miners bond in the factory's pool, a jury is drawn when submissions close, the
key comes after the models, and each juror votes one hash (a score vector's root, or
HOST_FAULT). `Game` plays those steps on either chain backend.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory, MinerPool
from deml.contracts.commitments import hash_test_key, new_salt
from deml.contracts.score_tree import (
    VECTOR_CHUNK_LEVEL,
    Score,
    ScoreTree,
    bitmap,
    vote_hash,
    winner_of,
)
from deml.contracts.types import HOST_FAULT, Params, Phase, RevealMode, Summary

ETHER = 10**18
PRIZE = 10 * ETHER
FEE = ETHER // 10
SEAT = ETHER // 10  # one jury seat's stake in the pool
BOUNTY = ETHER // 100
TEST_SET = 360  # samples in the test split; scores are counts of correct ones
# The games score no data: any nonzero root stands for the host's (deml.contracts.sample_tree).
SAMPLES_ROOT = keccak(b"the game's test samples")
DATASET_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
TEST_CID = "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq"
STEP = 1_000  # seconds between deadlines
UNBONDING = 30 * 24 * 3600
# The factory the tests deploy: small juries are allowed, one-minute windows.
FACTORY_CONFIG = {
    "seat_stake": SEAT,
    "unbonding_delay": UNBONDING,
    "min_units": 1,
    "min_seats": 3,
    "min_window": 60,
    "challenge_bond": 10**17,
}

# A vote: {submission id: score}, or HOST_FAULT.
Ballot = Mapping[int, int] | bytes | ScoreTree


def deploy_factory(chain: Chain, sender: LocalAccount, **overrides: int) -> CompetitionFactory:
    """A factory (and its pool) with the tests' configuration."""
    return CompetitionFactory.deploy(chain, **{**FACTORY_CONFIG, **overrides}, sender=sender)


def fund(chain: Chain, count: int, ether: int = 100) -> list[LocalAccount]:
    """`count` fresh accounts, each sent `ether` from the dev accounts (an attacker's sybils)."""
    fresh = [Account.create() for _ in range(count)]
    for i, account in enumerate(fresh):
        chain.transfer(account.address, ether * ETHER, sender=chain.accounts[i % 4])
    return fresh


def bond_all(pool: MinerPool, miners: Iterable[LocalAccount], units: int = 10) -> None:
    """Every miner bonds `units` seats' worth."""
    for miner in miners:
        pool.bond(units, sender=miner)


def vector(scores: Mapping[int, int], test_set: int = TEST_SET) -> ScoreTree:
    """The score tree of `scores` (id -> correct count); sample i of a model scoring s is
    correct for i < s, so equal scores give equal correctness hashes."""
    bitmaps = {i: bitmap([j < s for j in range(test_set)]) for i, s in scores.items()}
    return ScoreTree(
        [Score(i, s, keccak(bitmaps[i]), bitmaps[i]) for i, s in sorted(scores.items())]
    )


@dataclass
class Game:
    """One competition and the accounts that play it, with helpers for each phase."""

    chain: Chain
    competition: Competition
    params: Params
    key: bytes
    host: LocalAccount
    prize: int
    accounts: dict[str, LocalAccount] = field(default_factory=dict)
    salts: dict[int, bytes] = field(default_factory=dict)
    models: dict[int, bytes] = field(default_factory=dict)
    ballots: dict[str, tuple[bytes, bytes, ScoreTree | None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.know(self.chain.accounts)

    def know(self, accounts: Iterable[LocalAccount]) -> None:
        """Let the game sign for these accounts when they are drawn."""
        self.accounts.update({a.address: a for a in accounts})

    # -- time ------------------------------------------------------------------------------

    def to_reveal(self) -> None:
        self._to(self.params.submit_deadline)

    def to_key(self) -> None:
        self._to(self.params.reveal_deadline)

    def to_key_deadline(self) -> None:
        self._to(self.params.key_deadline)

    def to_vote_reveal(self) -> None:
        self._to(self.round().commit_deadline)

    def to_tally(self) -> None:
        """To the end of the current vote's reveal window."""
        self._to(self.round().reveal_deadline)

    def to_tally_end(self) -> None:
        self._to(self.round().tally_deadline)

    def to_disputes_end(self) -> None:
        self._to(self.round().tally_deadline + self.params.tally_duration)

    def _to(self, timestamp: int) -> None:
        if self.chain.timestamp() < timestamp:
            self.chain.travel_to(timestamp)

    # -- competitors and the host ------------------------------------------------------------

    def submit(self, who: LocalAccount, model: bytes | None = None) -> int:
        model = model if model is not None else secrets.token_bytes(64)
        sid, salt = self.competition.commit_model(model, sender=who)
        self.salts[sid], self.models[sid] = salt, model
        return sid

    def reveal(self, sid: int, who: LocalAccount) -> None:
        self.competition.reveal(sid, self.models[sid], self.salts[sid], sender=who)

    def reveal_key(self) -> None:
        self.competition.reveal_test_key(self.key, sender=self.host)

    def open_with(self, *owners: LocalAccount, models: Sequence[bytes] | None = None) -> list[int]:
        """One model per owner submitted (`models`, or random bytes), the jury drawn, the models
        and the key revealed."""
        chosen = models if models is not None else [None] * len(owners)
        ids = [self.submit(who, m) for who, m in zip(owners, chosen, strict=True)]
        self.to_reveal()
        self.draw()
        for sid, who in zip(ids, owners, strict=True):
            self.reveal(sid, who)
        self.to_key()
        self.reveal_key()
        return ids

    # -- the jury ----------------------------------------------------------------------------

    def round(self) -> object:
        return self.competition.round(self.competition.summary().round)

    def draw(self, caller: LocalAccount | None = None) -> dict[str, int]:
        """Seal and draw the current vote's jury; return juror -> backed seats."""
        caller = caller or self.chain.accounts[9]
        pool = self.competition.pool()
        if not pool.sealed_target(self.competition.address):
            self.competition.draw_jury(sender=caller)  # seals
        # The draw reads the hash of the sealed block: mine past it (a call is estimated
        # against the latest block, which must be past the target too).
        target = pool.sealed_target(self.competition.address)
        while self.chain.w3.eth.block_number <= target:
            self.chain.mine()
        while not self.competition.draw_jury(sender=caller):
            pass  # the next batch of seats
        return self.jury()

    def jury(self) -> dict[str, int]:
        """The current vote's jurors and their backed seats."""
        return self.competition.jury(self.competition.summary().round)

    def commit(self, juror: str, ballot: Ballot) -> bytes:
        """Commit `juror`'s vote on `ballot`; return the vote hash."""
        if isinstance(ballot, bytes):
            vote, tree = ballot, None
        elif isinstance(ballot, ScoreTree):  # a vector with its own bitmaps
            tree = ballot
            vote = vote_hash(tree.root, tree.count, *winner_of(tree.scores))
        else:
            tree = vector(ballot, self.params.test_set_size)
            winner_id, winner_score = winner_of(tree.scores)
            vote = vote_hash(tree.root, tree.count, winner_id, winner_score)
        salt = new_salt()
        self.ballots[juror] = (vote, salt, tree)
        self.competition.commit_vote(vote, salt, sender=self.accounts[juror])
        return vote

    def reveal_vote(self, juror: str) -> None:
        vote, salt, tree = self.ballots[juror]
        who = self.accounts[juror]
        if tree is None:
            assert vote == HOST_FAULT
            self.competition.reveal_host_fault(salt, sender=who)
        else:
            winner_id, winner_score = winner_of(tree.scores)
            self.competition.reveal_vote(
                tree.root, tree.count, winner_id, winner_score, salt, sender=who
            )

    def bought_majority(self) -> set[str]:
        """The fewest jurors of the current vote holding a strict majority of its seats: what
        a briber buys."""
        jury = self.jury()
        bought: set[str] = set()
        for juror in sorted(jury, key=lambda j: -jury[j]):
            if 2 * sum(jury[j] for j in bought) <= self.params.seats:
                bought.add(juror)
        return bought

    def revote_and_finalize(self, ballot: Ballot) -> Summary:
        """After an overturned root: a fresh jury drawn, every juror votes `ballot`, the root
        settles after its dispute window; the summary."""
        self.draw()
        self.play_votes(lambda _: ballot)
        self.finalize()
        return self.competition.summary()

    def play_votes(
        self, ballot: Callable[[str], Ballot | None], reveal: Callable[[str], bool] = lambda j: True
    ) -> None:
        """Every juror of the current vote commits `ballot(juror)` (None: stays silent), then
        reveals it where `reveal(juror)`; the clock ends at the reveal deadline."""
        jurors = [j for j, backed in self.jury().items() if backed]
        voted = []
        for juror in jurors:
            choice = ballot(juror)
            if choice is not None:
                self.commit(juror, choice)
                voted.append(juror)
        self.to_vote_reveal()
        for juror in voted:
            if reveal(juror):
                self.reveal_vote(juror)
        self.to_tally()

    def publish_all(self, caller: LocalAccount | None = None) -> None:
        """Publish the winning vector, chunk by chunk."""
        leader = self.round().leader
        tree = next(t for v, _, t in self.ballots.values() if v == leader and t is not None)
        for chunk in tree.chunks():
            self.competition.publish_scores(chunk, sender=caller or self.chain.accounts[9])

    def publish_bitmaps(self, caller: LocalAccount | None = None) -> None:
        """Publish the winning vector's bitmaps to the dispute contract, chunk by chunk."""
        leader = self.round().leader
        tree = next(t for v, _, t in self.ballots.values() if v == leader and t is not None)
        disputes = self.competition.disputes()
        r = self.competition.summary().round
        published = disputes.bitmaps_published(self.competition.address, r)
        for chunk in tree.chunks():
            if chunk.first in published:
                continue
            disputes.publish_bitmaps(
                self.competition.address,
                chunk,
                tree.bitmaps(chunk),
                sender=caller or self.chain.accounts[9],
            )

    def clear_disputes(self) -> None:
        """A decided root settles once its bitmaps are out and its dispute window is over."""
        self.publish_bitmaps()
        self.to_tally_end()

    def publish_vectors(self, jurors: Sequence[str] | None = None) -> None:
        """Publish the whole vector of each juror (default: every one that revealed one)."""
        r = self.competition.summary().round
        for juror in jurors if jurors is not None else list(self.ballots):
            _, _, tree = self.ballots[juror]
            seat = self.competition.seat(r, juror)
            if tree is None or seat.state.label != "revealed":
                continue
            for chunk in tree.chunks(VECTOR_CHUNK_LEVEL):
                self.competition.publish_vector(juror, chunk, sender=self.chain.accounts[9])

    def settle_tally(self) -> None:
        self.competition.settle_submissions(
            self.competition.revealed_ids(), sender=self.chain.accounts[9]
        )

    # -- the end ---------------------------------------------------------------------------

    def finalize(self, caller: LocalAccount | None = None) -> None:
        """Finalize; on a root decided by a majority (and not overturned), first what honest
        jurors do before it may settle: publish the bitmaps, wait out the dispute window."""
        r = self.competition.summary().round
        rnd = self.round()
        decided = (
            rnd.majority
            and rnd.leader != HOST_FAULT
            and self.chain.timestamp() >= rnd.reveal_deadline
            and not self.competition.overturned(r)
        )
        if decided:
            self.clear_disputes()
        self.competition.finalize(sender=caller or self.chain.accounts[9])

    def claim_all(self, accounts: Iterable[LocalAccount] | None = None) -> dict[str, int]:
        """Every account with something owed claims it; return what each got."""
        paid = {}
        for account in accounts if accounts is not None else self.accounts.values():
            if self.competition.claimable(account.address):
                paid[account.address] = self.competition.claim(sender=account)
        return paid

    def settle_jurors(self) -> None:
        """Release or burn every unsettled juror's seats, in every vote drawn."""
        for drawn in self.competition.juries():
            jurors = [
                j
                for j in set(drawn.jurors)
                if self.competition.seat(drawn.round, j).backed
                and self.competition.seat(drawn.round, j).state.label != "settled"
            ]
            if jurors:
                self.competition.settle_jurors(drawn.round, jurors, sender=self.chain.accounts[9])

    def phase(self) -> Phase:
        return self.competition.phase()


# ICompetition.Params as an ABI tuple, for tests that encode a clone's arguments themselves.
PARAMS_ABI = (
    "(uint128,uint128,uint128,uint128,uint40,uint40,uint40,uint40,uint40,uint32,uint32,uint24,"
    "uint16,uint16,uint16,bytes32,uint8,bytes32)"
)
# Competition.Config as a clone carries it (appended to its code): host, prize, pool, disputes,
# Params.
CONFIG_ABI = ["address", "uint256", "address", "address", PARAMS_ABI]


def default_params(chain: Chain, key: bytes, **overrides: int | bytes) -> Params:
    now = chain.timestamp()
    params = Params(
        entry_fee=FEE,
        host_bond=PRIZE,
        draw_bounty=BOUNTY,
        publish_bounty=BOUNTY,
        submit_deadline=now + STEP,
        reveal_deadline=now + 2 * STEP,
        key_deadline=now + 3 * STEP,
        vote_commit_deadline=now + 4 * STEP,
        vote_reveal_deadline=now + 5 * STEP,
        tally_duration=STEP,
        test_set_size=TEST_SET,
        max_model_bytes=4096,
        max_submissions=3,
        seats=3,
        winner_bps=9_000,
        test_key_hash=hash_test_key(key),
        reveal_mode=RevealMode.CALLDATA,
        samples_root=SAMPLES_ROOT,
    )
    return replace(params, **overrides)


def create_game(
    chain: Chain,
    factory: CompetitionFactory,
    host: LocalAccount,
    prize: int = PRIZE,
    **overrides: int | bytes,
) -> Game:
    """A funded competition of `factory` (its pool must hold enough bonded miners)."""
    key = secrets.token_bytes(32)
    params = default_params(chain, key, **overrides)
    competition = factory.create(params, DATASET_CID, TEST_CID, prize=prize, sender=host)
    return Game(chain, competition, params, key, host, prize)
