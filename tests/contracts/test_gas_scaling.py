"""Flat gas: a juror's vote, the publication and the settlement cost the same per call with 10
or with 500 revealed submissions, and the largest calls of a competition of 10,000 submissions
stay under 2M gas.

No function may loop over all submissions or all jurors. The first test checks it from the
outside, comparing the same calls in a competition of 10 and one of 500. The others measure
every call whose size grows with a competition, at its largest: a chunk of 64 leaves of a
10,000-leaf winning vector, a chunk of 32 of a vector tallied with each kind of tally write, a
batch of SETTLE_BATCH submissions, a batch of the re-vote's draw of 43 seats, a batch of
JUROR_BATCH burned jurors.

A 10,000-submission competition would take 20,000 commits and reveals (about ten minutes here),
so the count reaches the calls the way it reaches them on chain: publishScores and publishVector
check a chunk against the root the jurors voted, whose leaf count is theirs, so the jurors vote
10,000-leaf vectors whose first leaves are the revealed submissions. The count enters those calls
only through the proof (one 32-byte sibling and one hash per level: 8 levels above a chunk of
64 at 10,000 leaves); settleSubmissions, the draw and settleJurors do the same work per id, seat
or juror whatever the count.

(anvil only: the ~1,500 transactions take minutes on the in-process chain; the chains run the
same Prague rules, and `deml bench gas` measures the same figures on py-evm.)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.types import TxParams, TxReceipt

from bench.gas import calldata_standard
from deml.chain.client import MAX_TX_GAS, Chain
from deml.contracts.bindings import MinerPool
from deml.contracts.commitments import model_commitment, new_salt
from deml.contracts.score_tree import (
    CHUNK_LEVEL,
    VECTOR_CHUNK_LEVEL,
    Score,
    ScoreTree,
    vote_hash,
    winner_of,
)
from deml.contracts.types import Outcome
from deml.roles.settlement import JUROR_BATCH, SETTLE_BATCH
from tests.helpers.game import (
    ETHER,
    SEAT,
    Game,
    bond_all,
    create_game,
    deploy_factory,
    fund,
    vector,
)

pytestmark = pytest.mark.anvil

SMALL, LARGE, HUGE = 10, 500, 10_000
CHUNK = 1 << CHUNK_LEVEL
VECTOR_CHUNK = 1 << VECTOR_CHUNK_LEVEL  # what a miner publishes a vector in
MAX_CALL_GAS = 2_000_000
# Calldata is priced apart (see execution_gas); the same work then costs the same gas, but for
# the branches a Merkle proof takes (left or right at each level: a few gas apart). A loop over
# the submissions would cost at least 100 gas (a warm read) for each of them.
TOLERANCE = 100


def send(chain: Chain, fn: Any, who: LocalAccount, value: int = 0) -> TxReceipt:
    """Send with a fixed gas limit: estimating each of the ~1,000 transactions would double
    the test's time."""
    return chain.transact(fn, sender=who, value=value, gas=MAX_TX_GAS)


def gas(receipt: TxReceipt) -> int:
    return int(receipt["gasUsed"])


