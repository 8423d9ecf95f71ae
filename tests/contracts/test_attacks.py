"""The attacks of issue 12, each played as the attacker would play it, and what each nets.

Every test below gives the attacker several addresses (made with `fund`), its own bonded
miners where it has any, and last-second timing where timing matters; then it adds up
everything the attacker's addresses paid (prize, bond, buy-ins, bonds, burned stakes; gas
excluded) against everything they got back (claims, bonds still in the pool), and asserts that
net is at most zero, or that the attack reverts. The textbook copying attacks v1 already held
against follow at the end (re-entrancy, refusing payment and forced ether: test_lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import Competition, MinerPool
from deml.contracts.commitments import model_commitment, new_salt, vote_commitment
from deml.contracts.score_tree import vote_hash, winner_of
from deml.contracts.types import BPS, HOST_FAULT, Outcome
from tests.helpers.game import (
    BOUNTY,
    FEE,
    PRIZE,
    SEAT,
    TEST_SET,
    Game,
    bond_all,
    create_game,
    deploy_factory,
    fund,
    vector,
)
from tests.helpers.reverts import raises

JURY = 21  # the public networks' default first jury; the test pool holds 50 units (>= 2n+1)


# -- the attacker's books --------------------------------------------------------------------


class Books:
    """What a set of addresses is worth (balances, plus bonds in the pool), with the gas their
    transactions cost added back: the attacker's net result is how much that worth changed."""

    def __init__(self, chain: Chain, pool: MinerPool, holders: Iterable[str]) -> None:
        self.chain = chain
        self.pool = pool
        self.holders = {to_checksum_address(h) for h in holders}
        self.first_block = chain.w3.eth.block_number + 1
        self.start = self.worth()

    def worth(self) -> int:
        """Ether held, plus every pool unit still the holders' (bonded, waiting or unbonding)."""
        total = 0
        for holder in self.holders:
            j = self.pool.juror(holder)
            units = j.units + j.pending_units - j.pending_slash + j.unbonding
            total += self.chain.balance(holder) + units * self.pool.seat_stake()
        return total

    def gas(self) -> int:
        """Wei the holders spent on gas since the books opened (not part of any attack)."""
        w3, spent = self.chain.w3, 0
        for number in range(self.first_block, w3.eth.block_number + 1):
            for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
                if to_checksum_address(tx["from"]) in self.holders:
                    receipt = w3.eth.get_transaction_receipt(tx["hash"])
                    spent += receipt["gasUsed"] * receipt["effectiveGasPrice"]
        return spent

    def net(self) -> int:
        return self.worth() + self.gas() - self.start


def collect(game: Game, accounts: Iterable[LocalAccount]) -> None:
    """Each of `accounts` claims whatever the competition owes it."""
    for account in accounts:
        if game.competition.claimable(account.address):
            game.competition.claim(sender=account)


# -- the draw --------------------------------------------------------------------------------


def draw_seed(chain: Chain, competition: str, target: int, r: int) -> bytes:
    """The seed MinerPool.draw uses: keccak(abi.encode(blockhash(target), competition, r))."""
    block_hash = bytes(chain.w3.eth.get_block(target)["hash"])
    return keccak(
        encode(["bytes32", "address", "bytes32"], [block_hash, competition, r.to_bytes(32, "big")])
    )


def draw(
    game: Game,
    caller: LocalAccount | None = None,
    luck: Callable[[list[str]], bool] | None = None,
) -> dict[str, int]:
    """Seal and draw the current vote's jury; return juror -> backed seats.

    `luck` plays the block producer, the one party that can grind a draw: the sealed block is
    re-mined (a new timestamp, so a new hash) until the jury it gives satisfies `luck`. Tests
    use it to hand the attacker the best draw its bond allows, the worst case for the defence.
    The draw itself is checked against `pool.preview` of the sealed block's seed.
    """
    chain, comp = game.chain, game.competition
    pool = comp.pool()
    caller = caller or chain.accounts[9]
    r = comp.summary().round
    seats = game.params.seats if r == 1 else game.params.revote_seats
    assert not comp.draw_jury(sender=caller)  # seals the draw to a block not yet produced
    target = pool.sealed_target(comp.address)
    while chain.w3.eth.block_number < target - 1:
        chain.mine()
    for attempt in range(1, 400):
        snapshot = chain.snapshot() if luck else None
        chain.increase_time(attempt)  # mines the sealed block
        jurors = pool.preview(draw_seed(chain, comp.address, target, r), seats)
        if luck is None or luck(jurors):
            break
        chain.revert(snapshot)
    else:
        pytest.fail("no draw gave the luck asked for")
    chain.mine()  # anvil estimates at the latest block, which must be past the sealed one
    finish_draw(comp, caller)
    assert drawn_seats(comp, r) == jurors
    return game.jury()


