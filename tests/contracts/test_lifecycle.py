"""Every outcome of a competition played end to end, each payout checked to the wei.

The jury is drawn at random (by design), so a test that needs a jury of a given shape (a
minority juror, no juror with a majority alone) plays the opening again from a snapshot until
the draw gives one; everything after the draw is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import MinerPool
from deml.contracts.commitments import model_commitment, new_salt, vote_commitment
from deml.contracts.score_tree import vote_hash, winner_of
from deml.contracts.types import BPS, HOST_FAULT, Outcome, Phase, Status, VoteState
from deml.exceptions import TransactionError
from tests.helpers.game import BOUNTY, ETHER, FEE, PRIZE, SEAT, Game, vector
from tests.helpers.reverts import raises

Jury = dict[str, int]

SCORES = {1: 300, 2: 320, 3: 200}  # the honest vector of three models: model 2 wins


def winner_split(prize: int, buy_ins: int, winner_bps: int = 9_000) -> tuple[int, int]:
    """(winner, jury): buy-ins count towards the winner only up to prize * minerBps/winnerBps."""
    cap = prize * (BPS - winner_bps) // winner_bps
    winner = (prize + min(buy_ins, cap)) * winner_bps // BPS
    return winner, prize + buy_ins - winner


def jury_prize(prize: int, winner_bps: int = 9_000) -> int:
    """J0: the jury's part of the prize when nobody wins it."""
    return prize * (BPS - winner_bps) // BPS


def owed(amounts: Mapping[str, int]) -> dict[str, int]:
    """The claims that pay: an account owed nothing makes no claim."""
    return {account: amount for account, amount in amounts.items() if amount}


