"""A test key backs one competition: it is public once revealed, so it never encrypts a second
competition's test split (issue 13: re-hosting on unchanged params reused a published key)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deml.chain.client import Chain
from deml.contracts import deployment
from deml.contracts.sample_tree import samples_root
from deml.dataset import crypto
from deml.dataset.npz import npz_bytes
from deml.exceptions import HostError, KeyMissing
from deml.roles import host
from deml.roles.terms import load_template
from deml.settings import load_settings
from deml.storage.local import LocalStore
from tests.helpers.game import bond_all
from tests.helpers.project import ROOT

MANIFEST_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    chain = Chain.in_process()
    settings = load_settings()
    factory = deployment.deploy(chain, settings)
    bond_all(factory.pool(), chain.accounts[4:7])  # a pool to draw the juries from
    return chain, factory, settings.state_dir, LocalStore(tmp_path / "ipfs")


X = np.arange(450 * 4, dtype=np.float32).reshape(450, 4) / 7
Y = np.arange(450, dtype=np.int64) % 3


def manifest(version: str, key: bytes, storage: LocalStore, manifest_cid: str = MANIFEST_CID):
    """A manifest naming a test split encrypted with `key` and published in `storage`."""
    encrypted = crypto.encrypt(npz_bytes(X, Y), key)
    cid = str(storage.put(encrypted))
    return {
        "name": "digits",
        "version": version,
        "counts": {"test": len(X)},
        "files": {"test": {"cid": cid, "size": len(encrypted)}},
    }


def test_creating_a_competition_makes_the_key_its_own(setup) -> None:
    chain, factory, state, storage = setup
    keys = crypto.KeyStore(state)
    key = keys.load_or_create("digits", "v1")
    comp = host.create(
        factory, load_template(seats=3), manifest("v1", key, storage), MANIFEST_CID, key,
        host=chain.accounts[0], state_dir=state, storage=storage,
    )  # fmt: skip
    hosted = host.load(state, comp.address)
    assert host.competition_key(state, hosted) == key  # what the host reveals later
    # The contract holds the root of the published split's samples, read back from storage.
    assert comp.params().samples_root == samples_root(X, Y)
    # The version has no key left: the next `deml data prepare` makes a fresh one.
    with pytest.raises(KeyMissing):
        keys.load("digits", "v1")
    assert keys.load_or_create("digits", "v1") != key


def test_a_key_that_backs_a_competition_is_refused_for_another(setup) -> None:
    chain, factory, state, storage = setup
    key = crypto.KeyStore(state).load_or_create("digits", "v1")
    first = host.create(
        factory, load_template(seats=3), manifest("v1", key, storage), MANIFEST_CID, key,
        host=chain.accounts[0], state_dir=state, storage=storage,
    )  # fmt: skip
    other_cid = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba"
    before = len(factory.competitions())
    with pytest.raises(
        HostError, match=f"already encrypts the test split of competition {first.address}"
    ):
        host.create(
            factory, load_template(seats=3), manifest("v1", key, storage, other_cid), other_cid,
            key, host=chain.accounts[0], state_dir=state, storage=storage,
        )  # fmt: skip
    assert len(factory.competitions()) == before  # nothing created, no prize locked


def test_a_retried_create_returns_the_same_competition(setup) -> None:
    chain, factory, state, storage = setup
    key = crypto.KeyStore(state).load_or_create("digits", "v1")
    args = (factory, load_template(seats=3), manifest("v1", key, storage), MANIFEST_CID, key)
    first = host.create(*args, host=chain.accounts[0], state_dir=state, storage=storage)
    again = host.create(*args, host=chain.accounts[0], state_dir=state, storage=storage)
    assert again.address == first.address and len(factory.competitions()) == 1
