"""A test key backs one competition: it is public once revealed, so it never encrypts a second
competition's test split (issue 13: re-hosting on unchanged params reused a published key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deml.chain.client import Chain
from deml.contracts import deployment
from deml.dataset import crypto
from deml.exceptions import HostError, KeyMissing
from deml.roles import host
from deml.roles.terms import load_template
from deml.settings import load_settings
from tests.helpers.game import bond_all
from tests.helpers.project import ROOT

MANIFEST_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
TEST_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    chain = Chain.in_process()
    settings = load_settings()
    factory = deployment.deploy(chain, settings)
    bond_all(factory.pool(), chain.accounts[4:7])  # a pool to draw the juries from
    return chain, factory, settings.state_dir


def manifest(version: str, manifest_cid: str = MANIFEST_CID) -> dict:
    return {
        "name": "digits",
        "version": version,
        "counts": {"test": 450},
        "files": {"test": {"cid": TEST_CID}},
    }


def test_creating_a_competition_makes_the_key_its_own(setup) -> None:
    chain, factory, state = setup
    keys = crypto.KeyStore(state)
    key = keys.load_or_create("digits", "v1")
    comp = host.create(
        factory, load_template(seats=3), manifest("v1"), MANIFEST_CID, key, host=chain.accounts[0],
        state_dir=state,
    )  # fmt: skip
    hosted = host.load(state, comp.address)
    assert host.competition_key(state, hosted) == key  # what the host reveals later
    # The version has no key left: the next `deml data prepare` makes a fresh one.
    with pytest.raises(KeyMissing):
        keys.load("digits", "v1")
    assert keys.load_or_create("digits", "v1") != key


def test_a_key_that_backs_a_competition_is_refused_for_another(setup) -> None:
    chain, factory, state = setup
    key = crypto.KeyStore(state).load_or_create("digits", "v1")
    first = host.create(
        factory, load_template(seats=3), manifest("v1"), MANIFEST_CID, key, host=chain.accounts[0],
        state_dir=state,
    )  # fmt: skip
    other_cid = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba"
    before = len(factory.competitions())
    with pytest.raises(
        HostError, match=f"already encrypts the test split of competition {first.address}"
    ):
        host.create(
            factory, load_template(seats=3), manifest("v1", other_cid), other_cid, key,
            host=chain.accounts[0], state_dir=state,
        )  # fmt: skip
    assert len(factory.competitions()) == before  # nothing created, no prize locked


def test_a_retried_create_returns_the_same_competition(setup) -> None:
    chain, factory, state = setup
    key = crypto.KeyStore(state).load_or_create("digits", "v1")
    args = (factory, load_template(seats=3), manifest("v1"), MANIFEST_CID, key)
    first = host.create(*args, host=chain.accounts[0], state_dir=state)
    again = host.create(*args, host=chain.accounts[0], state_dir=state)
    assert again.address == first.address and len(factory.competitions()) == 1