def add(*parts: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for account, amount in part.items():
            total[account] = total.get(account, 0) + amount
    return total


def assert_drained(game: Game) -> None:
    """Everything taken in was paid or burned: the ledger and the balance are both zero."""
    assert game.competition.liabilities() == 0
    assert game.chain.balance(game.competition.address) == 0


def draw_until(
    chain: Chain,
    create: Callable[..., Game],
    submitters: Sequence[LocalAccount],
    fits: Callable[[Jury], bool],
    attempts: int = 40,
    **terms: Any,
) -> tuple[Game, list[int]]:
    """Create a competition, submit one model per submitter, draw the jury; again from a
    snapshot until the jury fits (each attempt seals at another block, so another hash)."""
    for attempt in range(attempts):
        saved = chain.snapshot()
        for _ in range(attempt):
            chain.mine()
        game = create(**terms)
        ids = [game.submit(who) for who in submitters]
        game.to_reveal()
        if fits(game.draw()):
            return game, ids
        chain.revert(saved)
    raise AssertionError(f"no jury of the shape needed in {attempts} draws")


def open_until(
    chain: Chain,
    create: Callable[..., Game],
    submitters: Sequence[LocalAccount],
    fits: Callable[[Jury], bool],
    **terms: Any,
) -> tuple[Game, list[int]]:
    """draw_until, then every model and the key revealed: the vote opens."""
    game, ids = draw_until(chain, create, submitters, fits, **terms)
    for sid, who in zip(ids, submitters, strict=True):
        game.reveal(sid, who)
    game.to_key()
    game.reveal_key()
    return game, ids


def no_majority_alone(jury: Jury) -> bool:
    """No juror holds a majority of the seats by itself (distinct votes then tie nothing)."""
    return 2 * max(jury.values()) < sum(jury.values())


def by_seats(jury: Jury) -> list[str]:
    """Jurors, fewest seats first (ties by address, for a stable order)."""
    return sorted(jury, key=lambda j: (jury[j], j))


def settle_and_claim(game: Game, accounts: Sequence[LocalAccount]) -> dict[str, int]:
    """Settle every juror, then let everyone claim; return what each got."""
    game.settle_jurors()
    return game.claim_all(accounts)


def everyone(chain: Chain) -> list[LocalAccount]:
    return list(chain.accounts)


def settlements(game: Game) -> dict[tuple[int, str], tuple[int, int, int]]:
    """(round, juror) -> (seats kept, seats burned, reward), from the JurorSettled events."""
    return {
        (s.round, s.juror): (s.kept, s.burned, s.reward)
        for s in game.competition.juror_settlements()
    }


def units(pool: MinerPool, jurors: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Each juror's (bonded, locked) units."""
    return {j: (pool.juror(j).units, pool.juror(j).locked) for j in jurors}


# -- Winner by root majority ------------------------------------------------------------------


@pytest.mark.parametrize("fee", [FEE, ETHER], ids=["buy-ins-under-cap", "buy-ins-over-cap"])
def test_winner_by_root_majority_pays_everyone_to_the_wei(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
    fee: int,
) -> None:
    _, c2, c3 = competitors

    def one_minority(jury: Jury) -> bool:
        return len(jury) >= 2 and 2 * (5 - jury[by_seats(jury)[0]]) > 5

    game, ids = open_until(chain, create, competitors, one_minority, seats=5, entry_fee=fee)
    comp = game.competition
    assert ids == [1, 2, 3]
    jury = game.jury()
    minority = by_seats(jury)[0]
    majority = [j for j in jury if j != minority]
    before = units(pool, list(jury))
    assert {j: locked for j, (_, locked) in before.items()} == jury  # one unit per seat

    # The minority juror votes another root (one score off): its seats are burned.
    game.play_votes(lambda j: {**SCORES, 3: 201} if j == minority else SCORES)
    assert comp.phase() == Phase.SETTLE
    r1 = comp.round(1)
    assert (r1.seats, r1.backed_seats, r1.revealed_seats) == (5, 5, 5)
    assert r1.leader_seats == 5 - jury[minority]
    assert comp.verdict(r1.leader).winner_id == 2

    # Publication: `anyone` publishes leaves 0 and 1, c3 the last one; the bounty is paid
    # pro rata per leaf, the last leaf taking the remainder.
    tree = vector(SCORES)
    comp.publish_scores(tree.chunk(0, 0), sender=anyone)
    comp.publish_scores(tree.chunk(0, 1), sender=anyone)
    comp.publish_scores(tree.chunk(0, 2), sender=c3)
    published = [p.leaves for p in comp.scores_published()]
    assert b"".join(published) == tree.chunk(1, 0).leaves + tree.chunk(0, 2).leaves
    first_two = BOUNTY * 2 // 3
    assert (first_two, BOUNTY - first_two) == (6_666_666_666_666_666, 3_333_333_333_333_334)

    # Before finalization a claim pays credits only: the drawer's bounty and the publisher's.
    assert comp.claim(sender=anyone) == BOUNTY + first_two
    with raises("NothingToClaim"):
        comp.claim(sender=c2)

    game.finalize()
    winner_amount, jury_amount = winner_split(PRIZE, 3 * fee)
    earning = 5 - jury[minority]
    final = comp.finalizations()[0]
    assert (final.outcome, final.winner_id, final.winner_amount, final.jury_amount) == (
        Outcome.WINNER,
        2,
        winner_amount,
        jury_amount,
    )
    assert (final.per_seat, final.burned) == (jury_amount // earning, jury_amount % earning)
    if fee == ETHER:  # over the cap the winner gets the prize (less a wei: the cap rounds
        # down) and the jury every buy-in: a host's own fitted entry wins its prize back at most
        assert (winner_amount, jury_amount) == (PRIZE - 1, 3 * fee + 1)

    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            {host.address: PRIZE + BOUNTY},  # its bond, and the draw the re-vote never needed
            {c2.address: winner_amount},
            {c3.address: BOUNTY - first_two},
            {j: final.per_seat * jury[j] for j in majority},
        )
    )
    assert settlements(game) == {
        **{(1, j): (jury[j], 0, final.per_seat * jury[j]) for j in majority},
        (1, minority): (0, jury[minority], 0),
    }
    after = units(pool, list(jury))
    assert after == {j: (before[j][0] - (jury[j] if j == minority else 0), 0) for j in jury}
    assert_drained(game)
    assert comp.phase() == Phase.FINALIZED
    with raises("NothingToClaim"):
        comp.claim(sender=c2)


# -- Winner through a tally -------------------------------------------------------------------


def contested(jurors: Sequence[str]) -> Callable[[str], dict[int, int]]:
    """Every juror agrees on models 1 and 3 and scores model 2 its own way: no root has a
    majority, and model 2 is contested."""
    return lambda j: {1: 300, 2: 100 + list(jurors).index(j), 3: 200}


def test_winner_via_tally_one_contested_model_scores_zero_and_slashes_nobody(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    c1 = competitors[0]
    game, _ = open_until(chain, create, competitors, no_majority_alone, seats=7)
    comp = game.competition
    jury = game.jury()
    before = units(pool, list(jury))
    game.play_votes(contested(list(jury)))
    assert comp.phase() == Phase.TALLY
    assert not comp.round(1).majority
    with raises("NoWinningRoot"):
        comp.publish_scores(vector(SCORES).chunk(0, 0), sender=anyone)

    game.publish_vectors()
    assert comp.round(1).published_seats == 7
    game.to_tally_end()
    assert comp.phase() == Phase.TALLY  # until every revealed model is settled
    game.settle_tally()
    assert comp.phase() == Phase.SETTLE
    assert [(s.id, s.validated, s.score, s.seats) for s in comp.submission_settlements()] == [
        (1, True, 300, 7),
        (2, False, 0, 0),
        (3, True, 200, 7),
    ]
    with raises("SettlementTooEarly"):
        game.finalize()  # the dispute window lasts as long as the tally did
    game.to_disputes_end()
    game.finalize()

    winner_amount, jury_amount = winner_split(PRIZE, 3 * FEE)
    final = comp.finalizations()[0]
    assert (final.outcome, final.winner_id, final.winner_amount) == (
        Outcome.WINNER,
        1,
        winner_amount,
    )
    assert (final.per_seat, final.burned) == (jury_amount // 7, jury_amount % 7)
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            # No root to publish in a tally: the publication bounty goes back with the bond.
            {host.address: PRIZE + BOUNTY + BOUNTY},
            {c1.address: winner_amount},
            {anyone.address: BOUNTY},  # the draw
            {j: final.per_seat * seats for j, seats in jury.items()},
        )
    )
    # The contested model slashed nobody: every juror's units are intact and free again.
    assert units(pool, list(jury)) == {j: (bonded, 0) for j, (bonded, _) in before.items()}
    assert all(burned == 0 for _, burned, _ in settlements(game).values())
    assert_drained(game)


def test_dissent_proven_in_a_tally_burns_the_dissenters_seats_and_pay(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    c1 = competitors[0]
    game, _ = open_until(chain, create, competitors, no_majority_alone, seats=7)
    comp = game.competition
    jury = game.jury()
    dissenter = by_seats(jury)[0]
    honest = contested(list(jury))
    game.play_votes(lambda j: {**honest(j), 1: 299} if j == dissenter else honest(j))
    game.publish_vectors()
    game.to_tally_end()
    game.settle_tally()
    assert comp.tally(1, 1) == (300, 7 - jury[dissenter], True, True)

    # Anyone shows the dissenter's leaf for model 1 against the root it revealed.
    tree = game.ballots[dissenter][2]
    assert tree is not None
    leaf = tree.chunk(0, tree.position(1))
    comp.prove_dissent(dissenter, leaf, sender=anyone)
    (proven,) = comp.dissents()
    assert (proven.juror, proven.id, proven.score, proven.settled_score) == (dissenter, 1, 299, 300)
    assert comp.round(1).dissent_seats == jury[dissenter]
    with raises("NotJuror"):
        comp.prove_dissent(dissenter, leaf, sender=anyone)  # once is enough

    game.to_disputes_end()
    game.finalize()
    # The dissenter's seats earn nothing, and their share is burned, not shared: proving a
    # dissent pays nobody (the per-seat pay is the same as without the proof).
    winner_amount, jury_amount = winner_split(PRIZE, 3 * FEE)
    final = comp.finalizations()[0]
    assert (final.outcome, final.winner_id) == (Outcome.WINNER, 1)
    per_seat = jury_amount // 7
    assert final.per_seat == per_seat
    assert final.burned == jury_amount % 7 + per_seat * jury[dissenter]
    bonded = {j: pool.juror(j).units for j in jury}
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            {host.address: PRIZE + 2 * BOUNTY},
            {c1.address: winner_amount},
            {anyone.address: BOUNTY},
            {j: final.per_seat * s for j, s in jury.items() if j != dissenter},
        )
    )
    assert settlements(game)[(1, dissenter)] == (0, jury[dissenter], 0)
    assert pool.juror(dissenter).units == bonded[dissenter] - jury[dissenter]
    slashed = pool.contract.events.SeatsSlashed().get_logs(from_block=0)
    assert [(e.args.juror, e.args.seats, e.args.burned) for e in slashed] == [
        (dissenter, jury[dissenter], jury[dissenter] * SEAT)
    ]
    assert_drained(game)