def finish_draw(comp: Competition, caller: LocalAccount) -> None:
    """Draw the sealed jury's seats, a batch per call, until it is complete."""
    while not comp.draw_jury(sender=caller):
        pass


def drawn_seats(comp: Competition, r: int) -> list[str]:
    """Round r's jurors, seat by seat, over the batches of its draw."""
    return [j for drawn in comp.juries() if drawn.round == r for j in drawn.jurors]


def seats_of(jurors: list[str], holders: Iterable[LocalAccount]) -> int:
    """Seats drawn for any of `holders`."""
    mine = {h.address for h in holders}
    return sum(j in mine for j in jurors)


def one_unit_seats(jurors: list[str], holders: Iterable[LocalAccount]) -> int:
    """Seats a draw backs for holders of one unit each: one per holder drawn, however often."""
    return len(set(jurors) & {h.address for h in holders})


def open_game(
    game: Game, entries: list[tuple[LocalAccount, bytes | None]], **draw_args: object
) -> list[int]:
    """Each entry submitted, the jury drawn, every model and then the key revealed."""
    ids = [game.submit(who, model) for who, model in entries]
    game.to_reveal()
    draw(game, **draw_args)  # type: ignore[arg-type]
    for sid, (who, _) in zip(ids, entries, strict=True):
        game.reveal(sid, who)
    game.to_key()
    game.reveal_key()
    return ids


def settlements(game: Game) -> dict[str, tuple[int, int, int]]:
    """juror -> (seats kept, seats burned, pay), over every vote."""
    out: dict[str, tuple[int, int, int]] = {}
    for s in game.competition.juror_settlements():
        kept, burned, reward = out.get(s.juror, (0, 0, 0))
        out[s.juror] = (kept + s.kept, burned + s.burned, reward + s.reward)
    return out


def winner_amount(prize: int, buy_ins: int, winner_bps: int = 9_000) -> int:
    """The winner's share: buy-ins count only up to prize * minerBps / winnerBps."""
    cap = prize * (BPS - winner_bps) // winner_bps
    return (prize + min(buy_ins, cap)) * winner_bps // BPS


def assert_drained(game: Game) -> None:
    assert game.competition.liabilities() == 0
    assert game.chain.balance(game.competition.address) == 0


# -- 1. the host withholds the key after revealing junk entries ----------------------------


