"""The miner pool: bonds in whole seat units, unbonding with a delay, draws sealed to a future
block (bond changes wait for them), unbacked seats, slashes that burn, and who may use it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.types import TxReceipt

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory, MinerPool
from tests.helpers.game import (
    CONFIG_ABI,
    SEAT,
    UNBONDING,
    Game,
    create_game,
    default_params,
    deploy_factory,
    fund,
)
from tests.helpers.reverts import raises

ZERO = "0x" + "00" * 20
# Anvil serves EIP-2935's 8,191 block hashes (mining past them takes minutes); py-evm has no
# history contract, so its seals expire after 256 blocks.
IN_PROCESS = pytest.mark.parametrize("chain", ["eth-tester"], indirect=True)


def mine_past(chain: Chain, block: int) -> None:
    """Mine until the latest block is past `block` (a call is estimated against it)."""
    while chain.w3.eth.block_number <= block:
        chain.mine()


def gas_paid(chain: Chain, receipt: TxReceipt) -> int:
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


def tip(chain: Chain, receipt: TxReceipt) -> int:
    """What the transaction's block producer earned from it (the dev chains' coinbase is the
    zero address, which is also where burned stakes go)."""
    block = chain.w3.eth.get_block(receipt["blockNumber"])
    per_gas = int(receipt["effectiveGasPrice"]) - int(block.get("baseFeePerGas", 0))
    return int(receipt["gasUsed"]) * per_gas if block["miner"] == ZERO else 0


def pool_events(pool: MinerPool, name: str) -> list[Any]:
    return [e.args for e in getattr(pool.contract.events, name)().get_logs(from_block=0)]


def seed(chain: Chain, competition: str, target: int, r: int = 1) -> bytes:
    """The draw's seed: the sealed block's hash, bound to the competition and the round."""
    block_hash = bytes(chain.w3.eth.get_block(target)["hash"])
    return keccak(
        encode(["bytes32", "address", "bytes32"], [block_hash, competition, r.to_bytes(32)])
    )


def seal(game: Game) -> int:
    """Submit, close submissions, seal the draw; return the sealed block number."""
    game.submit(game.chain.accounts[1])
    game.to_reveal()
    assert game.competition.draw_jury(sender=game.chain.accounts[9]) is False
    return game.competition.pool().sealed_target(game.competition.address)


def draw_sealed(game: Game, target: int) -> None:
    mine_past(game.chain, target)
    assert game.competition.draw_jury(sender=game.chain.accounts[9]) is True


# -- bonds --------------------------------------------------------------------------------------


def test_bond_takes_whole_units_and_at_least_the_minimum(
    chain: Chain, host: LocalAccount, miners: list[LocalAccount]
) -> None:
    pool = deploy_factory(chain, host, min_units=3).pool()
    miner = miners[0]
    with raises("BondNotWholeUnits"):
        pool.bond(0, sender=miner)
    with raises("BondNotWholeUnits") as caught:
        chain.transact(pool.contract.functions.bond(), sender=miner, value=SEAT * 3 + SEAT // 2)
    assert caught.value.arguments == {"amount": SEAT * 3 + SEAT // 2, "seatStake": SEAT}
    with raises("BondTooSmall") as small:
        pool.bond(2, sender=miner)
    assert small.value.arguments == {"units": 2, "minUnits": 3}
    pool.bond(3, sender=miner)
    pool.bond(1, sender=miner)  # over the minimum, any whole unit more
    assert (pool.juror(miner.address).units, pool.total_units()) == (4, 4)
    assert chain.balance(pool.address) == 4 * SEAT
    # Leaving: all of it, or keep the minimum.
    with raises("BondTooSmall"):
        pool.request_unbond(2, sender=miner)
    pool.request_unbond(4, sender=miner)
    assert (pool.juror(miner.address).units, pool.total_units()) == (0, 0)


@pytest.mark.parametrize(("seat_stake", "min_units"), [(0, 1), (SEAT, 0)])
def test_a_pool_needs_a_stake_and_a_minimum(
    chain: Chain, host: LocalAccount, seat_stake: int, min_units: int
) -> None:
    chain.contract(artifacts.load("MinerPool"), ZERO)  # decode the pool's errors
    with raises("PoolParamsInvalid"):
        deploy_factory(chain, host, seat_stake=seat_stake, min_units=min_units)


def test_unbond_takes_only_free_units_and_withdraw_waits_for_the_delay(
    chain: Chain, create: Callable[..., Game], pool: MinerPool, competitors: list[LocalAccount]
) -> None:
    game = create()
    game.submit(competitors[0])
    game.to_reveal()
    jury = game.draw()
    juror = max(jury, key=lambda j: (jury[j], j))
    who = game.accounts[juror]
    locked = jury[juror]
    assert pool.juror(juror).locked == locked
    free = 10 - locked
    with raises("UnbondTooLarge") as caught:
        pool.request_unbond(free + 1, sender=who)  # a locked unit backs a seat
    assert caught.value.arguments == {"units": free + 1, "free": free}
    with raises("UnbondTooLarge"):
        pool.request_unbond(0, sender=who)
    total = pool.total_units()
    pool.request_unbond(free, sender=who)
    asked = pool.juror(juror)
    assert (asked.units, asked.locked, asked.unbonding) == (locked, locked, free)
    assert asked.unbond_at == chain.timestamp() + UNBONDING
    assert pool.total_units() == total - free  # out of the draw at once
    with raises("WithdrawTooEarly"):
        pool.withdraw(sender=who)
    chain.travel_to(asked.unbond_at - 2)
    with raises("WithdrawTooEarly"):
        pool.withdraw(sender=who)
    chain.travel_to(asked.unbond_at)
    before = chain.balance(juror)
    receipt = pool.withdraw(sender=who)
    assert chain.balance(juror) == before + free * SEAT - gas_paid(chain, receipt)
    assert pool_events(pool, "Withdrawn")[-1].amount == free * SEAT
    with raises("NothingToWithdraw"):
        pool.withdraw(sender=who)


# -- sealed draws ---------------------------------------------------------------------------------


def test_bonds_made_while_a_draw_is_sealed_wait_and_do_not_change_the_jury(
    chain: Chain, create: Callable[..., Game], pool: MinerPool, miners: list[LocalAccount]
) -> None:
    """Otherwise a bond placed once the sealed block is known would move every seat's point
    in the tree, and a miner could choose its jury by trying amounts."""
    whale, minnow = fund(chain, 2, ether=200)
    game = create(seats=7)
    comp = game.competition
    target = seal(game)
    assert pool.open_seals() == 1
    pool.bond(1_000, sender=whale)  # twenty times the pool: it would sit on nearly every seat
    pool.bond(1, sender=minnow)
    assert (pool.juror(whale.address).pending_units, pool.juror(whale.address).units) == (1_000, 0)
    assert pool.total_units() == 50
    assert [e.pending for e in pool_events(pool, "Bonded")[-2:]] == [True, True]
    with raises("BondChangesPaused"):
        pool.request_unbond(1, sender=miners[0])
    with raises("BondChangesPaused"):
        pool.apply_pending(whale.address, sender=whale)

    draw_sealed(game, target)
    assert pool.open_seals() == 0
    (drawn,) = comp.juries()
    assert drawn.jurors == pool.preview(seed(chain, comp.address, target), 7)
    assert whale.address not in drawn.jurors
    # The bonds join the tree after the draw: by anyone's applyPending, or the next bond.
    pool.apply_pending(whale.address, sender=miners[0])
    pool.bond(1, sender=minnow)
    assert (pool.juror(whale.address).units, pool.juror(whale.address).pending_units) == (1_000, 0)
    assert (pool.juror(minnow.address).units, pool.juror(minnow.address).pending_units) == (2, 0)
    assert pool.total_units() == 1_052
    # With the whale in the tree, the same seed would have drawn it.
    assert whale.address in pool.preview(seed(chain, comp.address, target), 7)


@IN_PROCESS
def test_a_seal_nobody_draws_in_time_expires(
    chain: Chain, create: Callable[..., Game], pool: MinerPool, miners: list[LocalAccount]
) -> None:
    game = create()
    comp = game.competition
    target = seal(game)
    window = pool.draw_window()
    assert window == 256
    with raises("SealNotExpired") as early:
        pool.expire_seal(comp.address, sender=miners[0])
    assert early.value.arguments["expiresAfter"] == target + window
    other = create()
    with raises("DrawNotSealed"):
        pool.expire_seal(other.competition.address, sender=miners[0])
    mine_past(chain, target + window)
    with raises("DrawHashUnavailable"):  # the sealed block's hash is out of reach
        comp.draw_jury(sender=miners[0])
    pool.expire_seal(comp.address, sender=miners[0])
    assert (pool.open_seals(), pool.sealed_target(comp.address)) == (0, 0)
    assert [e.targetBlock for e in pool_events(pool, "SealExpired")] == [target]
    pool.request_unbond(1, sender=miners[0])  # bond changes resume
    # The competition seals again, to a new block, and draws.
    assert comp.draw_jury(sender=miners[0]) is False
    again = pool.sealed_target(comp.address)
    assert again > target + window
    draw_sealed(game, again)
    assert comp.round(1).drawn


def test_a_competition_cannot_finalize_away_its_sealed_draw(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """The attack: a host enters its own empty competition from another address, seals the
    draw once the reveal deadline has passed and finalizes NoEntries in the same breath. A
    finalized competition can no longer draw, so the seal would pause every miner's unbonding
    until it expired (8,191 blocks with EIP-2935), renewable for the gas of another one."""
    game = create()
    comp = game.competition
    game.submit(competitors[0])
    game.to_key()  # nothing revealed: NoEntries is due
    assert comp.draw_jury(sender=host) is False
    with raises("SettlementTooEarly"):
        game.finalize(caller=host)
    assert pool.open_seals() == 1
    with raises("BondChangesPaused"):
        pool.request_unbond(1, sender=miners[0])
    # Anyone draws the sealed jury (for the bounty); then the competition finalizes.
    draw_sealed(game, pool.sealed_target(comp.address))
    game.finalize(caller=host)
    assert pool.open_seals() == 0
    pool.request_unbond(1, sender=miners[0])
    game.settle_jurors()
    assert all(pool.juror(j).locked == 0 for j in game.jury())


# -- unbacked seats ------------------------------------------------------------------------------


def test_a_juror_whose_units_are_all_locked_gets_unbacked_seats(
    chain: Chain, host: LocalAccount
) -> None:
    """Seven miners with one unit each: a seat drawn for a miner whose unit already backs a
    seat (in this jury or another competition's) is unbacked, counts as absent, cannot vote."""
    factory = deploy_factory(chain, host)
    pool = factory.pool()
    ones = fund(chain, 7, ether=1)
    for miner in ones:
        pool.bond(1, sender=miner)
    for _ in range(10):  # each jury locks a unit at least while one is free: within eight
        # juries, some juror has no backed seat at all
        game = create_game(chain, factory, host)
        game.know(ones)
        target = seal(game)
        free = {m.address: pool.juror(m.address).free for m in ones}
        draw_sealed(game, target)
        (drawn,) = game.competition.juries()
        expected = []
        for juror in drawn.jurors:
            expected.append(free[juror] > 0)
            free[juror] -= free[juror] > 0
        assert drawn.backed == expected
        r1 = game.competition.round(1)
        assert (r1.seats, r1.backed_seats) == (3, sum(expected))
        unbacked = [j for j, backed in game.jury().items() if backed == 0]
        if unbacked:
            break
    else:
        raise AssertionError("ten juries of 3 from 7 units never ran out of free units")
    game.reveal(1, chain.accounts[1])
    game.to_key()
    game.reveal_key()
    with raises("NotJuror"):  # a juror with no backed seat has no vote
        game.competition.commit_vote(keccak(b"vote"), b"s" * 32, sender=game.accounts[unbacked[0]])
    assert pool.total_units() == 7  # locked units stay in the tree


# -- slashing -------------------------------------------------------------------------------------


def finalized_with_a_silent_juror(
    chain: Chain, create: Callable[..., Game], owner: LocalAccount
) -> tuple[Game, str]:
    """A competition won by a root majority in which one juror never voted (its seats are
    burned once it is settled): replayed from a snapshot until the jury has a minority juror."""
    for attempt in range(40):
        saved = chain.snapshot()
        for _ in range(attempt):
            chain.mine()
        game = create()
        game.submit(owner)
        game.to_reveal()
        jury = game.draw()
        silent = min(jury, key=lambda j: (jury[j], j))
        if 2 * (3 - jury[silent]) > 3:
            game.reveal(1, owner)
            game.to_key()
            game.reveal_key()
            game.play_votes(lambda j, silent=silent: None if j == silent else {1: 300})
            game.publish_all()
            game.finalize()
            return game, silent
        chain.revert(saved)
    raise AssertionError("no jury with a minority juror in 40 draws")


@pytest.mark.parametrize("sealed", [False, True], ids=["no-seal", "while-sealed"])
def test_a_slash_burns_the_stake(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
    sealed: bool,
) -> None:
    game, silent = finalized_with_a_silent_juror(chain, create, competitors[0])
    seats = pool.locked_for(game.competition.address, silent)
    assert seats == game.jury()[silent] > 0
    if sealed:  # another competition's draw is sealed when the slash comes
        later = create()
        target = seal(later)
    before = pool.juror(silent)
    total, balance, burned = pool.total_units(), chain.balance(pool.address), chain.balance(ZERO)
    receipt = game.competition.settle_jurors(1, [silent], sender=anyone)

    # The stake is burned at once: sent to the zero address, out of the pool's balance.
    assert chain.balance(ZERO) - burned - tip(chain, receipt) == seats * SEAT
    assert chain.balance(pool.address) == balance - seats * SEAT
    assert [(e.juror, e.seats, e.burned) for e in pool_events(pool, "SeatsSlashed")] == [
        (silent, seats, seats * SEAT)
    ]
    after = pool.juror(silent)
    assert after.locked == before.locked - seats
    if not sealed:
        assert (after.units, pool.total_units()) == (before.units - seats, total - seats)
        return
    # While a draw is sealed the tree does not move: the burned units wait, and back no seat.
    assert (after.units, after.pending_slash, pool.total_units()) == (before.units, seats, total)
    with raises("BondChangesPaused"):
        pool.apply_pending(silent, sender=anyone)
    draw_sealed(later, target)
    pool.apply_pending(silent, sender=anyone)
    applied = pool.juror(silent)
    assert (applied.units, applied.pending_slash) == (before.units - seats, 0)
    assert pool.total_units() == total - seats
    assert chain.balance(pool.address) == SEAT * (pool.total_units())


# -- who may use the pool --------------------------------------------------------------------------


def test_only_the_factorys_competitions_can_seal_draw_release_or_slash(
    chain: Chain,
    factory: CompetitionFactory,
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    miner = chain.accounts[4].address
    calls = {
        "seal": pool.contract.functions.seal(),
        "draw": pool.contract.functions.draw(3, bytes(32)),
        "release": pool.contract.functions.release(miner, 1),
        "slash": pool.contract.functions.slash(miner, 1, miner),
    }
    for fn in calls.values():
        with raises("PoolCallerNotCompetition"):
            chain.transact(fn, sender=anyone)
    with raises("PoolCallerNotFactory"):
        chain.transact(pool.contract.functions.register(anyone.address), sender=anyone)

    # A clone of the real implementation made outside the factory is not registered.
    maker = chain.deploy(artifacts.load_fixture("CloneMaker"), sender=host)
    implementation = chain.call(factory.contract.functions.implementation())
    params = default_params(chain, b"k" * 32)
    args = encode(CONFIG_ABI, [host.address, 5, pool.address, "0x" + "00" * 20, params.as_abi()])
    make = maker.functions.make(implementation, args)
    clone = make.call({"from": host.address, "value": params.funding(5)})
    chain.transact(make, sender=host, value=params.funding(5))
    rogue = Competition(chain, clone)
    game = Game(chain, rogue, params, b"k" * 32, host, 5)
    game.submit(competitors[0])
    game.to_reveal()
    with raises("PoolCallerNotCompetition") as caught:
        rogue.draw_jury(sender=anyone)
    assert caught.value.arguments == {"caller": clone}
    is_competition = pool.contract.functions.isCompetition
    assert chain.call(is_competition(clone)) is False
    real = create_game(chain, factory, host)
    assert chain.call(is_competition(real.competition.address)) is True


# -- the draw -------------------------------------------------------------------------------------


@IN_PROCESS
def test_the_draw_is_weighted_by_bonded_units(chain: Chain, host: LocalAccount) -> None:
    """4,000 seats drawn over forty seeds from bonds of 10, 20, 30 and 40 units: the counts
    fit 10/20/30/40 % (chi-square, 3 degrees of freedom, under its 0.1 % critical value)."""
    pool = deploy_factory(chain, host).pool()
    bonders = chain.accounts[4:8]
    for units, miner in zip((10, 20, 30, 40), bonders, strict=True):
        pool.bond(units, sender=miner)
    counts: Counter[str] = Counter()
    for k in range(40):  # a jury has at most as many seats as the pool has units
        counts.update(pool.preview(keccak(k.to_bytes(32)), 100))
    expected = {m.address: 4_000 * w / 100 for m, w in zip(bonders, (10, 20, 30, 40), strict=True)}
    assert set(counts) == set(expected)
    chi2 = sum((counts[a] - e) ** 2 / e for a, e in expected.items())
    assert chi2 < 16.27
    with raises("DrawSeatsInvalid"):
        pool.preview(bytes(32), 0)
    with raises("PoolTooSmall") as caught:
        pool.preview(bytes(32), 101)  # more seats than units: some could never be backed
    assert caught.value.arguments == {"units": 100, "required": 101}


@pytest.mark.anvil
def test_the_pool_refuses_a_juror_past_its_capacity(anvil_chain: Chain, host: LocalAccount) -> None:
    """The draw tree holds 2**16 jurors. 65,536 bonds take hours, so the count is set to the
    limit through anvil's storage access; a juror already in the tree may still add units."""
    chain = anvil_chain
    pool = deploy_factory(chain, host).pool()
    first, newcomer = chain.accounts[4], chain.accounts[5]
    pool.bond(1, sender=first)
    slot = 2  # totalUnits, openSeals, jurorCount: the pool's third storage slot
    assert int.from_bytes(chain.w3.eth.get_storage_at(pool.address, slot)) == 1
    assert chain.call(pool.contract.functions.jurorCount()) == 1
    chain._rpc("anvil_setStorageAt", [pool.address, hex(slot), "0x" + (2**16).to_bytes(32).hex()])
    with raises("JurorLimitReached") as caught:
        pool.bond(1, sender=newcomer)
    assert caught.value.arguments == {"limit": 2**16}
    pool.bond(1, sender=first)
    assert pool.juror(first.address).units == 2