def test_dissent_proven_against_an_unpublished_vector_does_not_raise_the_others_pay(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """Only published seats earn, so only published seats may be taken off the earners:
    otherwise the pay per seat is computed for fewer seats than are paid, and the last
    claims find the money gone."""
    c1 = competitors[0]
    game, _ = open_until(chain, create, competitors, no_majority_alone, seats=7)
    comp = game.competition
    jury = game.jury()
    silent = by_seats(jury)[0]
    honest = contested(list(jury))
    game.play_votes(lambda j: {**honest(j), 1: 299} if j == silent else honest(j))
    game.publish_vectors([j for j in jury if j != silent])
    game.to_tally_end()
    game.settle_tally()
    tree = game.ballots[silent][2]
    assert tree is not None
    comp.prove_dissent(silent, tree.chunk(0, tree.position(1)), sender=anyone)
    game.to_disputes_end()
    game.finalize()

    earning = 7 - jury[silent]
    _, jury_amount = winner_split(PRIZE, 3 * FEE)
    assert comp.summary().per_seat == jury_amount // earning
    paid = settle_and_claim(game, everyone(chain))
    assert sum(paid.get(j, 0) for j in jury) == jury_amount // earning * earning
    assert paid[c1.address] == winner_split(PRIZE, 3 * FEE)[0]
    assert settlements(game)[(1, silent)] == (0, jury[silent], 0)
    assert_drained(game)


# -- HostFault, KeyWithheld, Void, NoEntries ------------------------------------------------


def test_host_fault_by_majority_burns_the_bond_and_pays_the_models(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    c1, c2, c3 = competitors

    def one_minority(jury: Jury) -> bool:
        return len(jury) >= 2 and 2 * (5 - jury[by_seats(jury)[0]]) > 5

    game, ids = draw_until(chain, create, competitors, one_minority, seats=5)
    comp = game.competition
    game.reveal(ids[0], c1)
    game.reveal(ids[1], c2)  # c3 never reveals: its buy-in still comes back
    game.to_key()
    game.reveal_key()
    jury = game.jury()
    minority = by_seats(jury)[0]
    game.play_votes(lambda j: {1: 300, 2: 200} if j == minority else HOST_FAULT)
    assert comp.phase() == Phase.SETTLE
    with raises("NoWinningRoot"):
        comp.publish_scores(vector({1: 300, 2: 200}).chunk(0, 0), sender=anyone)
    game.finalize()

    fault_seats = 5 - jury[minority]
    j0 = jury_prize(PRIZE)
    per_reveal = (PRIZE - j0) // 2
    final = comp.finalizations()[0]
    assert final.outcome == Outcome.HOST_FAULT
    assert (final.jury_amount, final.per_seat, final.prize_per_reveal) == (
        j0,
        j0 // fault_seats,
        per_reveal,
    )
    assert final.burned == PRIZE + j0 % fault_seats + (PRIZE - j0) % 2  # the bond and dust
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            {host.address: BOUNTY + BOUNTY},  # the unused draw and publication bounties only
            {c1.address: FEE + per_reveal, c2.address: FEE + per_reveal, c3.address: FEE},
            {anyone.address: BOUNTY},
            {j: final.per_seat * s for j, s in jury.items() if j != minority},
        )
    )
    assert settlements(game)[(1, minority)] == (0, jury[minority], 0)
    assert_drained(game)


