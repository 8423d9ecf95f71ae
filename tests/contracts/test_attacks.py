"""What an attacker would try: copying models or votes, re-entering claim, griefing payouts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.commitments import model_commitment, new_salt
from deml.exceptions import ContractRevert, TransactionError, custom_error_class
from tests.helpers.game import FEE, STAKE, Game


def raises(name: str) -> pytest.RaisesContext:
    return pytest.raises(custom_error_class(name))


# -- copying ---------------------------------------------------------------------------------


def test_resubmitting_a_revealed_model_after_the_deadline_fails(
    create_game: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create_game()
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    game.to_reveal()
    game.reveal(sid, honest)
    stolen = game.competition.revealed_model(sid)
    with raises("CommitTooLate"):
        game.competition.commit_model(stolen, sender=copier)


def test_replayed_commitment_fails_at_reveal(
    create_game: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    copied = comp.submission(sid).hash  # public in the SubmissionCommitted event
    copy_id = comp.commit(copied, sender=copier)
    game.to_reveal()
    game.reveal(sid, honest)
    model, salt = comp.revealed_model(sid), game.salts[sid]  # now public in calldata
    with raises("CommitmentMismatch") as caught:
        comp.reveal(copy_id, model, salt, sender=copier)
    assert caught.value.arguments == {"id": copy_id, "caller": copier.address}


def test_front_running_a_reveal_fails(
    create_game: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    """A copier who sees the reveal in the mempool and sends it first under its own address."""
    game = create_game()
    honest, copier = competitors[:2]
    sid = game.submit(honest)
    game.to_reveal()
    with raises("CommitmentMismatch"):
        game.competition.reveal(sid, game.models[sid], game.salts[sid], sender=copier)
    game.reveal(sid, honest)
    assert game.competition.submission(sid).owner == honest.address


def test_copied_vote_commitment_fails_at_reveal(
    create_game: Callable[..., Game], competitors: list[LocalAccount], miners: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    c1 = competitors[0]
    sid = game.submit(c1)
    game.to_reveal()
    game.reveal(sid, c1)
    game.reveal_key()
    honest, copier = miners[:2]
    for m in (honest, copier):
        comp.register_miner(sender=m)
    game.to_vote_commit()
    game.commit_votes(honest, {sid: 77})
    copied = comp.participant(honest.address).vote_commitment
    game.chain.transact(comp.contract.functions.commitVotes(copied), sender=copier)
    game.to_vote_reveal()
    game.reveal_votes(honest)
    ids, scores, salt = comp.revealed_votes(honest.address)
    with raises("VoteCommitmentMismatch"):
        comp.reveal_votes(ids, scores, salt, sender=copier)


# -- contract recipients ---------------------------------------------------------------------


def deploy_actor(chain: Chain, owner: LocalAccount, funds: int) -> Contract:
    actor = chain.deploy(artifacts.load_fixture("Actor"), sender=owner)
    chain.transfer(actor.address, funds, sender=owner)
    return actor


def act(
    chain: Chain,
    actor: Contract,
    owner: LocalAccount,
    comp: Contract,
    call: str,
    *args: object,
    value: int = 0,
) -> None:
    data = comp.encode_abi(call, args=list(args))
    chain.transact(actor.functions.exec(comp.address, data), sender=owner, value=value)


def win_with_actor(
    game: Game,
    actor: Contract,
    owner: LocalAccount,
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> int:
    """The actor contract submits the only model, miners validate it; return its winnings."""
    comp = game.competition
    model, salt = b"actor model", new_salt()
    commitment = model_commitment(model, salt, actor.address, comp.address)
    act(game.chain, actor, owner, comp.contract, "commit", commitment, value=FEE)
    game.to_reveal()
    act(game.chain, actor, owner, comp.contract, "reveal", 1, model, salt)
    game.reveal_key()
    game.play_votes({m: {1: 300} for m in miners[:2]})
    game.settle_all(anyone)
    return comp.claimable(actor.address)


def test_reentering_claim_gets_nothing_extra(
    create_game: Callable[..., Game],
    chain: Chain,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    owner = competitors[0]
    actor = deploy_actor(chain, owner, FEE)
    chain.transact(actor.functions.setMode(1, game.competition.address), sender=owner)  # Reenter
    owed = win_with_actor(game, actor, owner, miners, anyone)
    before = chain.call(actor.functions.received())
    act(chain, actor, owner, game.competition.contract, "claim")
    assert chain.call(actor.functions.received()) == before + owed
    assert chain.call(actor.functions.reentryAttempts()) == 1
    assert chain.call(actor.functions.reentrySucceeded()) is False
    error = bytes(chain.call(actor.functions.reentryError()))
    assert error == keccak(text="ReentrancyGuardReentrantCall()")[:4]
    game.claim_all([game.host, *miners[:2]])
    assert chain.balance(game.competition.address) == game.competition.liabilities() == 0


@pytest.mark.parametrize("mode", [2, 3], ids=["reverts", "burns-gas"])
def test_a_recipient_that_refuses_payment_blocks_nobody(
    create_game: Callable[..., Game],
    chain: Chain,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
    mode: int,
) -> None:
    game = create_game()
    owner = competitors[0]
    actor = deploy_actor(chain, owner, FEE)
    owed = win_with_actor(game, actor, owner, miners, anyone)
    chain.transact(actor.functions.setMode(mode, game.competition.address), sender=owner)
    with pytest.raises((ContractRevert, TransactionError)):
        act(chain, actor, owner, game.competition.contract, "claim")
    for m in miners[:2]:  # everyone else is paid
        assert (
            game.competition.claim(sender=m) == STAKE + game.competition.summary().reward_per_vote
        )
    # ...and the refuser can still route its winnings to an address that accepts them.
    before = chain.balance(owner.address)
    act(chain, actor, owner, game.competition.contract, "claimTo", owner.address)
    assert game.competition.claimable(actor.address) == 0
    assert chain.balance(owner.address) > before + owed - 10**16  # less this transaction's gas
    game.claim_all([game.host])
    assert chain.balance(game.competition.address) == 0


def test_forced_ether_does_not_break_the_accounting(
    create_game: Callable[..., Game],
    chain: Chain,
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    comp = game.competition
    c1 = competitors[0]
    sid = game.submit(c1)
    forced = 12345
    chain.deploy(artifacts.load_fixture("ForceSend"), comp.address, sender=anyone, value=forced)
    assert chain.balance(comp.address) == comp.liabilities() + forced
    game.to_reveal()
    game.reveal(sid, c1)
    game.reveal_key()
    game.play_votes({m: {sid: 1} for m in miners[:2]})
    game.settle_all(anyone)
    paid = game.claim_all([game.host, c1, *miners])
    assert sum(paid.values()) == game.params.entry_fee + 10 * 10**18 + 2 * STAKE
    assert comp.liabilities() == 0
    assert chain.balance(comp.address) == forced  # ignored, never counted on
