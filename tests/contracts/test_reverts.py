"""Every custom error of the contracts, triggered and asserted by name, on both backends."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import CompetitionFactory
from deml.contracts.commitments import model_commitment, new_salt
from deml.exceptions import custom_error_class
from tests.helpers.game import (
    DATASET_CID,
    FEE,
    STAKE,
    TEST_CID,
    TEST_SET,
    Game,
    default_params,
)
from tests.helpers.project import ROOT

PARAMS_ABI = (
    "(uint128,uint128,uint40,uint40,uint40,uint40,uint32,uint24,uint16,uint16,uint16,bytes32)"
)


def raises(name: str, **arguments: object) -> pytest.RaisesContext:
    """Expect the custom error `name`; checks the given arguments once it is raised."""
    return pytest.raises(custom_error_class(name), match=re.escape(name))


def test_every_declared_error_has_a_test_here() -> None:
    contracts = ROOT / "contracts"
    declared = {
        name
        for source in ("ICompetition.sol", "CompetitionFactory.sol")
        for name in re.findall(r"^\s*error (\w+)\(", (contracts / source).read_text(), re.MULTILINE)
    }
    abi_errors = {
        item["name"] for item in artifacts.load("Competition").abi if item["type"] == "error"
    }
    assert declared - {"CidInvalid"} <= abi_errors
    here = Path(__file__).parent
    source = "".join(
        (here / name).read_text()
        for name in ("test_reverts.py", "test_attacks.py", "test_lifecycle.py")
    )
    missing = sorted(name for name in declared if f'"{name}"' not in source)
    assert missing == []


# -- creation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"submit_deadline": 0}, "DeadlinesOutOfOrder"),
        ({"winner_bps": 10_001}, "SharesInvalid"),
        ({"quorum": 0}, "QuorumInvalid"),
        ({"test_set_size": 0}, "TestSetSizeInvalid"),
        ({"max_model_bytes": 0}, "ModelCapInvalid"),
        ({"max_submissions": 0}, "SubmissionCapInvalid"),
    ],
)
def test_create_refuses_bad_parameters(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount, overrides: dict, error: str
) -> None:
    params = default_params(chain, b"k" * 32, **overrides)
    with raises(error):
        factory.create(params, DATASET_CID, TEST_CID, prize=1, sender=host)


def test_create_refuses_deadlines_out_of_order(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount
) -> None:
    params = default_params(chain, b"k" * 32)
    swapped = replace(
        params,
        reveal_deadline=params.vote_commit_deadline,
        vote_commit_deadline=params.reveal_deadline,
    )
    with raises("DeadlinesOutOfOrder") as caught:
        factory.create(swapped, DATASET_CID, TEST_CID, prize=1, sender=host)
    assert caught.value.arguments["reveal"] == params.vote_commit_deadline


@pytest.mark.parametrize("cid", ["", "b" * 129])
def test_create_refuses_a_bad_cid(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount, cid: str
) -> None:
    with raises("CidInvalid") as caught:
        factory.create(default_params(chain, b"k" * 32), cid, TEST_CID, prize=1, sender=host)
    assert caught.value.arguments == {"length": len(cid), "maxLength": 128}


def test_clone_made_outside_the_factory_must_bring_its_prize(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount
) -> None:
    """The factory always sends the prize it encodes; a hand-made clone must too."""
    maker = chain.deploy(artifacts.load_fixture("CloneMaker"), sender=host)
    implementation = chain.call(factory.contract.functions.implementation())
    params = default_params(chain, b"k" * 32)
    args = encode(["address", "uint256", PARAMS_ABI], [host.address, 5, params.as_abi()])
    with raises("PrizeMismatch") as caught:
        chain.transact(maker.functions.make(implementation, args), sender=host, value=4)
    assert caught.value.arguments == {"required": 5, "sent": 4}


def test_clone_and_implementation_cannot_be_initialized_again(
    chain: Chain,
    factory: CompetitionFactory,
    create_game: Callable[..., Game],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    implementation = chain.call(factory.contract.functions.implementation())
    for address in (game.competition.address, implementation):
        target = chain.contract(artifacts.load("Competition"), address)
        with raises("AlreadyInitialized"):
            chain.transact(target.functions.initialize(), sender=anyone)


# -- submit and reveal -----------------------------------------------------------------------


def test_commit_checks(
    create_game: Callable[..., Game], host: LocalAccount, competitors: list[LocalAccount]
) -> None:
    game = create_game(max_submissions=1)
    comp = game.competition
    c1 = competitors[0]
    with raises("HostCannotCompete"):
        comp.commit(b"\x01" * 32, sender=host)
    with raises("EntryFeeMismatch") as caught:
        game.chain.transact(comp.contract.functions.commit(b"\x01" * 32), sender=c1, value=FEE - 1)
    assert caught.value.arguments == {"required": FEE, "sent": FEE - 1}
    with raises("CommitmentInvalid"):
        comp.commit(b"\x00" * 32, sender=c1)
    game.submit(c1)
    with raises("SubmissionLimitReached"):
        game.submit(c1)
    game.to_reveal()
    with raises("CommitTooLate") as late:
        game.submit(competitors[1])
    assert late.value.arguments["deadline"] == game.params.submit_deadline
    assert "submissions closed at" in str(late.value)


def test_reveal_checks(create_game: Callable[..., Game], competitors: list[LocalAccount]) -> None:
    game = create_game(max_model_bytes=100)
    comp = game.competition
    c1, c2, _ = competitors
    sid = game.submit(c1, b"m" * 100)
    with raises("RevealTooEarly") as early:
        game.reveal(sid, c1)
    assert "the reveal window opens at" in str(early.value)
    game.to_reveal()
    with raises("SubmissionUnknown"):
        comp.reveal(99, b"m", b"\x00" * 32, sender=c1)
    with raises("ModelEmpty"):
        comp.reveal(sid, b"", game.salts[sid], sender=c1)
    with raises("ModelTooLarge") as big:
        comp.reveal(sid, b"m" * 101, game.salts[sid], sender=c1)
    assert big.value.arguments == {"id": sid, "size": 101, "limit": 100}
    with raises("CommitmentMismatch"):
        comp.reveal(sid, b"n" * 100, game.salts[sid], sender=c1)  # another model
    with raises("CommitmentMismatch"):
        comp.reveal(sid, b"m" * 100, new_salt(), sender=c1)  # another salt
    game.reveal(sid, c1)
    with raises("SubmissionAlreadyRevealed"):
        game.reveal(sid, c1)
    late = game.submit  # noqa: F841  (submissions are closed; see test_commit_checks)
    other = comp.contract.functions  # a second submission committed earlier cannot be revealed late
    game.to_vote_commit()
    with raises("RevealTooLate"):
        game.chain.transact(other.reveal(sid, b"m" * 100, game.salts[sid]), sender=c2)


def test_test_key_checks(
    create_game: Callable[..., Game], host: LocalAccount, competitors: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    with raises("RevealTooEarly"):
        game.reveal_key()  # never before submissions close: it would leak the test set
    game.to_reveal()
    with raises("CallerNotHost"):
        comp.reveal_test_key(game.key, sender=competitors[0])
    with raises("TestKeyMismatch"):
        comp.reveal_test_key(b"\x01" * 32, sender=host)
    game.reveal_key()
    with raises("TestKeyAlreadyRevealed"):
        game.reveal_key()


# -- miners ----------------------------------------------------------------------------------


def test_miner_registration_checks(
    create_game: Callable[..., Game], miners: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    m = miners[0]
    with raises("StakeMismatch"):
        game.chain.transact(comp.contract.functions.registerMiner(), sender=m, value=STAKE + 1)
    comp.register_miner(sender=m)
    with raises("MinerAlreadyRegistered"):
        comp.register_miner(sender=m)
    game.to_reveal()
    game.reveal_key()
    game.to_vote_reveal()
    with raises("RegistrationTooLate"):
        comp.register_miner(sender=miners[1])


def test_miner_limit(create_game: Callable[..., Game], miners: list[LocalAccount]) -> None:
    """65,535 registrations are out of reach: set the counter in storage, as vm.store does."""
    game = create_game()
    chain = game.chain
    if chain.backend != "http":
        pytest.skip("needs anvil_setStorageAt")
    slot = 0  # Counters: the first storage slot (the parameters live in the clone's code)
    word = int.from_bytes(chain.w3.eth.get_storage_at(game.competition.address, slot), "big")
    miners_offset = 8 * (4 + 4 * 4)  # four 1-byte fields, then four uint32 counters
    word |= 0xFFFF << miners_offset
    chain.w3.provider.make_request(
        "anvil_setStorageAt",
        [game.competition.address, hex(slot), "0x" + word.to_bytes(32, "big").hex()],
    )
    assert game.competition.summary().miners == 0xFFFF
    with raises("MinerLimitReached"):
        game.competition.register_miner(sender=miners[0])


def test_vote_commit_checks(
    create_game: Callable[..., Game], competitors: list[LocalAccount], miners: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    m = miners[0]
    comp.register_miner(sender=m)
    with raises("VoteCommitTooEarly"):
        game.commit_votes(m, {1: 1})
    game.to_reveal()
    game.reveal_key()
    game.to_vote_commit()
    with raises("MinerNotRegistered"):
        game.commit_votes(miners[1], {1: 1})
    game.to_vote_reveal()
    with raises("VoteCommitTooLate"):
        game.commit_votes(m, {1: 1})


def test_vote_reveal_checks(
    create_game: Callable[..., Game], competitors: list[LocalAccount], miners: list[LocalAccount]
) -> None:
    game = create_game()
    comp = game.competition
    c1, c2, _ = competitors
    a, b = game.open_with(c1, c2)
    for m in miners:
        comp.register_miner(sender=m)
    comp.register_miner(sender=c1)  # a competitor may mine, but not score itself
    game.to_vote_commit()
    plans = {
        miners[0]: ([a, b], [1, 2]),
        miners[1]: ([b, a], [2, 1]),  # not ascending
        miners[2]: ([a, a], [1, 1]),  # a double vote
        miners[3]: ([a], [TEST_SET + 1]),  # more correct than there are samples
        miners[4]: ([a, b], [1]),  # lengths differ
        c1: ([a, b], [1, 2]),
    }
    salt = new_salt()
    for m, (ids, scores) in plans.items():
        game.chain.transact(
            comp.contract.functions.commitVotes(
                _raw_commitment(ids, scores, salt, m.address, comp.address)
            ),
            sender=m,
        )
    with raises("VoteRevealTooEarly"):
        comp.reveal_votes([a, b], [1, 2], salt, sender=miners[0])
    game.to_vote_reveal()
    with raises("VotesNotCommitted"):
        comp.reveal_votes([a], [1], salt, sender=competitors[1])
    with raises("VoteCommitmentMismatch"):
        comp.reveal_votes([a, b], [1, 3], salt, sender=miners[0])
    with raises("VoteIdsNotAscending") as order:
        comp.reveal_votes([b, a], [2, 1], salt, sender=miners[1])
    assert order.value.arguments == {"index": 1, "id": a}
    with raises("VoteIdsNotAscending"):
        comp.reveal_votes([a, a], [1, 1], salt, sender=miners[2])
    with raises("ScoreOutOfRange"):
        comp.reveal_votes([a], [TEST_SET + 1], salt, sender=miners[3])
    with raises("VoteLengthMismatch"):
        comp.reveal_votes([a, b], [1], salt, sender=miners[4])
    with raises("VoteOnOwnSubmission"):
        comp.reveal_votes([a, b], [1, 2], salt, sender=c1)
    comp.reveal_votes([a, b], [1, 2], salt, sender=miners[0])
    with raises("VotesAlreadyRevealed"):
        comp.reveal_votes([a, b], [1, 2], salt, sender=miners[0])
    game.to_settle()
    with raises("VoteRevealTooLate"):
        comp.reveal_votes([a], [1], salt, sender=miners[3])


def _raw_commitment(
    ids: list[int], scores: list[int], salt: bytes, miner: str, competition: str
) -> bytes:
    from deml.contracts.commitments import vote_commitment

    return vote_commitment(ids, scores, salt, miner, competition)


# -- settle, finalize, claim -----------------------------------------------------------------


def test_settlement_checks(
    create_game: Callable[..., Game],
    competitors: list[LocalAccount],
    miners: list[LocalAccount],
    anyone: LocalAccount,
) -> None:
    game = create_game()
    comp = game.competition
    c1, c2, _ = competitors
    a, b = game.open_with(c1, c2)
    with raises("SettlementTooEarly"):
        comp.settle([a], sender=anyone)
    with raises("SettlementTooEarly"):
        comp.finalize(sender=anyone)
    with raises("NotFinalized"):
        comp.claim(sender=c1)
    game.play_votes({m: {a: 10, b: 20} for m in miners[:2]})
    comp.settle([a], sender=anyone)
    ids, scores, salt = comp.revealed_votes(miners[0].address)
    with raises("SubmissionsUnsettled") as unsettled:
        comp.settle_miner(miners[0].address, ids, scores, salt, sender=anyone)
    assert unsettled.value.arguments == {"settled": 1, "revealed": 2}
    with raises("SettlementIncomplete") as incomplete:
        comp.finalize(sender=anyone)
    assert incomplete.value.arguments == {"submissionsLeft": 1, "minersLeft": 2}
    comp.settle([a, b, a], sender=anyone)  # a again: skipped
    with raises("MinerNotRevealed"):
        comp.settle_miner(miners[3].address, ids, scores, salt, sender=anyone)
    with raises("VoteCommitmentMismatch"):
        comp.settle_miner(miners[0].address, ids, [10, 21], salt, sender=anyone)
    with raises("VoteLengthMismatch"):
        comp.settle_miner(miners[0].address, ids, [10], salt, sender=anyone)
    comp.settle_miner(miners[0].address, ids, scores, salt, sender=anyone)
    with raises("MinerNotRevealed"):  # settled already
        comp.settle_miner(miners[0].address, ids, scores, salt, sender=anyone)
    with raises("SettlementIncomplete"):
        comp.finalize(sender=anyone)
    ids, scores, salt = comp.revealed_votes(miners[1].address)
    comp.settle_miner(miners[1].address, ids, scores, salt, sender=anyone)
    comp.finalize(sender=anyone)
    with raises("AlreadyFinalized"):
        comp.finalize(sender=anyone)
    with raises("AlreadyFinalized"):
        comp.settle([a], sender=anyone)


def test_settlement_needs_the_key(create_game: Callable[..., Game], anyone: LocalAccount) -> None:
    game = create_game()
    game.to_settle()
    with raises("TestKeyWithheld"):
        game.competition.settle([1], sender=anyone)


def test_nothing_to_claim(create_game: Callable[..., Game], anyone: LocalAccount) -> None:
    game = create_game()
    game.to_vote_commit()
    game.competition.finalize(sender=anyone)
    with raises("NothingToClaim") as caught:
        game.competition.claim(sender=anyone)
    assert str(caught.value) == f"NothingToClaim: {anyone.address} has nothing to claim"
    game.competition.claim(sender=game.host)
    with raises("AlreadyClaimed"):
        game.competition.claim(sender=game.host)


def test_model_over_the_cap_is_refused_before_sending(
    create_game: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    from deml.exceptions import BindingError

    game = create_game(max_model_bytes=10)
    before = game.chain.w3.eth.get_transaction_count(competitors[0].address)
    with pytest.raises(BindingError, match="the model is 11 bytes; the cap is 10"):
        game.competition.commit_model(b"x" * 11, sender=competitors[0])
    assert game.chain.w3.eth.get_transaction_count(competitors[0].address) == before
    assert (
        model_commitment(b"x", b"\x00" * 32, competitors[0].address, game.competition.address)
        != b""
    )