def execution_gas(chain: Chain, receipt: TxReceipt) -> int:
    """Gas used less the intrinsic 21,000 and the calldata: a larger id, another root or salt
    has other non-zero bytes, which cost more without any more work."""
    data = bytes(chain.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    return gas(receipt) - 21_000 - calldata_standard(data)


def bonded_jurors(chain: Chain, pool: MinerPool, n: int) -> list[LocalAccount]:
    """n fresh accounts, funded and each bonded ten seats (without estimates, as `send`)."""
    payer, fresh = chain.accounts[8], [Account.create() for _ in range(n)]
    for juror in fresh:
        tx: TxParams = {
            "to": juror.address,
            "value": 2 * ETHER,
            "gas": 21_000,
            "nonce": chain.w3.eth.get_transaction_count(payer.address, "pending"),
            "chainId": chain.chain_id,
        }
        chain.send_signed(tx, payer)
        send(chain, pool.contract.functions.bond(), juror, 10 * SEAT)
    return fresh


def spread(values: Sequence[int]) -> int:
    return max(values) - min(values)


def model_bytes(i: int) -> bytes:
    """64 bytes, none zero, so every model costs the same calldata gas."""
    return bytes([1 + i % 255, 1 + i // 255]) * 32


def submit(game: Game, owners: Sequence[LocalAccount], n: int) -> tuple[list[int], list[int]]:
    """n models committed, in turn by each owner; their ids and each commit's execution gas."""
    ids, costs = [], []
    comp = game.competition
    for i in range(n):
        who, model, salt = owners[i % len(owners)], model_bytes(i), new_salt()
        fn = comp.contract.functions.commit(
            model_commitment(model, salt, who.address, comp.address)
        )
        costs.append(execution_gas(game.chain, send(game.chain, fn, who, game.params.entry_fee)))
        sid = comp.summary().submissions
        game.models[sid], game.salts[sid] = model, salt
        ids.append(sid)
    return ids, costs


def reveal(game: Game, owners: Sequence[LocalAccount], ids: Sequence[int]) -> list[int]:
    """Every model revealed by its owner; each reveal's execution gas."""
    comp = game.competition
    return [
        execution_gas(
            game.chain,
            send(
                game.chain,
                comp.contract.functions.reveal(sid, game.models[sid], game.salts[sid]),
                owners[i % len(owners)],
            ),
        )
        for i, sid in enumerate(ids)
    ]


def draw_seed(chain: Chain, competition: str, target: int, r: int) -> bytes:
    """The seed MinerPool.draw uses: keccak(abi.encode(blockhash(target), competition, r))."""
    block_hash = bytes(chain.w3.eth.get_block(target)["hash"])
    return keccak(
        encode(["bytes32", "address", "bytes32"], [block_hash, competition, r.to_bytes(32, "big")])
    )


def draw_apart(game: Game, seats: int) -> tuple[int, dict[str, int]]:
    """Seal and draw the current vote's jury with every seat a different juror (the dearest
    draw, and the most jurors to settle after it); return the gas of its dearest call (a
    call draws at most 16 seats) and the jury.

    The test plays the block producer, the one party that can grind a draw: the sealed block
    is mined again (another timestamp, so another hash) until the pool's preview of its seed
    gives `seats` different jurors."""
    chain, comp = game.chain, game.competition
    pool, caller, r = comp.pool(), chain.accounts[9], comp.summary().round
    send(chain, comp.contract.functions.drawJury(), caller)  # seals
    target = pool.sealed_target(comp.address)
    while chain.w3.eth.block_number < target - 1:
        chain.mine()
    for attempt in range(1, 400):
        snapshot = chain.snapshot()
        chain.increase_time(attempt)  # mines the sealed block
        if len(set(pool.preview(draw_seed(chain, comp.address, target, r), seats))) == seats:
            break
        chain.revert(snapshot)
    else:
        pytest.fail(f"no draw of {seats} different jurors")
    calls = [gas(send(chain, comp.contract.functions.drawJury(), caller))]
    while not comp.round(r).drawn:  # batches of at most 16 seats
        calls.append(gas(send(chain, comp.contract.functions.drawJury(), caller)))
    assert len(calls) == -(-seats // 16)
    jury = game.jury()
    assert sorted(jury.values()) == [1] * seats  # each seat a juror, each backed
    return max(calls), jury


def scores(ids: Sequence[int], score: Callable[[int], int]) -> ScoreTree:
    """A score vector over `ids`, each leaf's correctness hash derived from its id and score
    (computing 10,000 bitmaps as `vector` does would take seconds)."""
    return ScoreTree(
        [Score(i, score(i), keccak(struct.pack(">II", i, score(i)))) for i in sorted(ids)]
    )


def vote_of(tree: ScoreTree) -> tuple[bytes, tuple[bytes, int, int, int]]:
    """A vector's vote hash, and revealVote's arguments but the salt."""
    winner_id, winner_score = winner_of(tree.scores)
    args = (tree.root, tree.count, winner_id, winner_score)
    return vote_hash(*args), args


def vote(game: Game, ballots: dict[str, ScoreTree]) -> tuple[list[int], list[int]]:
    """Each juror commits, then reveals, its vector's vote; the execution gas of each commit
    and each reveal, in the jurors' order. The clock ends at the reveal deadline."""
    chain, comp = game.chain, game.competition
    salts = {juror: new_salt() for juror in ballots}
    commits = [
        execution_gas(chain, comp.commit_vote(vote_of(tree)[0], salts[j], sender=game.accounts[j]))
        for j, tree in ballots.items()
    ]
    game.to_vote_reveal()
    reveals = [
        execution_gas(chain, comp.reveal_vote(*vote_of(tree)[1], salts[j], sender=game.accounts[j]))
        for j, tree in ballots.items()
    ]
    game.to_tally()
    return commits, reveals


# -- flat: 10 against 500 submissions --------------------------------------------------------


def play_unanimous(
    chain: Chain, factory: Any, jurors: Sequence[LocalAccount], n: int
) -> dict[str, Any]:
    """A competition of n revealed models and five seats that all vote the truth; the
    execution gas of every call along the way."""
    host, owners = chain.accounts[0], chain.accounts[1:4]
    # A buy-in of 0.001 ether keeps the buy-ins under the winner's cap at both sizes, and the
    # jury's share divides by five seats: finalize burns no dust in either competition.
    game = create_game(
        chain, factory, host, 10 * ETHER, entry_fee=ETHER // 1000, seats=5, max_submissions=200
    )
    game.know(jurors)
    ids, commits = submit(game, owners, n)
    game.to_reveal()
    game.draw()
    reveals = reveal(game, owners, ids)
    game.to_key()
    game.reveal_key()
    truth = vector({sid: 100 + sid % 200 for sid in ids})
    jury = [j for j, backed in game.jury().items() if backed]
    vote_commits, vote_reveals = vote(game, dict.fromkeys(jury, truth))
    comp = game.competition
    publishes = [
        execution_gas(chain, comp.publish_scores(c, sender=chain.accounts[9]))
        for c in truth.chunks()
    ]
    disputes = comp.disputes()
    bitmaps = [
        execution_gas(
            chain,
            disputes.publish_bitmaps(comp.address, c, truth.bitmaps(c), sender=chain.accounts[9]),
        )
        for c in truth.chunks()
    ]
    game.to_tally_end()  # the dispute window
    finalize = execution_gas(chain, comp.finalize(sender=chain.accounts[9]))
    assert comp.summary().outcome == Outcome.WINNER
    assert comp.summary().burned == 0
    settles = [
        execution_gas(chain, comp.settle_jurors(1, [j], sender=chain.accounts[9])) for j in jury
    ]
    claims = [
        execution_gas(chain, send(chain, comp.contract.functions.claim(), game.accounts[j]))
        for j in jury
    ]
    return {
        "first_commits": commits[: len(owners)],
        "later_commits": commits[len(owners) :],
        "reveals": reveals,
        "vote_commits": vote_commits,
        "first_vote_reveal": vote_reveals[0],
        "later_vote_reveals": vote_reveals[1:],
        "publishes": publishes,
        "bitmap_publishes": bitmaps,
        "finalize": finalize,
        "juror_settlements": settles,
        # The first claim of a competition writes its paid-out total for the first time.
        "first_claim": claims[0],
        "later_claims": claims[1:],
    }


@pytest.mark.slow
def test_per_call_gas_is_the_same_with_10_and_with_500_submissions(anvil_chain: Chain) -> None:
    chain = anvil_chain
    factory = deploy_factory(chain, chain.accounts[0])
    jurors = [*chain.accounts[4:9], *fund(chain, 4)]
    bond_all(factory.pool(), jurors)
    small = play_unanimous(chain, factory, jurors, SMALL)
    large = play_unanimous(chain, factory, jurors, LARGE)

    # A competitor's first commit writes its record, later ones update it; a reveal is a
    # reveal. The 500th costs what the 1st did.
    for kind in ("first_commits", "later_commits", "reveals"):
        assert spread(small[kind] + large[kind]) <= TOLERANCE, kind
    # A juror's vote is one hash whatever the vector: the first reveal of a vote records its
    # verdict, every later one adds seats.
    assert spread(small["vote_commits"] + large["vote_commits"]) <= TOLERANCE
    assert abs(small["first_vote_reveal"] - large["first_vote_reveal"]) <= TOLERANCE
    assert spread(small["later_vote_reveals"] + large["later_vote_reveals"]) <= TOLERANCE
    # Chunks of 64 cost the same wherever they fall: 500 leaves are chunks 0-6 of 64 and a
    # tail of 52; chunks 0 and 4 each open a word of the published-leaves bitmap.
    full = [g for i, g in enumerate(large["publishes"]) if i not in (0, 4, 7)]
    assert len(full) == 5
    assert spread(full) <= TOLERANCE
    # The bitmaps of full chunks likewise (the dispute contract's own bitmap of published
    # chunks opens a word at chunks 0 and 4 too).
    full_bitmaps = [g for i, g in enumerate(large["bitmap_publishes"]) if i not in (0, 4, 7)]
    assert spread(full_bitmaps) <= TOLERANCE
    assert abs(large["finalize"] - small["finalize"]) <= TOLERANCE
    settles = small["juror_settlements"] + large["juror_settlements"]
    assert spread(settles) <= TOLERANCE
    assert abs(small["first_claim"] - large["first_claim"]) <= TOLERANCE
    assert spread(small["later_claims"] + large["later_claims"]) <= TOLERANCE


# -- the largest calls at 10,000 submissions ------------------------------------------------


def over_limit(figures: dict[str, int]) -> dict[str, int]:
    return {name: used for name, used in figures.items() if used > MAX_CALL_GAS}


def test_publishing_a_chunk_of_a_10000_leaf_vector_stays_under_2m_gas(
    anvil_chain: Chain,
) -> None:
    chain = anvil_chain
    factory = deploy_factory(chain, chain.accounts[0])
    jurors = [*chain.accounts[4:9]]
    bond_all(factory.pool(), jurors)
    game = create_game(chain, factory, chain.accounts[0], seats=3)
    game.know(jurors)
    game.open_with(*chain.accounts[1:3])
    tree = scores(range(1, HUGE + 1), lambda i: 100 + i % 200)
    jury = [j for j, backed in game.jury().items() if backed]
    vote(game, dict.fromkeys(jury, tree))
    comp = game.competition
    last = (HUGE - 1) >> CHUNK_LEVEL
    # The first chunk and the last full ones (each first in its bitmap word, then one after
    # it in the same word) and the tail: the same proof length, the same work.
    receipts = {
        index: comp.publish_scores(tree.chunk(CHUNK_LEVEL, index), sender=chain.accounts[9])
        for index in (0, 1, last - 2, last - 1, last)
    }
    first, far = (execution_gas(chain, receipts[i]) for i in (1, last - 1))
    assert abs(first - far) <= TOLERANCE
    used = {f"publishScores chunk {i}": gas(receipt) for i, receipt in receipts.items()}
    assert over_limit(used) == {}, used


def test_tally_calls_at_10000_submissions_stay_under_2m_gas(anvil_chain: Chain) -> None:
    """Five one-seat jurors' vectors over 10,000 submissions, in an order that makes each kind
    of tally write once per leaf; then SETTLE_BATCH submissions that no vector covered (the
    dearest settlement: a fresh record each)."""
    chain = anvil_chain
    host, owners = chain.accounts[0], chain.accounts[1:4]
    factory = deploy_factory(chain, host)
    jurors = bonded_jurors(chain, factory.pool(), 40)
    game = create_game(chain, factory, host, seats=21, max_submissions=200)
    game.know(jurors)
    ids, _ = submit(game, owners, VECTOR_CHUNK + SETTLE_BATCH)
    game.to_reveal()
    single = [juror for juror, seats in game.draw().items() if seats == 1]
    assert len(single) >= 5  # 21 seats among 40 jurors: about 12 hold one seat
    reveal(game, owners, ids)
    game.to_key()
    game.reveal_key()
    a = scores(range(1, HUGE + 1), lambda i: 120)
    b = scores(range(1, HUGE + 1), lambda i: 130)
    cases = ("first count", "agreeing", "new score", "known minority score", "overtaking")
    # 2 seats for a, 3 for b, of 21: no root has a majority, and no tally validates anything.
    plan = dict(zip(cases, zip(single[:5], (a, a, b, b, b), strict=True), strict=True))
    vote(game, dict(plan.values()))
    comp = game.competition
    used = {}
    for case, (juror, tree) in plan.items():
        chunk = tree.chunk(VECTOR_CHUNK_LEVEL, 0)
        used[f"publishVector chunk of {VECTOR_CHUNK}, {case}"] = gas(
            comp.publish_vector(juror, chunk, sender=chain.accounts[9])
        )
    game.to_tally_end()
    settle = comp.contract.functions.settleSubmissions
    send(chain, settle(ids[:VECTOR_CHUNK]), chain.accounts[9])
    used[f"settleSubmissions of {SETTLE_BATCH}"] = gas(
        send(chain, settle(ids[VECTOR_CHUNK:]), chain.accounts[9])
    )
    assert comp.summary().round == 2  # nothing validated: the tally counted what it should
    assert over_limit(used) == {}, used


def test_revote_draw_and_burning_its_absent_jurors_stay_under_2m_gas(
    anvil_chain: Chain,
) -> None:
    """The re-vote's 43 seats, each a different juror of a pool of 256, and the settlement of
    JUROR_BATCH of them in one call after nobody voted, every seat burned (the pool's dearest
    path: each leaves the draw tree)."""
    chain = anvil_chain
    host = chain.accounts[0]
    factory = deploy_factory(chain, host)
    jurors = bonded_jurors(chain, factory.pool(), 256)
    game = create_game(chain, factory, host, seats=21)
    game.know(jurors)
    game.open_with(*chain.accounts[1:3])
    game.to_tally_end()  # nobody voted
    comp = game.competition
    game.settle_tally()
    assert comp.summary().round == 2
    draw_gas, revote = draw_apart(game, 43)
    game.to_disputes_end()
    game.settle_tally()
    game.finalize()
    assert comp.summary().outcome == Outcome.VOID
    batch = list(revote)[:JUROR_BATCH]
    settle_gas = gas(comp.settle_jurors(2, batch, sender=chain.accounts[9]))
    assert all(factory.pool().juror(j).units == 9 for j in batch)  # each burned a seat
    used = {
        "drawJury (a batch of 16 of 43)": draw_gas,
        f"settleJurors of {JUROR_BATCH}": settle_gas,
    }
    assert over_limit(used) == {}, used