def test_host_withholding_the_key_after_its_sybil_entries_loses_its_bond(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
) -> None:
    sybils = fund(chain, 3)
    books = Books(chain, pool, [host.address, *(s.address for s in sybils)])
    game = create()
    honest = competitors[0]
    honest_id = game.submit(honest)
    junk = [game.submit(s, b"junk %d" % i) for s in sybils for i in range(3)]  # 9 entries
    game.to_reveal()
    draw(game, caller=host)  # the host even earns the draw bounty
    game.reveal(honest_id, honest)
    assert game.competition.revealed_model(honest_id) == game.models[honest_id]  # the prey
    # The junk is revealed in the window's last seconds, when nobody can react...
    chain.travel_to(game.params.reveal_deadline - 20)
    for sid, owner in zip(junk, [s for s in sybils for _ in range(3)], strict=True):
        game.reveal(sid, owner)
    assert game.competition.summary().revealed == 10
    # ...and the key is never revealed.
    game.to_key_deadline()
    game.finalize()
    game.settle_jurors()
    collect(game, [host, *sybils, honest, *game.accounts.values()])

    summary = game.competition.summary()
    assert summary.outcome == Outcome.KEY_WITHHELD
    assert summary.prize_per_reveal == (PRIZE - PRIZE * 1_000 // BPS) // 10
    # Paid: prize, bond, bounties, nine buy-ins. Back: nine shares of 90% of the prize, the
    # buy-ins, the bounty it earned and the one nobody needed. The bond is burned.
    net = books.net()
    assert net == 9 * summary.prize_per_reveal - PRIZE - game.params.host_bond
    assert net <= -game.params.host_bond
    assert_drained(game)


# -- 2. a tie or a void returns nothing to the host --------------------------------------


def test_sybil_miners_bonded_next_to_a_competition_get_no_seat_of_their_own(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """v1 let two miners register 10 s before the vote and tie it. Now a miner bonds in the
    pool every competition of the factory shares: a bond sent 10 s before the submit deadline
    joins the draw only by its weight, and one sent once the draw is sealed waits."""
    early, late = fund(chain, 2), fund(chain, 2)
    sybils = [*early, *late]
    books = Books(chain, pool, [host.address, *(s.address for s in sybils)])
    game = create(seats=JURY)
    game.know(sybils)
    a, b = competitors[:2]
    ids = [game.submit(a), game.submit(b)]
    chain.travel_to(game.params.submit_deadline - 10)
    bond_all(pool, early, 1)
    game.to_reveal()
    assert not game.competition.draw_jury(sender=anyone)  # sealed: bond changes now wait
    for s in late:
        pool.bond(1, sender=s)
        assert pool.juror(s.address).pending_units == 1
    assert pool.total_units() == 50 + len(early)
    target = pool.sealed_target(game.competition.address)
    while chain.w3.eth.block_number <= target:
        chain.mine()
    finish_draw(game.competition, anyone)
    jury = game.jury()
    assert not set(jury) & {s.address for s in late}
    # Drawn or not, a one-unit bond backs one seat: the early sybils hold at most 2 of 21.
    assert sum(jury.get(s.address, 0) for s in early) <= 2
    for sid, who in zip(ids, (a, b), strict=True):
        game.reveal(sid, who)
    game.to_key()
    game.reveal_key()
    with raises("NotJuror"):
        game.competition.commit_vote(HOST_FAULT, new_salt(), sender=late[0])
    truth = {ids[0]: 300, ids[1]: 250}
    tie = {ids[0]: 0, ids[1]: 0}  # what the sybils vote, if drawn
    game.play_votes(lambda j: tie if j in {s.address for s in early} else truth)
    game.publish_all()
    game.finalize()
    game.settle_jurors()
    collect(game, [host, *sybils, *competitors, *miners, anyone])

    summary = game.competition.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, ids[0])
    burned = sum(settlements(game).get(s.address, (0, 0, 0))[1] for s in early)
    assert burned == sum(jury.get(s.address, 0) for s in early)
    # The host paid the prize and the bounties others earned; its sybils lost what they voted.
    net = books.net()
    assert net == -PRIZE - BOUNTY - BOUNTY - burned * SEAT
    assert net <= -PRIZE


def test_a_void_pays_the_prize_to_the_models_never_back_to_the_host(
    chain: Chain, host: LocalAccount, competitors: list[LocalAccount]
) -> None:
    """The host gets a void (here: every juror of both votes scores every model differently,
    as if the test split made machines disagree) with two sybil entries of its own: the prize
    still goes to the revealed models and the jury, never back to the host."""
    # One unit per miner: no juror backs two seats, so no vector can reach a majority alone.
    factory = deploy_factory(chain, host)
    honest_miners = fund(chain, 9)
    bond_all(factory.pool(), honest_miners, 1)
    sybils = fund(chain, 2)
    books = Books(chain, factory.pool(), [host.address, *(s.address for s in sybils)])
    game = create_game(chain, factory, host, seats=3)
    game.know(honest_miners)
    entries = [(competitors[0], None), (sybils[0], None), (sybils[1], None)]
    ids = open_game(game, entries)

    def split(juror: str) -> dict[int, int]:
        k = [m.address for m in honest_miners].index(juror)
        return {sid: 100 + 10 * k + sid for sid in ids}

    for _ in range(2):  # the first vote, then the re-vote by 2n+1 seats
        game.play_votes(split)
        game.publish_vectors()
        game.to_tally_end()
        game.settle_tally()
        if game.competition.summary().round == 2 and not game.competition.round(2).drawn:
            draw(game)
    game.to_disputes_end()
    game.finalize()
    game.settle_jurors()
    collect(game, [host, *sybils, *competitors, *honest_miners, *chain.accounts])

    summary = game.competition.summary()
    assert (summary.outcome, summary.round) == (Outcome.VOID, 2)
    assert summary.prize_per_reveal == (PRIZE - PRIZE * 1_000 // BPS) // 3
    # The host's own claim was its bond and the publication bounty nobody could earn.
    (claim,) = game.competition.claims(account=host.address)
    assert claim.amount == game.params.host_bond + BOUNTY
    net = books.net()
    assert net == 2 * summary.prize_per_reveal - PRIZE - 2 * BOUNTY
    assert net <= 0
    assert_drained(game)


# -- 3. a competitor's sybil miners veto a better rival ------------------------------------


def test_a_competitors_minority_of_sybil_miners_cannot_veto_a_better_rival(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    attacker, rival = competitors[:2]
    sybils = fund(chain, 10)
    bond_all(pool, sybils, 1)  # 10 of the pool's 60 units, over ten addresses
    books = Books(chain, pool, [attacker.address, *(s.address for s in sybils)])
    game = create(seats=JURY)
    game.know(sybils)
    # The best draw its bond allows: 5 to 10 backed seats (a one-unit bond backs one seat, so
    # even 11 drawn seats would back only 10: this minority of the pool never holds a majority).
    ids = open_game(
        game,
        [(rival, None), (attacker, None)],
        luck=lambda j: one_unit_seats(j, sybils) >= 5 and seats_of(j, sybils) <= 10,
    )
    rival_id, own_id = ids
    truth = {rival_id: 300, own_id: 280}
    veto = {rival_id: 0, own_id: 280}
    game.play_votes(lambda j: veto if j in {s.address for s in sybils} else truth)
    game.publish_all()
    game.finalize()
    game.settle_jurors()
    collect(game, [attacker, *sybils])

    summary = game.competition.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, rival_id)
    settled = settlements(game)
    attacker_seats = sum(game.jury().get(s.address, 0) for s in sybils)
    assert 5 <= attacker_seats <= 10
    assert sum(settled[s.address][1] for s in sybils if s.address in settled) == attacker_seats
    for m in miners:
        if m.address in settled:  # the honest jurors keep every seat and are paid
            kept, burned, reward = settled[m.address]
            assert (burned, reward) == (0, kept * summary.per_seat)
    net = books.net()
    assert net == -FEE - attacker_seats * SEAT
    assert net < 0


# -- 4. colluders are slashed; a mostly honest liar too ---------------------------------


def test_a_colluding_minority_is_slashed_even_when_honest_on_all_scores_but_one(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    """v1's "mostly disagree" rule let a colluder lie on a few scores for free. Now any
    difference from the winning root burns every seat behind it, and the burned stakes go to
    address(0): the majority's pay is the same as without them."""
    colluders = fund(chain, 8)
    bond_all(pool, colluders, 1)
    owners = [*competitors, *fund(chain, 2)]
    books = Books(chain, pool, [c.address for c in colluders])
    game = create(seats=JURY)
    game.know(colluders)
    ids = open_game(
        game,
        [(o, None) for o in owners],
        luck=lambda j: one_unit_seats(j, colluders) >= 4 and seats_of(j, colluders) <= 10,
    )
    truth = {sid: 200 + 10 * sid for sid in ids}
    lie = {**truth, ids[0]: truth[ids[0]] + 1}  # four scores of five honest
    game.play_votes(lambda j: lie if j in {c.address for c in colluders} else truth)
    game.publish_all()
    pool_before = chain.balance(pool.address)
    game.finalize()
    game.settle_jurors()
    collect(game, [*colluders, *miners])

    summary = game.competition.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, ids[-1])
    jury = game.jury()
    colluding_seats = sum(jury.get(c.address, 0) for c in colluders)
    settled = settlements(game)
    for c in colluders:
        if c.address in jury:
            assert settled[c.address] == (0, jury[c.address], 0)
    honest_seats = sum(b for j, b in jury.items() if j in {m.address for m in miners})
    for m in miners:
        if m.address in jury:
            assert settled[m.address] == (jury[m.address], 0, jury[m.address] * summary.per_seat)
    # The jury's pay is prize + buy-ins - the winner's: the slashed stakes are not in it...
    buy_ins = len(ids) * FEE
    assert summary.jury_amount == PRIZE + buy_ins - winner_amount(PRIZE, buy_ins)
    assert summary.per_seat == summary.jury_amount // honest_seats
    # ...they left the pool, burned.
    assert pool_before - chain.balance(pool.address) == colluding_seats * SEAT
    for c in colluders:
        assert pool.juror(c.address).units == 1 - jury.get(c.address, 0)
    net = books.net()
    assert net == -colluding_seats * SEAT
    assert net < 0


# -- 5. revealing a model once the key is public ------------------------------------------


def test_a_model_cannot_be_revealed_once_the_key_is_public(
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
) -> None:
    """The attacker commits three models, hoping to score them on the decrypted split and
    reveal only the best; the host cannot open the key early to help it."""
    game = create()
    attacker = competitors[0]
    ids = [game.submit(attacker) for _ in range(3)]
    game.to_reveal()
    draw(game)
    game.chain.travel_to(game.params.reveal_deadline - 5)
    with raises("KeyTooEarly") as early:
        game.reveal_key()
    assert early.value.arguments["opensAt"] == game.params.reveal_deadline
    game.to_key()
    game.reveal_key()
    for sid in ids:
        with raises("RevealTooLate") as late:
            game.reveal(sid, attacker)
        assert late.value.arguments["deadline"] == game.params.reveal_deadline
    assert game.competition.summary().revealed == 0


# -- 6. contract wallets as competitor and as miner ----------------------------------------


def deploy_actor(chain: Chain, owner: LocalAccount, funds: int = 0) -> Contract:
    actor = chain.deploy(artifacts.load_fixture("Actor"), sender=owner)
    if funds:
        chain.transfer(actor.address, funds, sender=owner)
    return actor


def act(
    chain: Chain,
    actor: Contract,
    owner: LocalAccount,
    target: Contract,
    call: str,
    *args: object,
    value: int = 0,
) -> None:
    """`actor` calls `target.call(*args)`: a call that leaves no top-level calldata to read."""
    data = target.encode_abi(call, args=list(args))
    chain.transact(actor.functions.exec(target.address, data), sender=owner, value=value)


def test_contract_wallets_compete_and_vote_and_finalize_settles_them(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    owner, other = competitors[:2]
    wallet = deploy_actor(chain, owner)  # a competitor's Safe, say
    juror_wallet = deploy_actor(chain, miners[0])  # a miner's smart account
    act(chain, juror_wallet, miners[0], pool.contract, "bond", value=10 * SEAT)
    game = create()
    comp = game.competition
    model, salt = b"a model revealed by a contract", new_salt()
    act(
        chain,
        wallet,
        owner,
        comp.contract,
        "commit",
        model_commitment(model, salt, wallet.address, comp.address),
        value=FEE,
    )
    other_id = game.submit(other)
    game.to_reveal()
    draw(game, luck=lambda jurors: juror_wallet.address in jurors)
    act(chain, wallet, owner, comp.contract, "reveal", 1, model, salt)
    game.reveal(other_id, other)
    assert comp.revealed_model(1) == model  # from the event: no calldata needed
    game.to_key()
    game.reveal_key()

    truth = {1: 330, other_id: 300}
    tree = vector(truth)
    winner_id, winner_score = winner_of(tree.scores)
    vote, vote_salt = vote_hash(tree.root, tree.count, winner_id, winner_score), new_salt()
    commitment = vote_commitment(vote, vote_salt, juror_wallet.address, comp.address)
    act(chain, juror_wallet, miners[0], comp.contract, "commitVote", commitment)
    people = [j for j, backed in game.jury().items() if backed and j != juror_wallet.address]
    for juror in people:
        game.commit(juror, truth)
    game.to_vote_reveal()
    act(
        chain,
        juror_wallet,
        miners[0],
        comp.contract,
        "revealVote",
        tree.root,
        tree.count,
        winner_id,
        winner_score,
        vote_salt,
    )
    for juror in people:
        game.reveal_vote(juror)
    game.to_tally()
    for chunk in tree.chunks():  # the wallet's root won (perhaps alone: it may hold every seat)
        comp.publish_scores(chunk, sender=chain.accounts[9])
    game.finalize()
    summary = comp.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, 1)

    act(chain, wallet, owner, comp.contract, "claim")
    assert chain.call(wallet.functions.received()) == summary.winner_amount
    seats = comp.seat(1, juror_wallet.address).backed
    act(chain, juror_wallet, miners[0], comp.contract, "claim")  # settles its seats, pays it
    assert chain.call(juror_wallet.functions.received()) == seats * summary.per_seat
    assert pool.juror(juror_wallet.address).locked == 0
    assert pool.juror(juror_wallet.address).units == 10
    game.settle_jurors()
    collect(game, game.accounts.values())
    assert_drained(game)


# -- 7. vote gas does not grow with the submissions -------------------------------------


def reveal_gas(chain: Chain, submissions: int) -> list[int]:
    """A competition with `submissions` revealed models and three jurors: the first reveals a
    lie, the others the truth; the gas of each revealVote, in that order."""
    host, owner = chain.accounts[0], chain.accounts[1]
    factory = deploy_factory(chain, host)
    jurors = [*chain.accounts[4:9], *fund(chain, 2)]
    bond_all(factory.pool(), jurors, 1)  # seven units: enough for a re-vote of 7 seats
    game = create_game(chain, factory, host, max_submissions=submissions)
    game.know(jurors)
    ids = [game.submit(owner, b"model %d" % i) for i in range(submissions)]
    game.to_reveal()
    drawn = draw(game, luck=lambda j: len(set(j)) == 3)
    for sid in ids:
        game.reveal(sid, owner)
    game.to_key()
    game.reveal_key()
    truth = {sid: sid % TEST_SET for sid in ids}
    order = list(drawn)
    for k, juror in enumerate(order):
        game.commit(juror, {**truth, ids[0]: 7} if k == 0 else truth)
    game.to_vote_reveal()
    gas = []
    for juror in order:
        _, salt, tree = game.ballots[juror]
        assert tree is not None
        winner_id, winner_score = winner_of(tree.scores)
        receipt = game.competition.reveal_vote(
            tree.root, tree.count, winner_id, winner_score, salt, sender=game.accounts[juror]
        )
        gas.append(int(receipt["gasUsed"]))
    return gas


@pytest.mark.slow
@pytest.mark.anvil
def test_a_jurors_vote_costs_the_same_gas_at_10_and_at_500_submissions(
    anvil_chain: Chain,
) -> None:
    """v1 charged about 6.7k gas a score (30k after a lying first voter). (anvil only: the 1,000
    commits and reveals take minutes on the in-process chain, which runs the same gas rules.)"""
    small = reveal_gas(anvil_chain, 10)
    large = reveal_gas(anvil_chain, 500)
    # Same work at both sizes: a liar's reveal, the first honest one (it records the verdict),
    # a later honest one. Only the calldata's zero bytes differ (random salts and roots).
    for few, many in zip(small, large, strict=True):
        assert abs(many - few) <= 400, (small, large)
    assert max(large) < 200_000  # v1: 500 scores at 6.7k-30k gas each, 3.3M-15M gas


# -- 8. floors on the parameters -------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"entry_fee": 0}, "EntryFeeInvalid"),
        ({"winner_bps": 10_000}, "SharesInvalid"),
        ({"winner_bps": 0}, "SharesInvalid"),
        ({"seats": 65_535}, "SeatsInvalid"),  # v1's quorum of 65,535
        ({"seats": 4}, "SeatsInvalid"),  # even: a tie is possible
        ({"seats": 1}, "SeatsInvalid"),  # under the factory's floor of 3
        ({"seats": 25}, "PoolTooSmall"),  # a re-vote of 51 seats from 50 units
        ({"host_bond": PRIZE - 1}, "HostBondTooSmall"),
        ({"test_set_size": 0}, "TestSetSizeInvalid"),
        ({"max_model_bytes": 0}, "ModelCapInvalid"),
        ({"max_submissions": 0}, "SubmissionCapInvalid"),
        ({"tally_duration": 1}, "WindowTooShort"),  # the tally, the sixth window
        ({"tally_duration": 10 * 24 * 3600}, "CompetitionTooLong"),  # past the unbonding delay
    ],
)
def test_parameters_that_guarantee_a_void_are_refused_by_name(
    create: Callable[..., Game], overrides: dict[str, int], error: str
) -> None:
    with raises(error):
        create(**overrides)


