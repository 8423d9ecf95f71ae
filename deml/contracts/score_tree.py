"""A juror's score vector as the Merkle tree contracts/ScoreTree.sol checks, and its chunks.

Leaf i (one per revealed submission, by ascending id) is keccak256 of 40 packed bytes:
uint32 id, uint32 score, and the keccak256 of the submission's per-sample correctness bitmap.
Positions past the vector, up to the next power of two, hold zero. A node is keccak256 of its
two children, left then right. A chunk is an aligned subtree of 2**level leaves (fewer only at
the vector's end), proven by its siblings from below up; a single leaf is the chunk of level 0.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_abi import encode
from eth_utils import keccak

from deml.contracts.merkle import depth, levels, siblings

LEAF_SIZE = 40
# Leaves per chunk (as a power of two) when the winning scores are published: about 4k gas a
# leaf, so 64 cost about 270k.
CHUNK_LEVEL = 6
# Leaves per chunk when a vector joins a tally: up to about 35k gas a leaf (fresh storage
# when a score overtakes), so 32 stay under 1.2M where 64 passed 2M.
VECTOR_CHUNK_LEVEL = 5


@dataclass(frozen=True)
class Score:
    """One revealed submission's score, as a juror's vector holds it."""

    id: int
    score: int
    correctness: bytes  # keccak256 of the per-sample correctness bitmap
    # The bitmap itself, where known (not in the leaf): published for disputes.
    bitmap: bytes = field(default=b"", compare=False)

    def packed(self) -> bytes:
        return struct.pack(">II", self.id, self.score) + self.correctness


@dataclass(frozen=True)
class Chunk:
    """An aligned subtree of a vector: what `publishScores` and `publishVector` take."""

    level: int
    index: int
    leaves: bytes  # packed, LEAF_SIZE bytes each
    proof: list[bytes]

    @property
    def first(self) -> int:
        return self.index << self.level

    @property
    def count(self) -> int:
        return len(self.leaves) // LEAF_SIZE


def bitmap(correct: Sequence[bool]) -> bytes:
    """The bitmap of correct test samples: sample i is bit i % 8 of byte i // 8."""
    bits = bytearray((len(correct) + 7) // 8)
    for i, ok in enumerate(correct):
        if ok:
            bits[i // 8] |= 1 << (i % 8)
    return bytes(bits)


def correctness_hash(correct: Sequence[bool] | bytes) -> bytes:
    """keccak256 of the bitmap of correct samples (given as the bitmap, or one bool each):
    what a leaf commits to, so that a dispute can point at one sample."""
    return keccak(correct if isinstance(correct, bytes) else bitmap(correct))


class ScoreTree:
    """The tree of one vector: its root, and any chunk of it with its proof."""

    def __init__(self, scores: Sequence[Score]) -> None:
        if not scores:
            raise ValueError("a score vector has at least one leaf")
        ids = [s.id for s in scores]
        if ids != sorted(set(ids)):
            raise ValueError("a score vector lists each id once, ascending")
        self.scores = list(scores)
        self.depth = depth(len(scores))
        self.levels = levels([keccak(s.packed()) for s in scores])  # [leaves, ..., [root]]

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    @property
    def count(self) -> int:
        return len(self.scores)

    def chunk(self, level: int, index: int) -> Chunk:
        """The chunk of 2**level leaves from position index * 2**level, with its proof."""
        if not 0 <= level <= self.depth:
            raise ValueError(f"level {level} is outside the tree's 0..{self.depth}")
        first = index << level
        if not 0 <= first < self.count:
            raise ValueError(f"chunk {index} of level {level} starts past the vector")
        leaves = b"".join(s.packed() for s in self.scores[first : first + (1 << level)])
        return Chunk(level, index, leaves, siblings(self.levels, index, level))

    def chunks(self, level: int = CHUNK_LEVEL) -> list[Chunk]:
        """The whole vector in order, as chunks of 2**level leaves (or one, for a small tree)."""
        level = min(level, self.depth)
        return [self.chunk(level, i) for i in range((self.count + (1 << level) - 1) >> level)]

    def bitmaps(self, chunk: Chunk) -> bytes:
        """The bitmaps of a chunk's leaves, in order: what contracts/Disputes.sol takes with
        the chunk (each is checked against its leaf's hash)."""
        scores = self.scores[chunk.first : chunk.first + chunk.count]
        if any(keccak(s.bitmap) != s.correctness for s in scores):
            raise ValueError(f"this vector lacks the bitmaps of chunk {chunk.index}")
        return b"".join(s.bitmap for s in scores)

    def position(self, submission_id: int) -> int:
        """The leaf position of a submission."""
        for i, s in enumerate(self.scores):
            if s.id == submission_id:
                return i
        raise KeyError(f"submission {submission_id} is not in this vector")


def vote_hash(root: bytes, count: int, winner_id: int, winner_score: int) -> bytes:
    """keccak256(abi.encode(root, count, winnerId, winnerScore)): what a juror votes."""
    return keccak(
        encode(["bytes32", "uint32", "uint32", "uint32"], [root, count, winner_id, winner_score])
    )


def winner_of(scores: Sequence[Score]) -> tuple[int, int]:
    """The best score and its id (a tie goes to the lower id); (0, 0) when none is above 0."""
    best = (0, 0)
    for s in scores:
        if s.score > best[1]:
            best = (s.id, s.score)
    return best


def unpack(leaves: bytes) -> list[Score]:
    """The scores in packed leaves (as events carry them)."""
    if len(leaves) % LEAF_SIZE:
        raise ValueError(f"{len(leaves)} bytes are not whole {LEAF_SIZE}-byte leaves")
    return [
        Score(*struct.unpack(">II", leaves[i : i + 8]), leaves[i + 8 : i + LEAF_SIZE])
        for i in range(0, len(leaves), LEAF_SIZE)
    ]
