"""The positional Merkle tree both of the contracts' trees use (contracts/ScoreTree.sol).

Leaves are keccak256 hashes in order; positions past the last leaf, up to the next power of
two, hold zero; a node is keccak256 of its two children, left then right. A proof is the
siblings from below up, so the position (not a sorted pair) says which side each is on: a
leaf cannot be presented at another index.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import keccak

ZERO = bytes(32)


def depth(count: int) -> int:
    """Levels of a tree of `count` leaves (0 for one leaf)."""
    d = 0
    while (1 << d) < count:
        d += 1
    return d


def pair(left: bytes, right: bytes) -> bytes:
    return keccak(left + right)


def levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree over the leaf hashes: [leaves (zero-padded), ..., [root]]."""
    if not leaves:
        raise ValueError("a tree has at least one leaf")
    width = 1 << depth(len(leaves))
    built = [list(leaves) + [ZERO] * (width - len(leaves))]
    while len(built[-1]) > 1:
        below = built[-1]
        built.append([pair(below[i], below[i + 1]) for i in range(0, len(below), 2)])
    return built


def siblings(tree: list[list[bytes]], position: int, level: int = 0) -> list[bytes]:
    """The proof of the node at `position` of `level`: its siblings from there up."""
    proof = []
    for height in range(level, len(tree) - 1):
        proof.append(tree[height][position ^ 1])
        position >>= 1
    return proof


def root_of(leaf: bytes, position: int, proof: Sequence[bytes]) -> bytes:
    """The root a leaf hash and its proof lead to (what the contract recomputes)."""
    node = leaf
    for sibling in proof:
        node = pair(node, sibling) if position & 1 == 0 else pair(sibling, node)
        position >>= 1
    return node