@pytest.mark.parametrize("window", range(5))
def test_windows_shorter_than_the_floor_are_refused(
    chain: Chain, create: Callable[..., Game], window: int
) -> None:
    """v1 took 1-second windows. Here each phase in turn is squeezed under the factory's
    one-minute floor: one second (30 s for the first, which starts at the creating block)."""
    durations = [1_000] * 5
    durations[window] = 30 if window == 0 else 1
    names = ["submit", "reveal", "key", "vote_commit", "vote_reveal"]
    deadline, deadlines = chain.timestamp(), {}
    for name, duration in zip(names, durations, strict=True):
        deadline += duration
        deadlines[f"{name}_deadline"] = deadline
    with raises("WindowTooShort") as refused:
        create(**deadlines)
    assert refused.value.arguments["phase"] == window
    assert refused.value.arguments["seconds_"] < 60


def test_a_zero_stake_pool_and_fractional_bonds_are_refused(
    chain: Chain, pool: MinerPool, host: LocalAccount, anyone: LocalAccount
) -> None:
    with raises("PoolParamsInvalid"):
        deploy_factory(chain, host, seat_stake=0)
    with raises("PoolParamsInvalid"):
        deploy_factory(chain, host, min_units=0)
    for amount in (1, SEAT + 1, 0):  # one wei; a seat and a wei; nothing
        with raises("BondNotWholeUnits"):
            chain.transact(pool.contract.functions.bond(), sender=anyone, value=amount)
    strict = deploy_factory(chain, host, min_units=5).pool()
    with raises("BondTooSmall"):
        strict.bond(4, sender=anyone)


