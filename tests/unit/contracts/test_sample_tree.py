"""The test-samples tree the host commits: every sample proves against its root, at its own
index only, and any change to a sample (label, one feature bit, order) changes the root."""

from __future__ import annotations

import numpy as np
import pytest
from eth_utils import keccak

from deml.contracts.merkle import root_of
from deml.contracts.sample_tree import SampleTree, leaf_bytes, samples_root


@pytest.fixture
def split() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(13, 64)).astype(np.float32), rng.integers(0, 10, 13)


def test_every_sample_proves_at_its_index_only(split: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = split
    tree = SampleTree(x, y)
    for i in range(len(x)):
        s = tree.proof(i)
        leaf = keccak(leaf_bytes(s.index, x[i], s.label))
        assert root_of(leaf, i, s.proof) == tree.root
        assert root_of(leaf, (i + 1) % len(x), s.proof) != tree.root
        assert s.proves(tree.root) and not s.proves(bytes(32))
    with pytest.raises(ValueError, match=r"outside the split's 0\.\.12"):
        tree.proof(13)


def test_any_change_to_the_split_changes_its_root(split: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = split
    root = samples_root(x, y)
    relabelled = y.copy()
    relabelled[7] = (relabelled[7] + 1) % 10
    nudged = x.copy()
    nudged[0, 0] = np.nextafter(nudged[0, 0], np.float32(np.inf))  # one ulp
    swapped = x[[1, 0, *range(2, len(x))]], y[[1, 0, *range(2, len(y))]]
    assert (
        len({root, samples_root(x, relabelled), samples_root(nudged, y), samples_root(*swapped)})
        == 4
    )
    # The leaf holds float32: the same values given as float64 give the same root.
    assert samples_root(x.astype(np.float64), y) == root


def test_a_split_without_labels_for_each_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="as many labels as samples"):
        SampleTree(np.zeros((3, 4), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="not a class id"):
        samples_root(np.zeros((1, 4), np.float32), np.array([-1]))