@pytest.mark.parametrize("drawn", [True, False], ids=["jury-drawn", "no-jury"])
def test_key_withheld_burns_the_bond_and_pays_the_models(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
    drawn: bool,
) -> None:
    c1, c2, c3 = competitors
    game = create()
    comp = game.competition
    ids = [game.submit(c) for c in competitors]
    game.to_reveal()
    jury = game.draw() if drawn else {}
    game.reveal(ids[0], c1)
    game.reveal(ids[1], c2)
    game.to_key()
    assert comp.phase() == Phase.KEY
    with raises("SettlementTooEarly"):
        game.finalize()
    voter = game.accounts[next(iter(jury))] if jury else anyone
    with raises("VoteCommitTooEarly"):  # nothing to vote on without the key
        comp.commit_vote(HOST_FAULT, new_salt(), sender=voter)
    game.to_key_deadline()
    assert comp.phase() == Phase.SETTLE
    game.finalize()

    seats = sum(jury.values())
    j0 = jury_prize(PRIZE) if drawn else 0  # nobody drawn, nobody to pay
    per_reveal = (PRIZE - j0) // 2
    final = comp.finalizations()[0]
    assert (final.outcome, final.jury_amount, final.prize_per_reveal) == (
        Outcome.KEY_WITHHELD,
        j0,
        per_reveal,
    )
    per_seat = j0 // seats if drawn else 0
    assert final.burned == PRIZE + (j0 % seats if drawn else 0) + (PRIZE - j0) % 2
    bonded = {j: pool.juror(j).units for j in jury}
    paid = settle_and_claim(game, everyone(chain))
    unused_draws = 1 if drawn else 2
    assert paid == owed(
        add(
            {host.address: unused_draws * BOUNTY + BOUNTY},
            {c1.address: FEE + per_reveal, c2.address: FEE + per_reveal, c3.address: FEE},
            {anyone.address: BOUNTY if drawn else 0},
            {j: per_seat * s for j, s in jury.items()},  # every backed seat: nothing to vote
        )
    )
    assert units(pool, list(jury)) == {j: (bonded[j], 0) for j in jury}
    assert_drained(game)