@pytest.mark.anvil
def test_a_prize_beyond_uint128_is_refused(anvil_chain: Chain) -> None:
    """v1 truncated amounts above 2**128 wei at finalize. Only anvil can fund such a prize."""
    chain = anvil_chain
    host = chain.accounts[0]
    factory = deploy_factory(chain, host)
    bond_all(factory.pool(), chain.accounts[4:9], 10)
    chain.w3.provider.make_request("anvil_setBalance", [host.address, hex(2**130)])
    with raises("AmountTooLarge") as refused:
        create_game(chain, factory, host, prize=2**128, host_bond=2**128 - 1)
    assert refused.value.arguments["amount"] == 2**128


# -- 9. a host entry fitted to the test split ------------------------------------------


def test_a_host_entry_fitted_to_the_test_split_wins_at_most_the_prize_back(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    host: LocalAccount,
    miners: list[LocalAccount],
) -> None:
    """The host knows every label, so its entry (from another address) scores 360 of 360 and
    wins honestly against 50 honest entries at 0.1 ETH on a 10 ETH prize. v1 paid the winner
    90% of prize + buy-ins: +3.5 ETH to the host. Buy-ins now count only up to prize/9."""
    honest = fund(chain, 10)
    (sybil,) = fund(chain, 1)
    books = Books(chain, pool, [host.address, sybil.address])
    game = create(max_submissions=5)
    ids = [game.submit(h) for h in honest for _ in range(5)]
    fitted = game.submit(sybil, b"fitted to the test labels")
    game.to_reveal()
    draw(game, caller=host)  # the host collects every bounty it can
    for sid, who in zip(ids, [h for h in honest for _ in range(5)], strict=True):
        game.reveal(sid, who)
    game.reveal(fitted, sybil)
    game.to_key()
    game.reveal_key()
    truth = {**{sid: 200 + sid for sid in ids}, fitted: TEST_SET}
    game.play_votes(lambda j: truth)
    game.publish_all(caller=host)
    game.finalize()
    game.settle_jurors()
    collect(game, [host, sybil, *honest, *miners])

    summary = game.competition.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, fitted)
    buy_ins = 51 * FEE
    assert summary.winner_amount == winner_amount(PRIZE, buy_ins) == PRIZE - 1
    assert summary.jury_amount == PRIZE + buy_ins - summary.winner_amount
    net = books.net()
    assert net == summary.winner_amount - PRIZE - FEE  # -0.1 ETH and a wei
    assert net <= 0
    assert_drained(game)


