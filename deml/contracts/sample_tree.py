"""The test split as the Merkle tree whose root the host commits at creation (`samplesRoot`).

Leaf i is keccak256 of uint32 i, uint32 label and the sample's features as big-endian float32,
packed; the tree is deml.contracts.merkle's (the one contracts/ScoreTree.sol checks). The
root binds every plaintext sample before any model is seen, so that once the key is out anyone
can present one sample to the contract with its proof (`Competition.isTestSample`): what a
dispute about a single prediction rests on (docs/disputes.md). A miner checks the decrypted
split against it and votes HOST_FAULT when they differ.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from eth_utils import keccak

from deml.contracts.merkle import levels, root_of, siblings


def leaf_bytes(index: int, features: np.ndarray, label: int) -> bytes:
    """Sample `index` as its leaf packs it: uint32 index, uint32 label, float32 features."""
    if not 0 <= int(label) < 2**32:
        raise ValueError(f"sample {index}: label {label} is not a class id")
    return struct.pack(">II", index, int(label)) + features_bytes(features)


def features_bytes(features: np.ndarray) -> bytes:
    """A sample's features as the leaf holds them: flattened, big-endian float32."""
    return np.ascontiguousarray(features, dtype=np.float32).reshape(-1).astype(">f4").tobytes()


@dataclass(frozen=True)
class SampleProof:
    """One test sample with what `isTestSample` needs to check it against the root."""

    index: int
    label: int
    features: bytes  # big-endian float32, flattened
    proof: list[bytes]

    def proves(self, root: bytes) -> bool:
        """Whether this is sample `index`, with this label, under `root` (as the contract
        checks it)."""
        leaf = keccak(struct.pack(">II", self.index, self.label) + self.features)
        return root_of(leaf, self.index, self.proof) == root


class SampleTree:
    """The tree over a test split (x: samples in order, y: their class ids)."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"a test split needs as many labels as samples, both > 0: {len(x)}")
        if len(x) >= 2**32:
            raise ValueError(f"{len(x)} samples do not fit a uint32 index")
        self.x, self.y = x, y
        self.levels = levels([keccak(leaf_bytes(i, x[i], int(y[i]))) for i in range(len(x))])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, index: int) -> SampleProof:
        """Sample `index` with its proof."""
        if not 0 <= index < len(self.x):
            raise ValueError(f"sample {index} is outside the split's 0..{len(self.x) - 1}")
        features = features_bytes(self.x[index])
        return SampleProof(index, int(self.y[index]), features, siblings(self.levels, index))


def samples_root(x: np.ndarray, y: np.ndarray) -> bytes:
    """The root the host commits for the test split (x, y)."""
    return SampleTree(x, y).root
