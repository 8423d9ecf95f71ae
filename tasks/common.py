"""What every role's tasks share: the connection, the signer, and when to retry."""

from __future__ import annotations

from typing import Any

import requests
from eth_account.signers.local import LocalAccount
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from deml import deployment
from deml.chain import Chain
from deml.competition import Competition, CompetitionFactory
from deml.exceptions import ChainError, ContractRevert
from deml.localnode import connect
from deml.settings import Settings, load_settings
from deml.storage import StorageUnavailable

TRANSIENT = (
    ChainError,
    StorageUnavailable,
    ConnectionError,
    TimeoutError,
    requests.ConnectionError,
    requests.Timeout,
)


def is_transient(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry a node or store that did not answer; never a revert (it would revert again)."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # the state holds no result at all: nothing to judge by
        error = exc
    if isinstance(error, ContractRevert):
        return False
    return isinstance(error, TRANSIENT)


# For tasks that talk to the chain or the store. Each such task checks the chain before it
# sends, so a retry after a lost answer does not send twice.
RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay_seconds": [1, 2, 4, 8],
    "retry_condition_fn": is_transient,
}


def session() -> tuple[Settings, Chain]:
    """The settings and a connection (starting the local node on a dev network)."""
    settings = load_settings()
    return settings, connect(settings)


def signer(chain: Chain, account: int) -> LocalAccount:
    """The `account`-th configured signer (0 on a real network: the key or keystore)."""
    if not 0 <= account < len(chain.accounts):
        raise ChainError(f"account {account} is not configured; {len(chain.accounts)} are")
    return chain.accounts[account]


def factory(settings: Settings, chain: Chain) -> CompetitionFactory:
    return deployment.factory(chain, settings)


def competition(chain: Chain, address: str) -> Competition:
    return Competition(chain, address)
