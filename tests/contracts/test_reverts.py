"""Every custom error of the v2 contracts, triggered and asserted by name, on both backends.

The miner pool's errors are triggered in test_pool.py (each with the behaviour it guards);
this module checks that every error the contracts declare is triggered somewhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory, MinerPool
from deml.contracts.commitments import model_commitment, new_salt
from deml.contracts.score_tree import LEAF_SIZE, Chunk
from deml.contracts.types import HOST_FAULT
from tests.helpers.game import (
    BOUNTY,
    CONFIG_ABI,
    DATASET_CID,
    FEE,
    PRIZE,
    TEST_CID,
    Game,
    bond_all,
    default_params,
    deploy_factory,
    vector,
)
from tests.helpers.project import ROOT
from tests.helpers.reverts import raises

KEY = b"k" * 32
SOURCES = (
    "ICompetition.sol",
    "IMinerPool.sol",
    "CompetitionFactory.sol",
    "Disputes.sol",
    "Architectures.sol",
)
TESTS = (
    Path(__file__).parent / "test_reverts.py",
    Path(__file__).parent / "test_lifecycle.py",
    Path(__file__).parent / "test_pool.py",
    Path(__file__).parent / "test_blob_reveal.py",
    Path(__file__).parent / "test_disputes.py",
    Path(__file__).parent / "test_architectures.py",
)
# Declared, compiled in, and unreachable by any caller: findings, kept as defensive checks.
UNREACHABLE = {
    # Competition.drawJury seals only when the pool holds no seal for it.
    "DrawAlreadySealed",
    # A competition releases or burns exactly the seats the pool locked for it, per round.
    "LockedSeatsExceeded",
}


def test_every_declared_error_is_triggered_by_a_test() -> None:
    contracts = ROOT / "contracts"
    declared = {
        name
        for source in SOURCES
        for name in re.findall(r"^\s*error (\w+)\(", (contracts / source).read_text(), re.MULTILINE)
    }
    compiled = {
        item["name"]
        for name in ("Competition", "MinerPool", "CompetitionFactory", "Disputes", "Architectures")
        for item in artifacts.load(name).abi
        if item["type"] == "error"
    }
    # solc keeps only the errors a contract can raise: a declared error missing here is dead.
    assert declared <= compiled
    # Triggered and asserted: each is the last argument of a call in one of these modules,
    # `raises("Name")`, or of a parametrized case, `({...}, "Name")`.
    asserted = {name for path in TESTS for name in re.findall(r'"([A-Z]\w+)"\)', path.read_text())}
    assert declared - asserted == UNREACHABLE


# -- creation: each floor refused with its own error ------------------------------------------


def create_with(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount, prize: int = PRIZE, **terms: Any
) -> Competition:
    return factory.create(
        default_params(chain, KEY, **terms), DATASET_CID, TEST_CID, prize=prize, sender=host
    )


@pytest.mark.parametrize(
    ("terms", "error"),
    [
        ({"entry_fee": 0}, "EntryFeeInvalid"),
        ({"seats": 4}, "SeatsInvalid"),  # even: a vote could tie
        ({"seats": 1}, "SeatsInvalid"),  # under the factory's floor of 3
        ({"seats": 257}, "SeatsInvalid"),  # over 255 (a re-vote draws 2n+1 <= 511)
        ({"winner_bps": 10_000}, "SharesInvalid"),  # nothing left for the jury
        ({"winner_bps": 0}, "SharesInvalid"),
        ({"host_bond": PRIZE - 1}, "HostBondTooSmall"),
        ({"test_set_size": 0}, "TestSetSizeInvalid"),
        ({"samples_root": bytes(32)}, "SamplesRootInvalid"),  # no sample could be presented
        ({"max_model_bytes": 0}, "ModelCapInvalid"),
        ({"max_submissions": 0}, "SubmissionCapInvalid"),
        ({"seats": 25}, "PoolTooSmall"),  # a re-vote needs 51 units; the pool holds 50
    ],
)
def test_create_refuses_each_floor(
    chain: Chain,
    factory: CompetitionFactory,
    pool: MinerPool,
    host: LocalAccount,
    terms: dict[str, int],
    error: str,
) -> None:
    with raises(error):
        create_with(chain, factory, host, **terms)


@pytest.mark.parametrize(
    ("phase", "field"),
    [
        (0, "submit_deadline"),
        (1, "reveal_deadline"),
        (2, "key_deadline"),
        (3, "vote_commit_deadline"),
        (4, "vote_reveal_deadline"),
        (5, "tally_duration"),
    ],
)
def test_create_refuses_a_window_under_the_minimum(
    chain: Chain,
    factory: CompetitionFactory,
    pool: MinerPool,
    host: LocalAccount,
    phase: int,
    field: str,
) -> None:
    """Every window lasts at least the factory's minute: each deadline is moved to 59 s after
    the one before it (the tally lasts 59 s)."""
    params = default_params(chain, KEY)
    starts = {
        "submit_deadline": chain.timestamp(),  # the creating block comes later still
        "reveal_deadline": params.submit_deadline,
        "key_deadline": params.reveal_deadline,
        "vote_commit_deadline": params.key_deadline,
        "vote_reveal_deadline": params.vote_commit_deadline,
        "tally_duration": 0,
    }
    short = replace(params, **{field: starts[field] + 59})
    with raises("WindowTooShort") as caught:
        factory.create(short, DATASET_CID, TEST_CID, prize=PRIZE, sender=host)
    assert caught.value.arguments["phase"] == phase
    assert caught.value.arguments["minimum"] == 60
    assert caught.value.arguments["seconds_"] <= 59


def test_create_refuses_deadlines_out_of_order(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount
) -> None:
    params = default_params(chain, KEY)
    swapped = replace(
        params, reveal_deadline=params.key_deadline, key_deadline=params.reveal_deadline
    )
    with raises("DeadlinesOutOfOrder") as caught:
        factory.create(swapped, DATASET_CID, TEST_CID, prize=PRIZE, sender=host)
    assert caught.value.arguments["reveal"] == params.key_deadline
    with raises("DeadlinesOutOfOrder"):
        create_with(chain, factory, host, submit_deadline=chain.timestamp())


def test_create_refuses_a_competition_that_outlives_the_unbonding_delay(
    chain: Chain, host: LocalAccount, miners: list[LocalAccount]
) -> None:
    """The longest life: to the key deadline, then two votes, each with its tally and dispute
    window: 3,000 + 2 x (2,000 + 2 x 1,000) = 11,000 s with the default terms, less the
    seconds between writing the terms and the creating block."""
    short = deploy_factory(chain, host, unbonding_delay=10_990)
    bond_all(short.pool(), miners)
    with raises("CompetitionTooLong") as caught:
        create_with(chain, short, host)
    assert caught.value.arguments["unbondingDelay"] == 10_990
    assert 10_990 <= caught.value.arguments["seconds_"] <= 11_000
    longer = deploy_factory(chain, host, unbonding_delay=11_010)
    bond_all(longer.pool(), miners)
    create_with(chain, longer, host)


def test_a_factory_without_a_dispute_contract_is_refused(chain: Chain, host: LocalAccount) -> None:
    """Every decided root asks the dispute contract before it settles: without one (a zero or
    code-less address) no competition of the factory could ever pay out."""
    for disputes in ("0x" + "00" * 20, host.address):
        with raises("DisputesInvalid"):
            chain.deploy(
                artifacts.load("CompetitionFactory"), 10**17, 30 * 86_400, 1, 3, 60, disputes,
                sender=host,
            )  # fmt: skip


def test_create_refuses_a_pool_without_a_revote_jury(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount, miners: list[LocalAccount]
) -> None:
    """A 3-seat vote can need a 7-seat re-vote: 7 bonded units at least."""
    pool = factory.pool()
    bond_all(pool, miners[:3], units=2)
    with raises("PoolTooSmall") as caught:
        create_with(chain, factory, host)
    assert caught.value.arguments == {"units": 6, "required": 7}
    pool.bond(1, sender=miners[3])
    create_with(chain, factory, host)


def test_create_refuses_funding_without_a_prize(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount
) -> None:
    with raises("FundingTooSmall") as caught:
        create_with(chain, factory, host, prize=0)
    assert caught.value.arguments == {
        "sent": PRIZE + 3 * BOUNTY,
        "bondAndBounties": PRIZE + 3 * BOUNTY,
    }


@pytest.mark.parametrize("cid", ["", "b" * 129])
def test_create_refuses_a_bad_cid(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount, cid: str
) -> None:
    params = default_params(chain, KEY)
    with raises("CidInvalid") as caught:
        factory.create(params, cid, TEST_CID, prize=PRIZE, sender=host)
    assert caught.value.arguments == {"length": len(cid), "maxLength": 128}
    with raises("CidInvalid"):
        factory.create(params, DATASET_CID, cid, prize=PRIZE, sender=host)


def make_clone(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount, prize: int, value: int
) -> Any:
    """A clone made by hand, outside the factory, with its own arguments and funding."""
    maker = chain.deploy(artifacts.load_fixture("CloneMaker"), sender=host)
    implementation = chain.call(factory.contract.functions.implementation())
    chain.contract(artifacts.load("Competition"), implementation)  # decode its errors
    params = default_params(chain, KEY)
    args = encode(
        CONFIG_ABI,
        [
            host.address,
            prize,
            factory.pool().address,
            factory.disputes().address,
            params.as_abi(),
        ],
    )
    return chain.transact(maker.functions.make(implementation, args), sender=host, value=value)


def test_clone_made_by_hand_must_bring_exactly_its_funding(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount
) -> None:
    """The factory derives the prize from what it is sent; a hand-made clone's encoded prize
    must still fit in 128 bits, be positive, and be paid in full."""
    funding = default_params(chain, KEY).funding(5)
    with raises("FundingMismatch") as caught:
        make_clone(chain, factory, host, prize=5, value=funding - 1)
    assert caught.value.arguments == {"required": funding, "sent": funding - 1}
    with raises("PrizeInvalid"):
        make_clone(chain, factory, host, prize=0, value=funding - 5)
    with raises("AmountTooLarge") as too_large:
        make_clone(chain, factory, host, prize=2**128, value=1)
    assert too_large.value.arguments == {"amount": 2**128}
    make_clone(chain, factory, host, prize=5, value=funding)


def test_clone_and_implementation_cannot_be_initialized_again(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount
) -> None:
    comp = create_with(chain, factory, host)
    implementation = chain.call(factory.contract.functions.implementation())
    for address in (comp.address, implementation):
        target = chain.contract(artifacts.load("Competition"), address)
        with raises("AlreadyInitialized"):
            chain.transact(target.functions.initialize(), sender=host, value=PRIZE)


# -- submissions and the key -------------------------------------------------------------------


def test_commit_checks(
    chain: Chain, create: Callable[..., Game], host: LocalAccount, competitors: list[LocalAccount]
) -> None:
    game = create(max_submissions=1)
    comp = game.competition
    c1 = competitors[0]
    with raises("HostCannotCompete"):
        comp.commit(new_salt(), sender=host)
    with raises("EntryFeeMismatch") as caught:
        chain.transact(comp.contract.functions.commit(new_salt()), sender=c1, value=FEE - 1)
    assert caught.value.arguments == {"required": FEE, "sent": FEE - 1}
    with raises("CommitmentInvalid"):
        comp.commit(bytes(32), sender=c1)
    game.submit(c1)
    with raises("SubmissionLimitReached"):
        game.submit(c1)
    game.to_reveal()
    with raises("CommitTooLate"):
        game.submit(competitors[1])


def test_reveal_checks(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create(max_model_bytes=100)
    comp = game.competition
    c1, c2, c3 = competitors
    sid = game.submit(c1)
    with raises("RevealTooEarly"):
        game.reveal(sid, c1)
    empty_salt, big_salt = new_salt(), new_salt()
    empty = comp.commit(model_commitment(b"", empty_salt, c2.address, comp.address), sender=c2)
    big = comp.commit(model_commitment(b"x" * 101, big_salt, c3.address, comp.address), sender=c3)
    game.to_reveal()
    with raises("SubmissionUnknown"):
        comp.reveal(99, b"model", new_salt(), sender=c1)
    with raises("CommitmentMismatch"):
        comp.reveal(sid, game.models[sid], new_salt(), sender=c1)  # another salt
    with raises("CommitmentMismatch"):
        game.reveal(sid, c2)  # another sender: the commitment binds the committer
    with raises("ModelEmpty"):
        comp.reveal(empty, b"", empty_salt, sender=c2)
    with raises("ModelTooLarge") as caught:
        comp.reveal(big, b"x" * 101, big_salt, sender=c3)
    assert caught.value.arguments == {"id": big, "size": 101, "limit": 100}
    game.reveal(sid, c1)
    with raises("SubmissionAlreadyRevealed"):
        game.reveal(sid, c1)
    game.to_key()
    with raises("RevealTooLate"):
        comp.reveal(big, b"x" * 100, big_salt, sender=c3)


def test_test_key_checks(
    create: Callable[..., Game], host: LocalAccount, competitors: list[LocalAccount]
) -> None:
    game = create()
    comp = game.competition
    game.submit(competitors[0])
    game.to_reveal()
    with raises("KeyTooEarly"):  # no key while models can still be revealed
        game.reveal_key()
    game.to_key()
    with raises("CallerNotHost"):
        comp.reveal_test_key(game.key, sender=competitors[0])
    with raises("TestKeyMismatch") as caught:
        comp.reveal_test_key(b"x" * 32, sender=host)
    assert caught.value.arguments["expectedHash"] == keccak(game.key)
    game.reveal_key()
    with raises("TestKeyAlreadyRevealed"):
        game.reveal_key()
    game.to_key_deadline()
    with raises("KeyTooLate"):
        game.reveal_key()


# -- the jury and its votes ------------------------------------------------------------------


def test_draw_checks(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount], anyone: LocalAccount
) -> None:
    game = create()
    comp = game.competition
    game.submit(competitors[0])
    with raises("DrawTooEarly"):  # the jury is drawn once submissions are closed
        comp.draw_jury(sender=anyone)
    game.to_reveal()
    assert comp.draw_jury(sender=anyone) is False  # sealed to a block not yet mined
    with raises("DrawBlockNotMined"):
        comp.draw_jury(sender=anyone)
    target = game.competition.pool().sealed_target(comp.address)
    while chain.w3.eth.block_number <= target:
        chain.mine()
    assert comp.draw_jury(sender=anyone) is True
    with raises("NoDrawDue"):
        comp.draw_jury(sender=anyone)
    empty = create()
    empty.to_reveal()
    with raises("NoDrawDue"):  # no submission, no jury
        empty.competition.draw_jury(sender=anyone)


def test_vote_checks(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount], anyone: LocalAccount
) -> None:
    game = create()
    comp = game.competition
    c1, c2 = competitors[:2]
    ids = [game.submit(c1), game.submit(c2)]
    game.to_reveal()
    jury = game.draw()
    jurors = list(jury)
    for sid, who in zip(ids, (c1, c2), strict=True):
        game.reveal(sid, who)
    first = game.accounts[jurors[0]]
    with raises("VoteCommitTooEarly"):  # before the key, there is nothing to score
        comp.commit_vote(HOST_FAULT, new_salt(), sender=first)
    game.to_key()
    game.reveal_key()
    with raises("NotJuror"):
        comp.commit_vote(HOST_FAULT, new_salt(), sender=anyone)
    scores = {1: 300, 2: 100}
    for juror in jurors:
        game.commit(juror, scores)
    with raises("VoteRevealTooEarly"):
        game.reveal_vote(jurors[0])
    game.to_vote_reveal()
    with raises("VoteCommitTooLate"):
        comp.commit_vote(HOST_FAULT, new_salt(), sender=first)
    with raises("VoteCommitmentMismatch"):  # a vote other than the one committed
        comp.reveal_host_fault(game.ballots[jurors[0]][1], sender=first)
    with raises("VoteNotCommitted"):
        comp.reveal_host_fault(new_salt(), sender=anyone)
    game.reveal_vote(jurors[0])
    with raises("VoteAlreadyRevealed"):
        game.reveal_vote(jurors[0])
    for juror in jurors[1:]:
        game.reveal_vote(juror)
    game.to_tally()
    with raises("VoteRevealTooLate"):
        game.reveal_vote(jurors[0])

    # A root won: there is nothing to tally, and each leaf is published once.
    tree = vector(scores)
    with raises("TallyNotOpen"):
        comp.settle_submissions([1, 2], sender=anyone)
    with raises("TallyNotOpen"):
        comp.publish_vector(jurors[0], tree.chunk(1, 0), sender=anyone)
    comp.publish_scores(tree.chunk(0, 0), sender=anyone)
    with raises("AlreadyPublished") as caught:
        comp.publish_scores(tree.chunk(0, 0), sender=anyone)
    assert caught.value.arguments == {"firstLeaf": 0}
    comp.publish_scores(tree.chunk(1, 0), sender=anyone)  # pays for leaf 1 only
    with raises("AlreadyPublished"):
        comp.publish_scores(tree.chunk(1, 0), sender=anyone)


def tally_game(chain: Chain, create: Callable[..., Game], owners: list[LocalAccount]) -> Game:
    """A 7-seat vote whose two smallest jurors hold at most 3 seats (so they cannot decide
    anything): replayed from a snapshot until the draw gives one."""
    for attempt in range(40):
        saved = chain.snapshot()
        for _ in range(attempt):
            chain.mine()
        game = create(seats=7)
        ids = [game.submit(who) for who in owners]
        game.to_reveal()
        jury = game.draw()
        few = sorted(jury, key=lambda j: (jury[j], j))
        if len(few) >= 2 and jury[few[0]] + jury[few[1]] <= 3:
            for sid, who in zip(ids, owners, strict=True):
                game.reveal(sid, who)
            game.to_key()
            game.reveal_key()
            return game
        chain.revert(saved)
    raise AssertionError("no jury of the shape needed in 40 draws")


def tamper(chunk: Chunk, byte: int) -> Chunk:
    leaves = bytearray(chunk.leaves)
    leaves[byte] ^= 1
    return replace(chunk, leaves=bytes(leaves))


def test_tally_checks(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount], anyone: LocalAccount
) -> None:
    c1, c2 = competitors[:2]
    game = tally_game(chain, create, [c1, c2])
    comp = game.competition
    jury = game.jury()
    honest, liar = sorted(jury, key=lambda j: (jury[j], j))[:2]
    # The liar's vector gives model 2 more than the test set holds.
    ballots = {honest: {1: 300, 2: 100}, liar: {1: 300, 2: 361}}
    game.play_votes(ballots.get, lambda j: True)
    good = vector(ballots[honest])

    with raises("NotJuror"):  # it revealed no vector
        comp.publish_vector(anyone.address, good.chunk(0, 0), sender=anyone)
    with raises("VectorOutOfOrder") as caught:
        comp.publish_vector(honest, good.chunk(0, 1), sender=anyone)
    assert caught.value.arguments == {"cursor": 0, "firstLeaf": 1}
    with raises("ProofInvalid"):
        comp.publish_vector(honest, tamper(good.chunk(0, 0), 5), sender=anyone)  # its score
    with raises("ChunkInvalid"):
        short = good.chunk(0, 0)
        comp.publish_vector(honest, replace(short, leaves=short.leaves[:-1]), sender=anyone)
    comp.publish_vector(honest, good.chunk(0, 0), sender=anyone)
    comp.publish_vector(honest, good.chunk(0, 1), sender=anyone)
    with raises("VectorComplete"):
        comp.publish_vector(honest, good.chunk(1, 0), sender=anyone)
    bad = vector(ballots[liar])
    comp.publish_vector(liar, bad.chunk(0, 0), sender=anyone)
    with raises("LeafInvalid") as invalid:
        comp.publish_vector(liar, bad.chunk(0, 1), sender=anyone)
    assert invalid.value.arguments == {"position": 1, "id": 2}
    with raises("TallyStillOpen"):
        comp.settle_submissions([1, 2], sender=anyone)

    game.to_tally_end()
    with raises("TallyClosed"):
        comp.publish_vector(liar, bad.chunk(0, 1), sender=anyone)
    with raises("SubmissionNotSettled"):
        comp.prove_dissent(honest, good.chunk(0, 0), sender=anyone)
    comp.settle_submissions([1], sender=anyone)
    with raises("NotDissent"):  # model 1 has no majority (3 seats of 7 at most): no dissent
        comp.prove_dissent(honest, good.chunk(0, 0), sender=anyone)


def test_settlement_and_claim_checks(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount], anyone: LocalAccount
) -> None:
    game = create()
    comp = game.competition
    c1 = competitors[0]
    game.open_with(c1)
    with raises("SettlementTooEarly"):
        game.finalize()
    jurors = list(game.jury())
    game.play_votes(lambda j: {1: 300})
    with raises("NotFinalized"):
        comp.settle_jurors(1, jurors, sender=anyone)
    game.finalize()
    with raises("AlreadyFinalized"):
        game.finalize()
    tree = game.ballots[jurors[0]][2]
    assert tree is not None
    with raises("AlreadyFinalized"):
        comp.prove_dissent(jurors[0], tree.chunk(0, 0), sender=anyone)
    comp.settle_jurors(1, jurors, sender=anyone)
    with raises("JurorAlreadySettled"):
        comp.settle_jurors(1, jurors[:1], sender=anyone)
    with raises("JurorAlreadySettled"):  # never drafted: nothing to settle
        comp.settle_jurors(1, [anyone.address], sender=anyone)
    with raises("NothingToClaim"):
        comp.claim(sender=competitors[1])


def test_a_short_leaf_chunk_is_refused_before_the_proof(
    chain: Chain, create: Callable[..., Game], competitors: list[LocalAccount], anyone: LocalAccount
) -> None:
    """A chunk's bytes must be whole leaves of the winning vector, one at least."""
    game = create()
    game.open_with(competitors[0])
    game.play_votes(lambda j: {1: 300})
    chunk = vector({1: 300}).chunk(0, 0)
    for leaves in (b"", chunk.leaves + b"\x00", chunk.leaves * 2):
        with raises("ChunkInvalid"):
            game.competition.publish_scores(replace(chunk, leaves=leaves), sender=anyone)
    assert len(chunk.leaves) == LEAF_SIZE
    game.competition.publish_scores(chunk, sender=anyone)
