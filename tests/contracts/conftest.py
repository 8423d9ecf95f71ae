"""Fixtures for the contract tests: the roles, a factory, and competitions to play."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from deml.chain.client import Chain
from deml.contracts.bindings import CompetitionFactory
from tests.helpers.game import DATASET_CID, PRIZE, TEST_CID, Game, default_params


@pytest.fixture
def host(chain: Chain) -> LocalAccount:
    return chain.accounts[0]


@pytest.fixture
def competitors(chain: Chain) -> list[LocalAccount]:
    return chain.accounts[1:4]


@pytest.fixture
def miners(chain: Chain) -> list[LocalAccount]:
    return chain.accounts[4:9]


@pytest.fixture
def anyone(chain: Chain) -> LocalAccount:
    return chain.accounts[9]


@pytest.fixture
def factory(chain: Chain, host: LocalAccount) -> CompetitionFactory:
    return CompetitionFactory.deploy(chain, sender=host)


@pytest.fixture
def create_game(
    chain: Chain, factory: CompetitionFactory, host: LocalAccount
) -> Callable[..., Game]:
    """Create a funded competition; keyword arguments override its parameters."""

    def create(prize: int = PRIZE, **overrides: int | bytes) -> Game:
        key = secrets.token_bytes(32)
        params = default_params(chain, key, **overrides)
        competition = factory.create(params, DATASET_CID, TEST_CID, prize=prize, sender=host)
        return Game(chain, competition, params, key, host)

    return create
