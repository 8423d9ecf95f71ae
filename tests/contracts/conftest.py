"""Fixtures for the contract tests: the roles, a factory, and competitions to play."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from deml.chain.client import Chain
from deml.contracts.bindings import CompetitionFactory, MinerPool
from tests.helpers.game import PRIZE, Game, bond_all, create_game, deploy_factory


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
    """A factory with the tests' configuration, its pool empty."""
    return deploy_factory(chain, host)


@pytest.fixture
def pool(factory: CompetitionFactory, miners: list[LocalAccount]) -> MinerPool:
    """The factory's pool, every miner bonded with ten seats."""
    pool = factory.pool()
    bond_all(pool, miners)
    return pool


@pytest.fixture
def create(
    chain: Chain, factory: CompetitionFactory, pool: MinerPool, host: LocalAccount
) -> Callable[..., Game]:
    """Create a funded competition on the bonded pool; keyword arguments override its terms."""

    def make(prize: int = PRIZE, **overrides: int | bytes) -> Game:
        return create_game(chain, factory, host, prize, **overrides)

    return make