def test_without_the_key_no_tally_settles_and_no_revote_starts(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """Nobody finalizes a withheld key at once; past the first tally's deadline someone settles
    its (empty) tally to start a re-vote and draws a second jury. KeyWithheld pays every seat
    of the first jury; a second jury paid the same would take more than the jury's amount."""
    c1, c2 = competitors[:2]
    game = create()
    comp = game.competition
    ids = [game.submit(c1), game.submit(c2)]
    game.to_reveal()
    jury = game.draw()
    game.reveal(ids[0], c1)
    game.reveal(ids[1], c2)
    game.to_tally_end()
    with raises("TallyNotOpen"):
        game.settle_tally()
    assert (comp.summary().round, comp.phase()) == (1, Phase.SETTLE)
    with raises("NoDrawDue"):
        comp.draw_jury(sender=anyone)
    game.finalize()
    final = comp.finalizations()[0]
    seats = sum(jury.values())
    assert (final.outcome, final.per_seat) == (Outcome.KEY_WITHHELD, jury_prize(PRIZE) // seats)
    paid = settle_and_claim(game, everyone(chain))
    assert sum(paid.get(j, 0) for j in jury) == final.per_seat * seats
    assert paid[host.address] == 2 * BOUNTY  # one draw unused, nothing to publish
    assert_drained(game)


def test_void_after_a_failed_revote_returns_the_bond_and_pays_the_models(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    c1, c2, _ = competitors

    def three_jurors(jury: Jury) -> bool:
        return len(jury) == 3  # one seat each: distinct votes validate nothing

    game, _ = open_until(chain, create, [c1, c2], three_jurors, seats=3)
    comp = game.competition
    first = game.jury()
    order = list(first)
    game.play_votes(lambda j: {1: 100 + order.index(j), 2: 50 + order.index(j)})
    game.publish_vectors()
    game.to_tally_end()
    game.settle_tally()
    assert [s.validated for s in comp.submission_settlements()] == [False, False]
    assert comp.summary().round == 2
    assert comp.phase() == Phase.REVOTE

    second = game.draw()
    (drawn_again,) = [d for d in comp.juries() if d.round == 2]
    assert len(drawn_again.jurors) == comp.round(2).seats == 2 * 3 + 1
    assert comp.phase() == Phase.VOTE_COMMIT
    # Jurors holding at most 3 of the 7 seats vote, each its own way; the rest stay silent.
    voters: list[str] = []
    for j in by_seats(second):
        if sum(second[v] for v in voters) + second[j] <= 3:
            voters.append(j)
    game.play_votes(lambda j: {1: 10 + voters.index(j), 2: 5} if j in voters else None)
    game.publish_vectors(voters)
    game.to_tally_end()
    game.settle_tally()
    assert comp.summary().round == 2
    assert comp.phase() == Phase.SETTLE
    game.to_disputes_end()
    game.finalize()

    earning = sum(second[v] for v in voters)
    j0 = jury_prize(PRIZE) if earning else 0
    per_reveal = (PRIZE - j0) // 2
    final = comp.finalizations()[0]
    assert (final.outcome, final.jury_amount, final.prize_per_reveal) == (
        Outcome.VOID,
        j0,
        per_reveal,
    )
    per_seat = j0 // earning if earning else 0
    assert final.burned == (j0 % earning if earning else 0) + (PRIZE - j0) % 2
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            {host.address: PRIZE + BOUNTY},  # bond and publication bounty back; both draws used
            {c1.address: FEE + per_reveal, c2.address: FEE + per_reveal},
            {anyone.address: 2 * BOUNTY},
            {v: per_seat * second[v] for v in voters},
        )
    )
    settled = settlements(game)
    # The first jury revealed: released, unpaid. The re-vote's silent jurors: burned.
    assert {k: v for k, v in settled.items() if k[0] == 1} == {
        (1, j): (s, 0, 0) for j, s in first.items()
    }
    assert {k: v for k, v in settled.items() if k[0] == 2} == {
        (2, j): (s, 0, per_seat * s) if j in voters else (0, s, 0) for j, s in second.items()
    }
    assert_drained(game)


def test_a_root_majority_naming_no_winner_voids_and_pays_the_publication_bounty_once(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """Every model scores 0: the jury agrees on a root with no winner in it. The vote is void
    (bond back, the prize to the models); its root is still published, and the publication
    bounty goes to the publisher, not back to the host as well."""
    c1, c2 = competitors[:2]
    game = create()
    comp = game.competition
    game.open_with(c1, c2)
    play_unanimous(game, {1: 0, 2: 0})
    final = comp.finalizations()[0]
    assert final.outcome == Outcome.VOID
    jury = game.jury()
    seats = sum(jury.values())
    j0 = jury_prize(PRIZE)
    per_reveal = (PRIZE - j0) // 2
    assert (final.jury_amount, final.per_seat, final.prize_per_reveal) == (
        j0,
        j0 // seats,
        per_reveal,
    )
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        add(
            {host.address: PRIZE + BOUNTY},  # the bond and the unused draw; not the publication
            {c1.address: FEE + per_reveal, c2.address: FEE + per_reveal},
            {anyone.address: BOUNTY + BOUNTY},  # the draw and the whole publication
            {j: final.per_seat * s for j, s in jury.items()},
        )
    )
    assert_drained(game)


@pytest.mark.parametrize("commits", [0, 2], ids=["no-commits", "commits-unrevealed"])
def test_no_entries_gives_the_host_everything_but_the_buy_ins(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
    commits: int,
) -> None:
    game = create()
    comp = game.competition
    entrants = competitors[:commits]
    for who in entrants:
        game.submit(who)
    game.to_reveal()
    jury = game.draw() if commits else {}
    if not commits:
        with raises("NoDrawDue"):  # a jury for nothing
            comp.draw_jury(sender=anyone)
    game.to_key()
    assert comp.phase() == Phase.SETTLE
    game.finalize()
    final = comp.finalizations()[0]
    assert (final.outcome, final.jury_amount, final.burned) == (Outcome.NO_ENTRIES, 0, 0)
    paid = settle_and_claim(game, everyone(chain))
    draws = 1 if commits else 0
    assert paid == owed(
        add(
            {host.address: PRIZE + PRIZE + (2 - draws) * BOUNTY + BOUNTY},
            {who.address: FEE for who in entrants},
            {anyone.address: draws * BOUNTY},
        )
    )
    assert all(pool.juror(j).locked == 0 for j in jury)  # every drafted seat released
    assert all(burned == 0 for _, burned, _ in settlements(game).values())
    assert_drained(game)


def test_no_vote_opens_when_no_model_was_revealed(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """NoEntries is final from the reveal deadline, and the host takes the publication bounty
    back: a jury that could still vote on an empty competition could decide a root, publish
    it and be paid that bounty a second time, out of the refunds."""
    c1 = competitors[0]
    game = create()
    comp = game.competition
    game.submit(c1)
    game.to_reveal()
    jury = game.draw()
    game.to_key()
    game.reveal_key()  # the host may still reveal its key; nothing is opened by it
    game.finalize()
    assert comp.summary().outcome == Outcome.NO_ENTRIES
    assert comp.claim(sender=host) == PRIZE + PRIZE + BOUNTY + BOUNTY
    game.settle_jurors()
    for juror in jury:
        with raises("VoteCommitTooEarly"):
            game.commit(juror, {1: 0})
    paid = game.claim_all(everyone(chain))
    assert paid == {c1.address: FEE, anyone.address: BOUNTY}
    assert_drained(game)


def test_jurors_who_never_commit_or_never_reveal_lose_their_seats(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    def two_absent(jury: Jury) -> bool:
        few = by_seats(jury)
        return len(few) >= 3 and 2 * sum(jury[j] for j in few[2:]) > 7

    game, _ = open_until(chain, create, competitors, two_absent, seats=7)
    comp = game.competition
    jury = game.jury()
    never_commits, never_reveals, *present = by_seats(jury)
    bonded = {j: pool.juror(j).units for j in jury}
    game.play_votes(lambda j: None if j == never_commits else SCORES, lambda j: j != never_reveals)
    assert comp.seat(1, never_commits).state == VoteState.NONE
    assert comp.seat(1, never_reveals).state == VoteState.COMMITTED
    game.publish_all()
    game.finalize()
    earning = sum(jury[j] for j in present)
    _, jury_amount = winner_split(PRIZE, 3 * FEE)
    assert comp.summary().per_seat == jury_amount // earning
    paid = settle_and_claim(game, everyone(chain))
    per_seat = jury_amount // earning
    assert {j: paid.get(j, 0) for j in jury} == {
        j: per_seat * jury[j] if j in present else 0 for j in jury
    }
    for absent in (never_commits, never_reveals):
        assert settlements(game)[(1, absent)] == (0, jury[absent], 0)
        assert pool.juror(absent).units == bonded[absent] - jury[absent]
    assert_drained(game)


# -- claims ------------------------------------------------------------------------------------


def play_unanimous(game: Game, scores: Mapping[int, int]) -> None:
    """Every juror votes `scores`: a root majority whatever the jury's shape."""
    game.play_votes(lambda j: scores)
    game.publish_all()
    game.finalize()


def test_claim_to_pays_another_address(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
) -> None:
    c1, c2 = competitors[:2]
    game = create()
    game.open_with(c1, c2)
    play_unanimous(game, {1: 300, 2: 100})
    winner_amount, _ = winner_split(PRIZE, 2 * FEE)
    fresh = Account.create().address
    assert game.competition.claim(sender=c1, to=fresh) == winner_amount
    assert chain.balance(fresh) == winner_amount
    (claimed,) = game.competition.claims(account=c1.address)
    assert (claimed.to, claimed.amount) == (fresh, winner_amount)
    with raises("NothingToClaim"):
        game.competition.claim(sender=c1, to=c1.address)
    settle_and_claim(game, everyone(chain))
    assert_drained(game)


# -- contract accounts: reentrancy, refusal, forced ether ---------------------------------------

ACCEPT, REENTER, REVERT, BURN_GAS = range(4)  # Actor.Mode


def deploy_actor(chain: Chain, owner: LocalAccount) -> Contract:
    return chain.deploy(artifacts.load_fixture("Actor"), sender=owner)


def act(
    chain: Chain,
    actor: Contract,
    owner: LocalAccount,
    target: Contract,
    call: str,
    *args: object,
    value: int = 0,
) -> Any:
    """`owner` makes the actor contract call `target.call(*args)`, paying `value`."""
    data = target.encode_abi(call, args=list(args))
    return chain.transact(actor.functions.exec(target.address, data), sender=owner, value=value)


def win_as_actor(game: Game, actor: Contract, owner: LocalAccount, rival: LocalAccount) -> int:
    """The actor contract's model beats `rival`'s in a unanimous vote; return what the actor
    is owed."""
    comp = game.competition
    model, salt = b"actor model", new_salt()
    commitment = model_commitment(model, salt, actor.address, comp.address)
    act(game.chain, actor, owner, comp.contract, "commit", commitment, value=FEE)
    sid = comp.summary().submissions
    rival_id = game.submit(rival)
    game.to_reveal()
    game.draw()
    act(game.chain, actor, owner, comp.contract, "reveal", sid, model, salt)
    game.reveal(rival_id, rival)
    game.to_key()
    game.reveal_key()
    play_unanimous(game, {sid: 300, rival_id: 100})
    assert comp.summary().winner_id == sid
    return comp.claimable(actor.address)


def test_a_winner_reentering_claim_is_paid_once(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
) -> None:
    owner, rival = competitors[:2]
    game = create()
    actor = deploy_actor(chain, owner)
    chain.transact(actor.functions.setMode(REENTER, game.competition.address), sender=owner)
    owed_now = win_as_actor(game, actor, owner, rival)
    assert owed_now == winner_split(PRIZE, 2 * FEE)[0]
    act(chain, actor, owner, game.competition.contract, "claim")
    assert chain.call(actor.functions.received()) == owed_now == chain.balance(actor.address)
    assert chain.call(actor.functions.reentryAttempts()) == 1
    assert chain.call(actor.functions.reentrySucceeded()) is False
    error = bytes(chain.call(actor.functions.reentryError()))
    assert error == keccak(text="ReentrancyGuardReentrantCall()")[:4]
    with raises("NothingToClaim"):
        act(chain, actor, owner, game.competition.contract, "claim")
    settle_and_claim(game, everyone(chain))
    assert_drained(game)


def test_a_juror_reentering_claim_is_paid_once(
    chain: Chain,
    create: Callable[..., Game],
    pool: MinerPool,
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
) -> None:
    owner = miners[0]
    c1, c2 = competitors[:2]
    actor = deploy_actor(chain, owner)
    # The actor bonds twenty times the rest of the pool, through its own contract account: it
    # sits on a 7-seat jury but for odds of (1/21)**7.
    act(chain, actor, owner, pool.contract, "bond", value=1_000 * SEAT)
    game = create(seats=7)
    comp = game.competition
    ids = [game.submit(c1), game.submit(c2)]
    game.to_reveal()
    jury = game.draw()
    assert actor.address in jury
    game.reveal(ids[0], c1)
    game.reveal(ids[1], c2)
    game.to_key()
    game.reveal_key()
    scores = {1: 300, 2: 100}
    tree = vector(scores)
    vote = vote_hash(tree.root, tree.count, *winner_of(tree.scores))
    salt = new_salt()
    commitment = vote_commitment(vote, salt, actor.address, comp.address)
    act(chain, actor, owner, comp.contract, "commitVote", commitment)
    game.ballots[actor.address] = (vote, salt, tree)  # its vector: the game publishes its bitmaps
    others = [j for j in jury if j != actor.address]
    for j in others:
        game.commit(j, scores)
    game.to_vote_reveal()
    act(chain, actor, owner, comp.contract, "revealVote", tree.root, tree.count, 1, 300, salt)
    for j in others:
        game.reveal_vote(j)
    game.to_tally()
    for chunk in tree.chunks():
        comp.publish_scores(chunk, sender=host)
    game.finalize()
    per_seat = comp.summary().per_seat
    assert comp.claimable(actor.address) == per_seat * jury[actor.address]

    chain.transact(actor.functions.setMode(REENTER, comp.address), sender=owner)
    act(chain, actor, owner, comp.contract, "claim")  # settles its seats and pays once
    assert chain.call(actor.functions.received()) == per_seat * jury[actor.address]
    assert chain.call(actor.functions.reentrySucceeded()) is False
    assert comp.seat(1, actor.address).state == VoteState.SETTLED
    assert pool.juror(actor.address).locked == 0
    assert comp.claimable(actor.address) == 0
    settle_and_claim(game, everyone(chain))
    assert_drained(game)


@pytest.mark.parametrize("mode", [REVERT, BURN_GAS], ids=["reverts", "burns-gas"])
def test_a_recipient_that_refuses_payment_blocks_nobody(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    mode: int,
) -> None:
    owner, rival = competitors[:2]
    game = create()
    actor = deploy_actor(chain, owner)
    owed_actor = win_as_actor(game, actor, owner, rival)
    chain.transact(actor.functions.setMode(mode, game.competition.address), sender=owner)
    with pytest.raises(TransactionError):
        act(chain, actor, owner, game.competition.contract, "claim")
    others = settle_and_claim(game, everyone(chain))
    assert host.address in others  # everyone else was paid
    assert game.competition.liabilities() == owed_actor
    # ...and the refuser routes its winnings to an address that takes them.
    fresh = Account.create().address
    act(chain, actor, owner, game.competition.contract, "claimTo", fresh)
    assert chain.balance(fresh) == owed_actor
    assert_drained(game)


def test_forced_ether_does_not_break_the_ledger(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    c1, c2 = competitors[:2]
    game = create()
    comp = game.competition
    ids = [game.submit(c1), game.submit(c2)]
    forced = 12_345
    chain.deploy(artifacts.load_fixture("ForceSend"), comp.address, sender=anyone, value=forced)
    assert chain.balance(comp.address) == comp.liabilities() + forced
    game.to_reveal()
    game.draw()
    game.reveal(ids[0], c1)
    game.reveal(ids[1], c2)
    game.to_key()
    game.reveal_key()
    play_unanimous(game, {1: 300, 2: 100})
    winner_amount, _ = winner_split(PRIZE, 2 * FEE)
    paid = settle_and_claim(game, everyone(chain))
    assert paid[c1.address] == winner_amount
    assert sum(paid.values()) + comp.summary().burned == PRIZE + PRIZE + 3 * BOUNTY + 2 * FEE
    assert comp.liabilities() == 0
    assert chain.balance(comp.address) == forced  # never counted, never paid


# -- phases -------------------------------------------------------------------------------------


def test_phases_follow_the_clock_through_a_tally_and_a_revote(
    chain: Chain,
    create: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    """Nobody votes in either round: both tallies settle every model at 0, the first calls a
    re-vote, the second leaves the competition void."""
    c1 = competitors[0]
    game = create()
    comp = game.competition
    seen = [comp.phase()]
    sid = game.submit(c1)
    game.to_reveal()
    seen.append(comp.phase())
    game.draw()
    game.reveal(sid, c1)
    assert comp.submission(sid).status == Status.REVEALED
    game.to_key()
    seen.append(comp.phase())
    game.reveal_key()
    seen.append(comp.phase())
    for r in (1, 2):
        if r == 2:
            seen.append(comp.phase())
            game.draw()
            seen.append(comp.phase())
        game.to_vote_reveal()
        seen.append(comp.phase())
        game.to_tally()
        seen.append(comp.phase())
        game.to_tally_end()
        seen.append(comp.phase())
        game.settle_tally()
    seen.append(comp.phase())
    game.to_disputes_end()
    game.finalize()
    seen.append(comp.phase())
    assert seen == [
        Phase.SUBMIT,
        Phase.REVEAL,
        Phase.KEY,
        Phase.VOTE_COMMIT,
        Phase.VOTE_REVEAL,
        Phase.TALLY,
        Phase.TALLY,  # past the tally's deadline, until its models are settled
        Phase.REVOTE,
        Phase.VOTE_COMMIT,
        Phase.VOTE_REVEAL,
        Phase.TALLY,
        Phase.TALLY,
        Phase.SETTLE,
        Phase.FINALIZED,
    ]
    summary = comp.summary()
    assert (summary.outcome, summary.round, summary.prize_per_reveal) == (Outcome.VOID, 2, PRIZE)
    paid = settle_and_claim(game, everyone(chain))
    assert paid == owed(
        {
            host.address: PRIZE + BOUNTY,
            c1.address: FEE + PRIZE,
            anyone.address: 2 * BOUNTY,
        }
    )
    assert all(kept == 0 for kept, _, _ in settlements(game).values())  # all absent: burned
    assert_drained(game)
