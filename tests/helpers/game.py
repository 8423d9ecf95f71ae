"""A competition and its players, with a helper per phase: the contract tests' vocabulary."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from eth_account.signers.local import LocalAccount

from deml.chain.client import Chain
from deml.contracts.bindings import Competition
from deml.contracts.commitments import hash_test_key, new_salt
from deml.contracts.types import Params

ETHER = 10**18
PRIZE = 10 * ETHER
FEE = ETHER // 10
STAKE = ETHER // 2
TEST_SET = 360  # samples in the test split; scores are counts of correct ones
DATASET_CID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
TEST_CID = "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq"
STEP = 1_000  # seconds between deadlines


@dataclass
class Game:
    """One competition and the accounts that play it, with helpers for each phase."""

    chain: Chain
    competition: Competition
    params: Params
    key: bytes
    host: LocalAccount
    salts: dict[int, bytes] = field(default_factory=dict)
    models: dict[int, bytes] = field(default_factory=dict)
    vote_salts: dict[str, tuple[list[int], list[int], bytes]] = field(default_factory=dict)

    # time
    def to_reveal(self) -> None:
        self.chain.travel_to(self.params.submit_deadline)

    def to_vote_commit(self) -> None:
        self.chain.travel_to(self.params.reveal_deadline)

    def to_vote_reveal(self) -> None:
        self.chain.travel_to(self.params.vote_commit_deadline)

    def to_settle(self) -> None:
        self.chain.travel_to(self.params.vote_reveal_deadline)

    # competitors
    def submit(self, who: LocalAccount, model: bytes | None = None) -> int:
        model = model if model is not None else secrets.token_bytes(64)
        sid, salt = self.competition.commit_model(model, sender=who)
        self.salts[sid], self.models[sid] = salt, model
        return sid

    def reveal(self, sid: int, who: LocalAccount) -> None:
        self.competition.reveal(sid, self.models[sid], self.salts[sid], sender=who)

    def reveal_key(self) -> None:
        self.competition.reveal_test_key(self.key, sender=self.host)

    def open_with(self, *owners: LocalAccount) -> list[int]:
        """One model per owner submitted and revealed, the key revealed; return the ids."""
        ids = [self.submit(who) for who in owners]
        self.to_reveal()
        for sid, who in zip(ids, owners, strict=True):
            self.reveal(sid, who)
        self.reveal_key()
        return ids

    # miners
    def commit_votes(self, miner: LocalAccount, scores: Mapping[int, int]) -> None:
        ids = sorted(scores)
        values = [scores[i] for i in ids]
        salt = new_salt()
        self.vote_salts[miner.address] = (ids, values, salt)
        self.competition.commit_votes(ids, values, salt, sender=miner)

    def reveal_votes(self, miner: LocalAccount) -> None:
        ids, values, salt = self.vote_salts[miner.address]
        self.competition.reveal_votes(ids, values, salt, sender=miner)

    def settle_all(self, caller: LocalAccount) -> None:
        """Settle every revealed submission, then every revealed miner, then finalize."""
        self.competition.settle(self.competition.revealed_ids(), sender=caller)
        if self.competition.summary().best_id:
            for miner in self.competition.revealed_miners():
                ids, values, salt = self.competition.revealed_votes(miner)
                self.competition.settle_miner(miner, ids, values, salt, sender=caller)
        self.competition.finalize(sender=caller)

    def play_votes(self, votes: Mapping[LocalAccount, Mapping[int, int]]) -> None:
        """Register, commit and reveal `votes` (miner -> {id: score}) across the vote phases."""
        for miner in votes:
            self.competition.register_miner(sender=miner)
        self.to_vote_commit()
        for miner, scores in votes.items():
            self.commit_votes(miner, scores)
        self.to_vote_reveal()
        for miner in votes:
            self.reveal_votes(miner)
        self.to_settle()

    def claim_all(self, accounts: Sequence[LocalAccount]) -> dict[str, int]:
        """Every account with something owed claims it; return what each got."""
        paid = {}
        for account in accounts:
            if self.competition.claimable(account.address):
                paid[account.address] = self.competition.claim(sender=account)
        return paid


def default_params(chain: Chain, key: bytes, **overrides: int | bytes) -> Params:
    now = chain.timestamp()
    params = Params(
        entry_fee=FEE,
        miner_stake=STAKE,
        submit_deadline=now + STEP,
        reveal_deadline=now + 2 * STEP,
        vote_commit_deadline=now + 3 * STEP,
        vote_reveal_deadline=now + 4 * STEP,
        test_set_size=TEST_SET,
        max_model_bytes=4096,
        max_submissions=3,
        quorum=2,
        winner_bps=9_000,
        test_key_hash=hash_test_key(key),
    )
    return replace(params, **overrides)
