"""The jury draw's security, measured over the real draw (MinerPool.preview) on anvil.

docs/jury-draw.md gives the computation: an attacker holding a quarter of the pool's bond wins
a majority of a 21-seat jury with probability 0.64% (binomial). These tests draw thousands of
juries from a pool laid out that way and check the rate, that splitting a bond over sybils
buys no seat, and that bonds sent once a draw is sealed wait until after it. anvil only: a
preview reads about 350 tree nodes, a few milliseconds on anvil and 0.2 s on py-evm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml.chain.client import Chain
from deml.contracts.bindings import MinerPool
from deml.exceptions import custom_error_class
from tests.helpers.game import bond_all, create_game, deploy_factory, fund

pytestmark = pytest.mark.anvil

SEATS = 21
MAJORITY = 11
RUNS = 4_000  # draws per estimate: the rate's standard error is then 0.13 points
HONEST, ATTACKER = 300, 100  # bonded units: the attacker holds exactly a quarter


def binomial_tail(n: int, k: int, p: float) -> float:
    """P(at least k of n independent seats), each seat the attacker's with probability p."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


def seed(i: int) -> bytes:
    return keccak(encode(["uint256"], [i]))


def seeds(n: int) -> list[bytes]:
    """The simulation's seeds: keccak(i) for i < n, the same on every run."""
    return [seed(i) for i in range(n)]


def previews(chain: Chain, pool: MinerPool, seeds: Sequence[bytes], seats: int) -> list[list[str]]:
    """`pool.preview(seed, seats)` for every seed, in JSON-RPC batches (one call each would
    spend most of the time in web3's per-call overhead)."""
    selector = keccak(text="preview(bytes32,uint256)")[:4]
    juries: list[list[str]] = []
    for start in range(0, len(seeds), 500):
        batch = [
            (
                "eth_call",
                [
                    {
                        "to": pool.address,
                        "data": "0x"
                        + (selector + encode(["bytes32", "uint256"], [s, seats])).hex(),
                    },
                    "latest",
                ],
            )
            for s in seeds[start : start + 500]
        ]
        answers = chain.w3.provider.make_batch_request(batch)  # type: ignore[attr-defined]
        for answer in sorted(answers, key=lambda a: a["id"]):
            (jurors,) = decode(["address[]"], bytes.fromhex(answer["result"][2:]))
            juries.append([j.lower() for j in jurors])
    return juries


def addresses(accounts: Sequence[LocalAccount]) -> set[str]:
    return {a.address.lower() for a in accounts}


@pytest.fixture
def honest(anvil_chain: Chain) -> list[LocalAccount]:
    """Fifteen honest miners, to bond 20 units each (300)."""
    return fund(anvil_chain, 15)


