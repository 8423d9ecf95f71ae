"""A whole competition for each outcome, checking every payout to the wei."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from deml.chain.client import Chain
from deml.contracts.types import MinerStatus, Outcome, Phase, Status
from deml.exceptions import custom_error_class
from tests.helpers.game import FEE, PRIZE, STAKE, Game


def owed(amounts: dict[str, int]) -> dict[str, int]:
    """The claims expected to pay out: an account owed nothing (no dust, say) claims nothing."""
    return {account: amount for account, amount in amounts.items() if amount}


def assert_drained(game: Game) -> None:
    """Everything taken in was paid out: the ledger and the balance are both zero."""
    assert game.competition.liabilities() == 0
    assert game.chain.balance(game.competition.address) == 0


def test_normal_win(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    comp = game.competition
    c1, c2, c3 = competitors
    assert comp.phase() == Phase.SUBMIT
    ids = [game.submit(c1), game.submit(c1), game.submit(c2), game.submit(c3)]
    assert ids == [1, 2, 3, 4]
    game.to_reveal()
    assert comp.phase() == Phase.REVEAL
    for sid, who in zip(ids, [c1, c1, c2, c3], strict=True):
        game.reveal(sid, who)
    game.reveal_key()
    assert comp.test_key() == game.key
    assert comp.revealed_model(3) == game.models[3]
    scores = {1: 300, 2: 310, 3: 320, 4: 200}
    game.play_votes({m: scores for m in miners[:3]})
    assert comp.phase() == Phase.SETTLE
    game.settle_all(anyone)

    summary = comp.summary()
    assert (summary.phase, summary.outcome, summary.best_id) == (Phase.FINALIZED, Outcome.WINNER, 3)
    pool = PRIZE + 4 * FEE
    winner_amount = pool * 9_000 // 10_000
    reward_per_vote = (pool - winner_amount) // 12  # 3 miners x 4 agreeing votes
    dust = (pool - winner_amount) % 12
    assert (summary.winner_amount, summary.reward_per_vote, summary.host_amount) == (
        winner_amount,
        reward_per_vote,
        dust,
    )
    assert comp.submission(3).status == Status.VALIDATED
    assert comp.submission(3).top_score == 320

    before = game.chain.balance(c2.address)
    paid = game.claim_all([host, *competitors, *miners, anyone])
    assert paid == owed(
        {
            host.address: dust,
            c2.address: winner_amount,
            **{m.address: STAKE + 4 * reward_per_vote for m in miners[:3]},
        }
    )
    assert game.chain.balance(c2.address) > before
    assert sum(paid.values()) == PRIZE + 4 * FEE + 3 * STAKE
    assert_drained(game)
    with pytest.raises(custom_error_class("AlreadyClaimed")):
        comp.claim(sender=c2)
    with pytest.raises(custom_error_class("NothingToClaim")):
        comp.claim(sender=c1)


def test_tie_goes_to_the_lower_id(
    create_game: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    c1, c2, _ = competitors
    first, second = game.submit(c2), game.submit(c1)
    game.to_reveal()
    game.reveal(second, c1)  # revealed first, but committed later
    game.reveal(first, c2)
    game.reveal_key()
    game.play_votes({m: {first: 250, second: 250} for m in miners[:2]})
    game.settle_all(anyone)
    summary = game.competition.summary()
    assert summary.best_id == first
    assert game.competition.claimable(c2.address) == summary.winner_amount > 0
    assert game.competition.claimable(c1.address) == 0


def test_host_withholds_the_key(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game(prize=PRIZE + 1)  # odd, so the split leaves dust
    comp = game.competition
    c1, c2, c3 = competitors
    comp.register_miner(sender=miners[0])
    a, b, c = game.submit(c1), game.submit(c1), game.submit(c2)
    game.submit(c3)  # never revealed
    game.to_reveal()
    for sid, who in ((a, c1), (b, c1), (c, c2)):
        game.reveal(sid, who)
    game.to_vote_commit()
    assert comp.phase() == Phase.SETTLE  # no key: nothing to vote on
    with pytest.raises(custom_error_class("TestKeyWithheld")):
        game.commit_votes(miners[0], {a: 1})
    with pytest.raises(custom_error_class("TestKeyWithheld")):
        comp.register_miner(sender=miners[1])
    comp.finalize(sender=anyone)
    summary = comp.summary()
    assert summary.outcome == Outcome.KEY_WITHHELD
    per_reveal = (PRIZE + 1) // 3
    assert summary.host_amount == (PRIZE + 1) % 3
    paid = game.claim_all([host, *competitors, *miners])
    assert (PRIZE + 1) % 3 != 0
    assert paid == {
        host.address: (PRIZE + 1) % 3,
        c1.address: 2 * FEE + 2 * per_reveal,
        c2.address: FEE + per_reveal,
        c3.address: FEE,  # buy-in refunded, no share: never revealed
        miners[0].address: STAKE,
    }
    assert_drained(game)


def test_no_quorum_refunds_everyone(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game(quorum=3)
    c1, c2, _ = competitors
    a, b = game.open_with(c1, c2)
    game.play_votes({m: {a: 100, b: 200} for m in miners[:2]})
    game.settle_all(anyone)
    comp = game.competition
    assert comp.summary().outcome == Outcome.NO_WINNER
    assert comp.submission(a).status == Status.REJECTED
    paid = game.claim_all([host, *competitors, *miners])
    assert paid == {
        host.address: PRIZE,
        c1.address: FEE,
        c2.address: FEE,
        miners[0].address: STAKE,
        miners[1].address: STAKE,
    }
    assert_drained(game)


def test_minority_of_wrong_votes_is_outvoted_and_slashed(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game(quorum=3)
    c1, c2, _ = competitors
    a, b = game.open_with(c1, c2)
    honest, liar = miners[:3], miners[3]
    votes = {m: {a: 200, b: 300} for m in honest}
    votes[liar] = {a: 360, b: 10}  # pushes the loser up and the winner down
    game.play_votes(votes)
    game.settle_all(anyone)
    comp = game.competition
    summary = comp.summary()
    assert (summary.outcome, summary.best_id, summary.miners_slashed) == (Outcome.WINNER, b, 1)
    assert comp.submission(b).top_score == 300
    assert comp.participant(liar.address).miner_status == MinerStatus.SLASHED
    pool = PRIZE + 2 * FEE
    miner_pool = pool - pool * 9_000 // 10_000 + STAKE  # the liar's stake goes to the miners
    reward_per_vote = miner_pool // 6
    paid = game.claim_all([host, *competitors, *miners])
    assert paid == owed(
        {
            c2.address: pool * 9_000 // 10_000,
            **{m.address: STAKE + 2 * reward_per_vote for m in honest},
            host.address: miner_pool % 6,
        }
    )
    assert_drained(game)


def test_competitor_who_never_reveals_forfeits_the_buy_in(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    comp = game.competition
    c1, c2, _ = competitors
    a, b = game.submit(c1), game.submit(c2)
    game.to_reveal()
    game.reveal(a, c1)
    game.reveal_key()
    for m in miners[:3]:
        comp.register_miner(sender=m)
    game.to_vote_commit()
    assert comp.submission(b).status == Status.COMMITTED
    for m in miners[:2]:
        game.commit_votes(m, {a: 100})
    game.commit_votes(miners[2], {a: 100, b: 100})  # scores a submission nobody revealed
    game.to_vote_reveal()
    for m in miners[:2]:
        game.reveal_votes(m)
    with pytest.raises(custom_error_class("VoteOnUnrevealedSubmission")):
        game.reveal_votes(miners[2])
    game.to_settle()
    game.settle_all(anyone)
    paid = game.claim_all([host, *competitors, *miners])
    pool = PRIZE + 2 * FEE  # c2's fee stays in the pool
    winner_amount = pool * 9_000 // 10_000
    miner_pool = pool - winner_amount + STAKE  # miners[2] never revealed: slashed
    assert paid == owed(
        {
            c1.address: winner_amount,
            miners[0].address: STAKE + miner_pool // 2,
            miners[1].address: STAKE + miner_pool // 2,
            host.address: miner_pool % 2,
        }
    )
    assert_drained(game)


def test_miner_who_never_reveals_is_slashed(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    c1 = competitors[0]
    (a,) = game.open_with(c1)
    for m in miners[:3]:
        game.competition.register_miner(sender=m)
    game.to_vote_commit()
    for m in miners[:3]:
        game.commit_votes(m, {a: 123})
    game.to_vote_reveal()
    for m in miners[:2]:  # miners[2] stays silent
        game.reveal_votes(m)
    game.to_settle()
    game.settle_all(anyone)
    pool = PRIZE + FEE
    miner_pool = pool - pool * 9_000 // 10_000 + STAKE
    paid = game.claim_all([host, *competitors, *miners])
    assert miners[2].address not in paid
    assert game.competition.participant(miners[2].address).miner_status == MinerStatus.COMMITTED
    assert paid == owed(
        {
            c1.address: pool * 9_000 // 10_000,
            miners[0].address: STAKE + miner_pool // 2,
            miners[1].address: STAKE + miner_pool // 2,
            host.address: miner_pool % 2,
        }
    )
    assert_drained(game)


def test_single_miner_validates_with_quorum_one(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game(quorum=1)
    c1 = competitors[0]
    (a,) = game.open_with(c1)
    game.play_votes({miners[0]: {a: 42}})
    game.settle_all(anyone)
    pool = PRIZE + FEE
    paid = game.claim_all([host, *competitors, *miners])
    assert paid == {
        c1.address: pool * 9_000 // 10_000,
        miners[0].address: STAKE + pool - pool * 9_000 // 10_000,
    }
    assert_drained(game)


def test_no_miners_at_all_refunds(
    create_game: Callable[..., Game],
    host: LocalAccount,
    competitors: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    c1 = competitors[0]
    game.open_with(c1)
    game.to_settle()
    game.settle_all(anyone)
    assert game.competition.summary().outcome == Outcome.NO_WINNER
    assert game.claim_all([host, c1]) == {host.address: PRIZE, c1.address: FEE}
    assert_drained(game)


def test_no_submissions_returns_the_prize(
    create_game: Callable[..., Game], host: LocalAccount, anyone: LocalAccount
) -> None:
    game = create_game()
    game.to_reveal()
    game.reveal_key()
    game.to_settle()
    game.settle_all(anyone)
    assert game.claim_all([host]) == {host.address: PRIZE}
    assert_drained(game)


def test_phases_never_go_backwards(
    create_game: Callable[..., Game], chain: Chain, anyone: LocalAccount
) -> None:
    game = create_game()
    seen = [game.competition.phase()]
    for move in (
        game.to_reveal,
        game.reveal_key,
        game.to_vote_commit,
        game.to_vote_reveal,
        game.to_settle,
    ):
        move()
        seen.append(game.competition.phase())
    game.settle_all(anyone)
    seen.append(game.competition.phase())
    chain.increase_time(10_000)
    seen.append(game.competition.phase())
    assert seen == sorted(seen)
    assert seen[-1] == Phase.FINALIZED
