"""Competitions played on a chain for the dashboard's tests: two finished, one still voting.

`play_world(chain)` leaves the chain with:
- `finished`: ids 1-4 (c1, c1, c2, c3); 4 never revealed; miners m1-m3 honest, m4 dishonest
  (slashed), m5 committed and never revealed (forfeited); c2 won with 320; c2 and m1 claimed.
- `second`: ids 1-2 (c1, c3), miners m1-m2; c1 won with 340 and claimed.
- `voting`: ids 1-2 (c1, c2), in vote-reveal; m1 revealed (pending 330 and 290); m2 and m3
  committed the same scores and have not revealed yet (`Game.reveal_votes` plays them).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import NodeInfo
from deml.contracts.bindings import CompetitionFactory
from tests.helpers.game import DATASET_CID, PRIZE, TEST_CID, TEST_SET, Game, default_params

FINISHED_SCORES = {1: 300, 2: 310, 3: 320}
SECOND_SCORES = {1: 340, 2: 200}
VOTING_SCORES = {1: 330, 2: 290}


@dataclass
class World:
    """The chain, its factory, the three competitions and who played them."""

    chain: Chain
    factory: CompetitionFactory
    finished: Game
    second: Game
    voting: Game

    @property
    def host(self) -> LocalAccount:
        return self.chain.accounts[0]

    @property
    def competitors(self) -> list[LocalAccount]:
        return self.chain.accounts[1:4]

    @property
    def miners(self) -> list[LocalAccount]:
        return self.chain.accounts[4:9]

    @property
    def anyone(self) -> LocalAccount:
        return self.chain.accounts[9]


def create_game(chain: Chain, factory: CompetitionFactory, host: LocalAccount) -> Game:
    """A funded competition with the contract tests' default parameters."""
    key = secrets.token_bytes(32)
    params = default_params(chain, key)
    competition = factory.create(params, DATASET_CID, TEST_CID, prize=PRIZE, sender=host)
    return Game(chain, competition, params, key, host)


def play_world(chain: Chain) -> World:
    """Deploy a factory and play the three competitions described above."""
    host, c1, c2, c3 = chain.accounts[:4]
    m1, m2, m3, m4, m5 = chain.accounts[4:9]
    anyone = chain.accounts[9]
    factory = CompetitionFactory.deploy(chain, sender=host)

    finished = create_game(chain, factory, host)
    for who in (c1, c1, c2, c3):
        finished.submit(who)
    finished.to_reveal()
    for sid, who in ((1, c1), (2, c1), (3, c2)):
        finished.reveal(sid, who)
    finished.reveal_key()
    votes = {m1: FINISHED_SCORES, m2: FINISHED_SCORES, m3: FINISHED_SCORES, m4: {1: 5, 2: 5, 3: 5}}
    for miner in (*votes, m5):
        finished.competition.register_miner(sender=miner)
    finished.to_vote_commit()
    for miner, scores in votes.items():
        finished.commit_votes(miner, scores)
    finished.commit_votes(m5, FINISHED_SCORES)
    finished.to_vote_reveal()
    for miner in votes:
        finished.reveal_votes(miner)
    finished.to_settle()
    finished.settle_all(anyone)
    finished.competition.claim(sender=c2)
    finished.competition.claim(sender=m1)

    second = create_game(chain, factory, host)
    second.submit(c1)
    second.submit(c3)
    second.to_reveal()
    second.reveal(1, c1)
    second.reveal(2, c3)
    second.reveal_key()
    second.play_votes({m1: SECOND_SCORES, m2: SECOND_SCORES})
    second.settle_all(anyone)
    second.competition.claim(sender=c1)

    voting = create_game(chain, factory, host)
    voting.submit(c1)
    voting.submit(c2)
    voting.to_reveal()
    voting.reveal(1, c1)
    voting.reveal(2, c2)
    voting.reveal_key()
    for miner in (m1, m2, m3):
        voting.competition.register_miner(sender=miner)
    voting.to_vote_commit()
    for miner in (m1, m2, m3):
        voting.commit_votes(miner, VOTING_SCORES)
    voting.to_vote_reveal()
    voting.reveal_votes(m1)
    return World(chain, factory, finished, second, voting)


@contextmanager
def played_on(node: NodeInfo) -> Iterator[World]:
    """The world played on an anvil node, and rolled back when the block ends."""
    chain = Chain.connect(
        node.url, accounts.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
    )
    snapshot = chain.snapshot()
    try:
        yield play_world(chain)
    finally:
        chain.revert(snapshot)


__all__ = ["TEST_SET", "World", "create_game", "play_world", "played_on"]
