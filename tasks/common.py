"""What every role's tasks share: the connection, the signer, and when to retry."""

from __future__ import annotations

from typing import Any

import requests
from prefect import Task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from deml import journal
from deml.chain.client import Chain
from deml.chain.localnode import connect
from deml.contracts import deployment
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.exceptions import TransientError
from deml.settings import Settings, load_settings

# Failures that may pass by themselves: DeML's own transient errors, and the network errors
# of libraries that reach us unwrapped. Everything else (a revert, a wrong chain, a missing
# account, bad input) would fail the same way again.
TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    requests.ConnectionError,
    requests.Timeout,
)


def is_transient(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry a node, store or receipt that did not answer in time; never anything else."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # the state holds no result at all: nothing to judge by
        error = exc
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


def factory(settings: Settings, chain: Chain) -> CompetitionFactory:
    return deployment.factory(chain, settings)


def competition(chain: Chain, address: str) -> Competition:
    return Competition(chain, address)


def claim_records(role: str, address: str) -> None:
    """Make `role`'s records kept under `address` this competition's (deml.journal.claim,
    the competition known by its test key's hash): a reset dev chain deploys the same
    addresses again, and an earlier competition's records are moved aside, said in the log."""
    settings, chain = session()
    owner = competition(chain, address).params().test_key_hash.hex()
    moved = journal.claim(settings.state_dir / role / address, owner)
    if moved is not None:
        print(f"records of an earlier competition at {address} (a reset chain?) moved to {moved}")
