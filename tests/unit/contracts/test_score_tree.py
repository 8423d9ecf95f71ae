"""The Python ScoreTree and contracts/ScoreTree.sol build the same tree: every chunk the Python
side proves is accepted by `publishScores` on chain, and a tampered or malformed one is not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deml.chain.client import Chain
from deml.contracts.bindings import Competition
from deml.contracts.score_tree import (
    CHUNK_LEVEL,
    LEAF_SIZE,
    Chunk,
    Score,
    ScoreTree,
    correctness_hash,
    unpack,
    vote_hash,
    winner_of,
)
from tests.helpers.game import BOUNTY, TEST_SET, bond_all, create_game, deploy_factory, vector
from tests.helpers.reverts import raises

SIZES = [1, 2, 3, 5, 64, 65, 130]


def scores_of(count: int) -> dict[int, int]:
    """`count` submissions with varied scores (ids 1..count)."""
    return {i: (i * 37) % (TEST_SET + 1) for i in range(1, count + 1)}


def decided(count: int) -> tuple[Chain, Competition, ScoreTree]:
    """A competition whose jury unanimously voted the root of a `count`-leaf vector (one model
    revealed: publishScores checks chunks against the winning root, whatever it counts)."""
    chain = Chain.in_process()
    host, owner = chain.accounts[0], chain.accounts[1]
    factory = deploy_factory(chain, host)
    bond_all(factory.pool(), chain.accounts[4:9])
    game = create_game(chain, factory, host)
    game.open_with(owner)
    scores = scores_of(count)
    game.play_votes(lambda j: scores)
    tree = vector(scores)
    comp = game.competition
    assert comp.round(1).majority
    # The contract hashes the revealed vote as the Python side does.
    (revealed, *_) = comp.vote_reveals()
    assert revealed.vote == vote_hash(tree.root, tree.count, *winner_of(tree.scores))
    assert comp.verdict(revealed.vote).root == tree.root
    return chain, comp, tree


def check(chain: Chain, comp: Competition, chunk: Chunk) -> None:
    """Simulate publishScores for `chunk` (nothing is sent: every chunk can be tried)."""
    fn = comp.contract.functions.publishScores(chunk.level, chunk.index, chunk.leaves, chunk.proof)
    chain.call(fn, sender=chain.accounts[9])


@pytest.mark.parametrize("count", SIZES)
def test_every_chunk_at_every_level_is_accepted(count: int) -> None:
    chain, comp, tree = decided(count)
    for level in range(tree.depth + 1):
        for index in range((count + (1 << level) - 1) >> level):
            check(chain, comp, tree.chunk(level, index))  # at level = depth: the whole root
    # Published for real, chunk by chunk: the events carry the vector, the bounty is paid whole.
    for n, chunk in enumerate(tree.chunks()):
        comp.publish_scores(chunk, sender=chain.accounts[5 + n % 2])
    assert len(tree.chunks()) == (count + (1 << CHUNK_LEVEL) - 1) >> CHUNK_LEVEL
    published = b"".join(e.leaves for e in comp.scores_published())
    assert unpack(published) == tree.scores
    assert sum(c.amount for c in comp.credits() if c.reason == "publish") == BOUNTY


@pytest.mark.parametrize(("count", "level"), [(5, 0), (5, 1), (130, 0), (130, 3), (130, 6)])
def test_a_tampered_leaf_or_proof_is_refused(count: int, level: int) -> None:
    chain, comp, tree = decided(count)
    chunk = tree.chunk(level, 1)
    check(chain, comp, chunk)
    leaves = bytearray(chunk.leaves)
    for byte in (0, 7, 8, LEAF_SIZE - 1):  # the id, the score, the correctness hash
        flipped = bytearray(leaves)
        flipped[byte] ^= 1
        with raises("ProofInvalid"):
            check(chain, comp, replace(chunk, leaves=bytes(flipped)))
    node = bytearray(chunk.proof[0])
    node[0] ^= 1
    bad_proofs = [
        [bytes(node), *chunk.proof[1:]],
        chunk.proof[:-1],  # a level short
        [*chunk.proof, bytes(32)],  # a level too many
        list(reversed(chunk.proof)),
    ]
    for proof in bad_proofs:
        with raises("ProofInvalid"):
            check(chain, comp, replace(chunk, proof=proof))
    with raises("ProofInvalid"):  # the right leaves at another position
        check(chain, comp, replace(chunk, index=0))
    other = vector({**scores_of(count), 1: scores_of(count)[1] + 1})
    with raises("ProofInvalid"):  # another vector's chunk
        check(chain, comp, other.chunk(level, 0))


def test_a_malformed_chunk_is_refused() -> None:
    chain, comp, tree = decided(65)
    last = tree.chunk(1, 32)  # leaf 64 alone: a short chunk, fine at the vector's end
    assert last.count == 1
    check(chain, comp, last)
    full = tree.chunk(2, 0)
    malformed = {
        "no leaves": replace(full, leaves=b""),
        "part of a leaf": replace(full, leaves=full.leaves[:-1]),
        "more leaves than 2**level": replace(full, level=1, index=0, proof=full.proof),
        "short, not at the end": replace(full, leaves=full.leaves[: 3 * LEAF_SIZE]),
        "past the vector": replace(tree.chunk(0, 64), index=65),
        "level past 32": replace(full, level=33),
    }
    for chunk in malformed.values():
        with raises("ChunkInvalid"):
            check(chain, comp, chunk)


# -- the Python side alone ----------------------------------------------------------------------


def test_a_vector_lists_each_id_once_in_order() -> None:
    leaf = correctness_hash([True, False])
    with pytest.raises(ValueError):
        ScoreTree([])
    with pytest.raises(ValueError):
        ScoreTree([Score(2, 1, leaf), Score(1, 1, leaf)])
    with pytest.raises(ValueError):
        ScoreTree([Score(1, 1, leaf), Score(1, 2, leaf)])
    tree = ScoreTree([Score(3, 1, leaf), Score(7, 2, leaf), Score(9, 0, leaf)])
    assert (tree.count, tree.depth, tree.position(7)) == (3, 2, 1)
    with pytest.raises(ValueError):
        tree.chunk(3, 0)  # past the root
    with pytest.raises(ValueError):
        tree.chunk(0, 3)  # past the vector (position 3 is padding)
    with pytest.raises(KeyError):
        tree.position(4)


def test_the_winner_is_the_best_score_and_the_lower_id_on_a_tie() -> None:
    leaf = correctness_hash([])
    assert winner_of([Score(1, 5, leaf), Score(2, 9, leaf), Score(3, 9, leaf)]) == (2, 9)
    assert winner_of([Score(1, 0, leaf), Score(2, 0, leaf)]) == (0, 0)  # nobody scored


def test_a_correctness_hash_reads_bools_or_the_bitmap() -> None:
    correct = [True, False, False, True, True, False, False, False, True]
    assert correctness_hash(correct) == correctness_hash(bytes([0b00011001, 0b00000001]))