def test_a_quarter_of_the_bond_wins_a_21_seat_majority_less_than_once_in_a_hundred(
    anvil_chain: Chain, honest: list[LocalAccount]
) -> None:
    chain = anvil_chain
    pool = deploy_factory(chain, chain.accounts[0]).pool()
    sybils = fund(chain, 25)  # 100 units over 25 addresses, bonded among the honest ones
    for i, miner in enumerate(honest):
        pool.bond(HONEST // len(honest), sender=miner)
        bond_all(pool, sybils[i * 25 // 15 : (i + 1) * 25 // 15], ATTACKER // len(sybils))
    assert pool.total_units() == HONEST + ATTACKER

    mine = addresses(sybils)
    seats = [sum(j in mine for j in jury) for jury in previews(chain, pool, seeds(RUNS), SEATS)]
    p = ATTACKER / (HONEST + ATTACKER)
    expected = binomial_tail(SEATS, MAJORITY, p)
    assert round(expected, 4) == 0.0064
    rate = sum(s >= MAJORITY for s in seats) / RUNS
    standard_error = math.sqrt(expected * (1 - expected) / RUNS)
    assert abs(rate - expected) < 4 * standard_error, (rate, expected)
    assert rate < 0.01
    # Each seat is the attacker's with probability p: the mean is 21p = 5.25 seats.
    mean = sum(seats) / RUNS
    assert abs(mean - SEATS * p) < 4 * math.sqrt(SEATS * p * (1 - p) / RUNS), mean


def test_many_small_bonds_draw_no_more_seats_than_one_bond_of_the_same_total(
    anvil_chain: Chain, honest: list[LocalAccount]
) -> None:
    """The same 100 units, as one bond or as fifty bonds of two: every draw gives the attacker
    the same seats (the draw weighs units, not addresses), and the sybils back fewer of them
    (a two-unit bond backs at most two seats of one jury)."""
    chain = anvil_chain
    whale = fund(chain, 1)
    sybils = fund(chain, 50)
    pools = []
    for holders, units in ((whale, ATTACKER), (sybils, ATTACKER // len(sybils))):
        pool = deploy_factory(chain, chain.accounts[0]).pool()
        bond_all(pool, honest, HONEST // len(honest))
        bond_all(pool, holders, units)
        assert pool.total_units() == HONEST + ATTACKER
        pools.append((pool, addresses(holders), units))

    drawn = []
    for pool, mine, units in pools:
        juries = previews(chain, pool, seeds(RUNS), SEATS)
        counts = [[j for j in jury if j in mine] for jury in juries]
        seated = [len(c) for c in counts]
        backed = [sum(min(c.count(j), units) for j in set(c)) for c in counts]
        drawn.append((seated, backed))
    (one_seated, one_backed), (many_seated, many_backed) = drawn
    assert one_seated == many_seated  # seat for seat, draw for draw
    assert one_backed == one_seated
    assert sum(many_backed) <= sum(one_backed)
    assert sum(one_seated) / RUNS == pytest.approx(SEATS / 4, abs=0.15)


def draw_seed(chain: Chain, competition: str, target: int) -> bytes:
    """The seed MinerPool.draw uses for a first vote: keccak(abi.encode(blockhash(target),
    competition, bytes32(1)))."""
    block_hash = bytes(chain.w3.eth.get_block(target)["hash"])
    return keccak(
        encode(["bytes32", "address", "bytes32"], [block_hash, competition, (1).to_bytes(32)])
    )


def test_bonds_sent_while_draws_are_sealed_change_no_jury(
    anvil_chain: Chain, honest: list[LocalAccount]
) -> None:
    """Three competitions seal their draws; between the seals and the draws an attacker bonds
    from five addresses (new and bonded ones, amounts of its choosing). Every jury is the one
    the tree as sealed gives, and the bonds join the draw only once no draw is sealed."""
    chain = anvil_chain
    host, anyone = chain.accounts[0], chain.accounts[9]
    factory = deploy_factory(chain, host)
    pool = factory.pool()
    bond_all(pool, honest, HONEST // len(honest))
    attacker = fund(chain, 5)
    bond_all(pool, attacker[:2], 3)
    games = [create_game(chain, factory, host, seats=SEATS) for _ in range(3)]
    for game in games:
        game.submit(chain.accounts[1])
    games[-1].to_reveal()  # every submit deadline has passed
    probe = pool.preview(seed(0), SEATS)
    targets = []
    for game in games:
        assert not game.competition.draw_jury(sender=anyone)
        targets.append(pool.sealed_target(game.competition.address))
    assert pool.open_seals() == 3
    total = pool.total_units()
    for units, sybil in enumerate(attacker, start=1):
        pool.bond(units, sender=sybil)
        assert pool.juror(sybil.address).pending_units == units
    assert pool.total_units() == total
    assert pool.preview(seed(0), SEATS) == probe  # the tree did not move

    while chain.w3.eth.block_number <= max(targets):
        chain.mine()
    for game, target in zip(games, targets, strict=True):
        dealt = pool.preview(draw_seed(chain, game.competition.address, target), SEATS)
        with pytest.raises(custom_error_class("BondChangesPaused")):
            pool.apply_pending(attacker[0].address, sender=anyone)
        while not game.competition.draw_jury(sender=anyone):
            pass  # the next batch of seats
        drawn = [j for d in game.competition.juries() for j in d.jurors]
        assert drawn == dealt
    assert pool.open_seals() == 0
    for sybil in attacker:
        pool.apply_pending(sybil.address, sender=anyone)
    assert pool.total_units() == total + sum(range(1, 6))
    assert pool.preview(seed(0), SEATS) != probe  # now they count
