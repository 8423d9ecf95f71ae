"""The host commits the root of its plaintext test samples at creation: once the key is out,
anyone can present one sample to a contract with its proof (what a dispute about a single
prediction rests on, docs/disputes.md), and nobody can present another sample in its place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.sample_tree import SampleProof, SampleTree, features_bytes
from tests.helpers.game import Game

SAMPLES = 37  # not a power of two: the last leaves of the tree are padding


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(size=(SAMPLES, 8, 8)).astype(np.float32), rng.integers(0, 10, SAMPLES)


def test_each_sample_proves_against_the_root_and_nothing_else_does(
    chain: Chain, create: Callable[..., Game], split: tuple[np.ndarray, np.ndarray]
) -> None:
    x, y = split
    tree = SampleTree(x, y)
    game = create(test_set_size=SAMPLES, samples_root=tree.root)
    assert game.competition.params().samples_root == tree.root
    check = chain.deploy(artifacts.load_fixture("SampleCheck"))

    def accepted(s: SampleProof) -> bool:
        fn = check.functions.isTestSample(
            game.competition.address, s.index, s.label, s.features, s.proof
        )
        return chain.call(fn)

    assert all(accepted(tree.proof(i)) for i in range(SAMPLES))
    sample = tree.proof(5)
    assert features_bytes(x[5]) == sample.features and sample.label == y[5]
    flipped = bytearray(sample.features)
    flipped[-1] ^= 1  # the last bit of the last feature
    forged = [
        replace(sample, label=(sample.label + 1) % 10),  # another label for the same pixels
        replace(sample, features=bytes(flipped)),
        replace(sample, index=4),  # sample 5 presented as sample 4
        replace(sample, proof=sample.proof[:-1]),
        replace(tree.proof(SAMPLES - 1), index=SAMPLES),  # past the split, into the padding
    ]
    assert not any(accepted(s) for s in forged)
