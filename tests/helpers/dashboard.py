"""Competitions played on a chain for the dashboard's tests (protocol v2).

`play_world(chain)` deploys a factory, bonds eight fresh miners (10 seat units each) in its
pool, and leaves the chain with three competitions of five seats each:
- `finished`: ids 1-4 (c1, c1, c2, c3); 4 never revealed. The jury voted FINISHED_SCORES by a
  root majority, except `liar` (a vector that makes submission 1 the winner) and `silent`
  (committed, never revealed): both lose their seats. The winning vector is published, the
  competition finalized: c2's submission 3 won with 320. c2 and `honest[0]` claimed.
- `host_fault`: ids 1-2 (c1, c3), both revealed. The jury found the host at fault (a majority
  of HOST_FAULT seats), except `dissenter`, who voted SECOND_SCORES' root and loses its seats.
  Finalized: the host's bond is burned, the prize split between the two reveals; c1 claimed.
- `voting`: ids 1-2 (c1, c2), in its vote-reveal phase: every juror committed VOTING_SCORES,
  only `revealer` (the fewest seats, no majority) revealed. `Game.reveal_vote` plays the rest.

The draw is random (the hash of a sealed block): `draw_where` draws again from a later block
until the jury has the shape a competition needs (enough jurors for the roles above).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import NodeInfo
from deml.contracts.bindings import CompetitionFactory, MinerPool
from deml.contracts.types import HOST_FAULT
from tests.helpers.game import TEST_SET, Game, bond_all, create_game, deploy_factory, fund

FINISHED_SCORES = {1: 300, 2: 310, 3: 320}
LIAR_SCORES = {1: 320, 2: 310, 3: 300}  # makes submission 1 the winner
SECOND_SCORES = {1: 340, 2: 200}
VOTING_SCORES = {1: 330, 2: 290}
SEATS = 5
UNITS = 10  # seat units each miner bonds


@dataclass
class World:
    """The chain, its factory and pool, the three competitions and who played them."""

    chain: Chain
    factory: CompetitionFactory
    pool: MinerPool
    miners: list[LocalAccount]
    finished: Game
    host_fault: Game
    voting: Game
    # The jurors' roles, by address.
    honest: list[str] = field(default_factory=list)  # finished: voted the winning root
    liar: str = ""  # finished: voted another root
    silent: str = ""  # finished: committed, never revealed
    dissenter: str = ""  # host_fault: voted a root against the HOST_FAULT majority
    revealer: str = ""  # voting: the only juror who revealed so far

    @property
    def host(self) -> LocalAccount:
        return self.chain.accounts[0]

    @property
    def competitors(self) -> list[LocalAccount]:
        return self.chain.accounts[1:4]

    @property
    def anyone(self) -> LocalAccount:
        return self.chain.accounts[9]

    def account(self, address: str) -> LocalAccount:
        """The miner (or dev account) with this address, to sign for it."""
        return next(a for a in [*self.miners, *self.chain.accounts] if a.address == address)


def ranked(jury: dict[str, int]) -> list[str]:
    """Jurors with backed seats, fewest seats first (ties by address, so the order is fixed)."""
    return sorted((j for j, seats in jury.items() if seats), key=lambda j: (jury[j], j))


def draw_where(game: Game, fits: Callable[[dict[str, int]], bool]) -> dict[str, int]:
    """Draw the current vote's jury; while it does not `fit`, undo the draw, mine a block (so
    that the seal lands on another block, with another hash) and draw again."""
    for _ in range(30):
        snapshot = game.chain.snapshot()
        jury = game.draw()
        if fits(jury):
            return jury
        game.chain.revert(snapshot)
        game.chain.mine()
    raise AssertionError("no draw of the shape asked for in 30 tries")


def majority_without(jury: dict[str, int], *left_out: str) -> bool:
    """Whether the jurors other than `left_out` hold a strict majority of all seats."""
    rest = sum(seats for juror, seats in jury.items() if juror not in left_out)
    return 2 * rest > SEATS


def play_world(chain: Chain) -> World:
    """Deploy a factory, bond the pool and play the three competitions described above."""
    host, c1, c2, c3 = chain.accounts[:4]
    factory = deploy_factory(chain, host)
    pool = factory.pool()
    miners = fund(chain, 8)
    bond_all(pool, miners, UNITS)

    # -- finished: a winner by root majority ------------------------------------------------
    finished = create_game(chain, factory, host, seats=SEATS)
    finished.know(miners)
    for who in (c1, c1, c2, c3):
        finished.submit(who)
    finished.to_reveal()
    # honest[0] must hold one seat: the pages show its reward, one seat's share (a draw that
    # gave it three made the page say 1.0399 ETH, and the test flaky).
    jury = draw_where(
        finished,
        lambda j: (
            len(ranked(j)) >= 3 and majority_without(j, *ranked(j)[:2]) and j[ranked(j)[2]] == 1
        ),
    )
    liar, silent, *honest = ranked(jury)
    for sid, who in ((1, c1), (2, c1), (3, c2)):
        finished.reveal(sid, who)
    finished.to_key()
    finished.reveal_key()
    finished.play_votes(
        lambda j: LIAR_SCORES if j == liar else FINISHED_SCORES, lambda j: j != silent
    )
    finished.publish_all()
    finished.finalize()
    finished.competition.claim(sender=c2)
    finished.competition.claim(sender=finished.accounts[honest[0]])  # settles its seats too

    # -- host_fault: a majority of the seats vote HOST_FAULT ----------------------------------
    host_fault = create_game(chain, factory, host, seats=SEATS)
    host_fault.know(miners)
    host_fault.submit(c1)
    host_fault.submit(c3)
    host_fault.to_reveal()
    jury = draw_where(
        host_fault, lambda j: len(ranked(j)) >= 2 and majority_without(j, ranked(j)[0])
    )
    dissenter = ranked(jury)[0]
    host_fault.reveal(1, c1)
    host_fault.reveal(2, c3)
    host_fault.to_key()
    host_fault.reveal_key()
    host_fault.play_votes(lambda j: SECOND_SCORES if j == dissenter else HOST_FAULT)
    host_fault.finalize()
    host_fault.competition.claim(sender=c1)

    # -- voting: in its vote-reveal phase, one juror revealed ----------------------------------
    voting = create_game(chain, factory, host, seats=SEATS)
    voting.know(miners)
    voting.submit(c1)
    voting.submit(c2)
    voting.to_reveal()
    jury = draw_where(voting, lambda j: len(ranked(j)) >= 3)
    revealer = ranked(jury)[0]  # fewer seats than a majority: three or more jurors share five
    voting.reveal(1, c1)
    voting.reveal(2, c2)
    voting.to_key()
    voting.reveal_key()
    for juror in ranked(jury):
        voting.commit(juror, VOTING_SCORES)
    voting.to_vote_reveal()
    voting.reveal_vote(revealer)

    return World(
        chain,
        factory,
        pool,
        miners,
        finished,
        host_fault,
        voting,
        honest=honest,
        liar=liar,
        silent=silent,
        dissenter=dissenter,
        revealer=revealer,
    )


def play_revote(world: World) -> tuple[Game, str]:
    """A fourth competition whose first vote validated nothing (every juror scored both models
    its own way; the juror with the fewest seats never voted): it waits for its re-vote's
    jury. Returns it and the absent juror."""
    game = create_game(world.chain, world.factory, world.host, seats=SEATS)
    game.know(world.miners)
    c1, c2 = world.competitors[:2]
    game.submit(c1)
    game.submit(c2)
    game.to_reveal()
    # Three jurors or more, none a majority alone: no root can win.
    jury = draw_where(game, lambda j: max(j.values()) < 3 and len(ranked(j)) >= 3)
    absent, *voters = ranked(jury)
    game.reveal(1, c1)
    game.reveal(2, c2)
    game.to_key()
    game.reveal_key()
    game.play_votes(
        lambda j: None if j == absent else {1: 100 + voters.index(j), 2: 50 + voters.index(j)}
    )
    game.publish_vectors()
    game.to_tally_end()
    game.settle_tally()
    return game, absent


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


__all__ = ["TEST_SET", "World", "create_game", "play_revote", "play_world", "played_on"]