# -- 10. re-rolling the draw ---------------------------------------------------------------


def test_a_bond_change_after_the_seal_cannot_reroll_the_jury(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """The attacker watches for the seal, then tries amounts that would shift every offset of
    the draw once the sealed block's hash is known: each change waits until after the draw."""
    sybils = fund(chain, 4)
    bond_all(pool, sybils[:3], 1)
    books = Books(chain, pool, [s.address for s in sybils])
    game = create(seats=JURY)
    comp = game.competition
    game.submit(competitors[0])
    game.to_reveal()
    assert not comp.draw_jury(sender=sybils[0])  # the attacker seals, to act at once
    total = pool.total_units()
    target = pool.sealed_target(comp.address)
    while chain.w3.eth.block_number <= target:
        chain.mine()
    seed = draw_seed(chain, comp.address, target, 1)
    dealt = pool.preview(seed, JURY)  # the jury the sealed block gives, now known to all
    with raises("BondNotWholeUnits"):  # a 1-wei change
        chain.transact(pool.contract.functions.bond(), sender=sybils[0], value=1)
    with raises("BondChangesPaused"):
        pool.request_unbond(1, sender=sybils[1])
    with raises("BondChangesPaused"):
        pool.apply_pending(sybils[0].address, sender=sybils[0])
    for s in (sybils[0], sybils[3]):  # one unit more, from a bonded and a fresh address
        pool.bond(1, sender=s)
        assert pool.juror(s.address).pending_units == 1
    assert pool.total_units() == total
    assert pool.preview(seed, JURY) == dealt  # no change the attacker can make moves a seat
    finish_draw(comp, anyone)
    assert drawn_seats(comp, 1) == dealt
    # Only now do the bonds join the draw; had they joined before it, they would have moved
    # the seats (every point is taken modulo the total).
    for s in (sybils[0], sybils[3]):
        pool.apply_pending(s.address, sender=anyone)
        assert pool.juror(s.address).pending_units == 0
    assert pool.total_units() == total + 2
    assert pool.preview(seed, JURY) != dealt
    assert books.net() == 0  # nothing won, nothing lost: the bonds are still the attacker's


# -- 11. forcing the fallback with a contested model ----------------------------------------


def contested_game(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount]
) -> tuple[Game, list[int], LocalAccount, Books]:
    """Two honest models and the attacker's, whose score differs between honest machines (near
    a time limit, say); jurors are the pool's five honest miners, ten units each."""
    attacker = competitors[2]
    game = create(seats=JURY)
    books = Books(chain, game.competition.pool(), [attacker.address])
    ids = open_game(game, [(competitors[0], None), (competitors[1], None), (attacker, None)])
    return game, ids, attacker, books


def test_a_model_scored_differently_by_every_honest_machine_slashes_nobody(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    game, (best, other, contested), _, books = contested_game(chain, create, competitors)
    jurors = [j for j, backed in game.jury().items() if backed]

    def honest(juror: str) -> dict[int, int]:
        return {best: 320, other: 300, contested: 10 + jurors.index(juror)}

    game.play_votes(honest)
    round_ = game.round()
    assert not round_.majority  # one buy-in broke every root (no juror backs 11 seats)
    game.publish_vectors()
    game.to_tally_end()
    game.settle_tally()
    game.to_disputes_end()
    game.finalize()
    game.settle_jurors()
    collect(game, game.accounts.values())

    summary = game.competition.summary()
    assert (summary.outcome, summary.winner_id) == (Outcome.WINNER, best)
    settled = {s.id: s for s in game.competition.submission_settlements()}
    assert (settled[best].validated, settled[other].validated) == (True, True)
    assert (settled[contested].validated, settled[contested].score) == (False, 0)
    for juror in jurors:
        kept, burned, reward = settlements(game)[juror]
        assert (burned, reward) == (0, kept * summary.per_seat)
    assert game.competition.claims(account=competitors[0].address)[0].amount == (
        summary.winner_amount
    )
    assert books.net() == -FEE
    assert_drained(game)


@pytest.mark.xfail(
    strict=True,
    reason="a model that splits honest jurors with a majority on one side is decided by that"
    " side's root; the other honest side is burned. Off chain, issue 14 took away the split by"
    " speed (the operation budget: every miner refuses or runs the same models); one by CPU"
    " family (ONNX Runtime's kernels per instruction set) is left to disputes (issue 16)",
)
def test_a_contested_model_splitting_honest_jurors_unevenly_slashes_nobody(
    chain: Chain,
    pool: MinerPool,
    create: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    game, (best, other, contested), attacker, books = contested_game(chain, create, competitors)
    jury = {j: b for j, b in game.jury().items() if b}
    # Some machines score it in full, others score it 0 (before issue 14: a model at the time
    # limit, fast machines against slow ones); here the first hold most seats.
    fast: set[str] = set()
    for juror in sorted(jury, key=jury.get, reverse=True):
        if 2 * sum(jury[f] for f in fast) <= game.params.seats:
            fast.add(juror)
    game.play_votes(lambda j: {best: 320, other: 300, contested: TEST_SET if j in fast else 0})
    game.publish_all()
    game.finalize()
    game.settle_jurors()
    collect(game, [attacker, *competitors, *miners])
    burned = {j: s[1] for j, s in settlements(game).items() if s[1]}
    assert not burned, "honest jurors were slashed"
    assert books.net() <= 0


# -- copying: the textbook attacks v1 already held against --------------------------------


def test_resubmitting_a_revealed_model_after_the_deadline_fails(
    pool: MinerPool, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create()
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    game.to_reveal()
    draw(game)
    game.reveal(sid, honest)
    stolen = game.competition.revealed_model(sid)
    with raises("CommitTooLate"):
        game.competition.commit_model(stolen, sender=copier)


def test_a_replayed_commitment_fails_at_reveal(
    pool: MinerPool, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create()
    comp = game.competition
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    copy_id = comp.commit(comp.submission(sid).hash, sender=copier)  # public in the event
    game.to_reveal()
    game.reveal(sid, honest)
    model, salt = comp.revealed_model(sid), game.salts[sid]  # the salt is public calldata
    with raises("CommitmentMismatch") as caught:
        comp.reveal(copy_id, model, salt, sender=copier)
    assert caught.value.arguments == {"id": copy_id, "caller": copier.address}


def test_front_running_a_reveal_fails(
    pool: MinerPool, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    """A copier sees the reveal in the mempool and sends it first under its own address."""
    game = create()
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    game.to_reveal()
    with raises("CommitmentMismatch"):
        game.competition.reveal(sid, game.models[sid], game.salts[sid], sender=copier)
    game.reveal(sid, honest)
    assert game.competition.submission(sid).owner == honest.address


def test_a_copied_vote_commitment_fails_at_reveal(
    chain: Chain, pool: MinerPool, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create(seats=JURY)
    comp = game.competition
    (sid,) = open_game(game, [(competitors[0], None)], luck=lambda j: len(set(j)) >= 2)
    honest, copier = [j for j, backed in game.jury().items() if backed][:2]
    game.commit(honest, {sid: 77})
    copied = comp.vote_commits(juror=honest)[0].commitment
    chain.transact(comp.contract.functions.commitVote(copied), sender=game.accounts[copier])
    game.to_vote_reveal()
    game.reveal_vote(honest)
    tree = vector({sid: 77})  # the vote is public now, but the salt binds the honest juror
    _, salt, _ = game.ballots[honest]
    with raises("VoteCommitmentMismatch"):
        comp.reveal_vote(tree.root, tree.count, sid, 77, salt, sender=game.accounts[copier])
