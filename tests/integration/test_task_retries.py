"""Tasks retry what may pass by itself, and nothing else: a revert or a wrong setting would
fail the same way again, and a retried mistake only hides it for 15 seconds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from deml.exceptions import (
    AccountNotConfigured,
    BindingError,
    ChainUnreachable,
    ContractRevert,
    DecryptionError,
    DevChainRequired,
    IntegrityError,
    JournalError,
    ManifestError,
    ModelRejected,
    SandboxError,
    SettingsError,
    StorageError,
    StorageUnavailable,
    TransactionTimeout,
    WrongChain,
    custom_error_class,
)
from tasks.common import RETRIES

ATTEMPTS = 1 + RETRIES["retries"]

PERMANENT: dict[str, Callable[[], BaseException]] = {
    "revert": lambda: ContractRevert("reverted: nope"),
    "custom error": lambda: custom_error_class("CommitTooLate")({"deadline": 1, "now": 2}),
    "wrong chain": lambda: WrongChain("the node is chain 1, the settings expect 31337"),
    "dev chain required": lambda: DevChainRequired("time travel works only on a dev chain"),
    "account not configured": lambda: AccountNotConfigured("account 12 is not configured"),
    "bad setting": lambda: SettingsError("setting 'rpc_url': expected an http:// URL"),
    "binding": lambda: BindingError("submission 3 has not been revealed"),
    "store refused": lambda: StorageError("kubo add failed: bad request"),
    "tampered content": lambda: IntegrityError("block does not match its CID"),
    "bad manifest": lambda: ManifestError("manifest.json: unsafe file name"),
    "wrong key": lambda: DecryptionError("the test split does not decrypt"),
    "hostile model": lambda: ModelRejected("custom op domain"),
    "sandbox": lambda: SandboxError("the scoring sandbox failed twice"),
    "damaged record": lambda: JournalError("ledger.json is damaged"),
    "plain bug": lambda: ValueError("bad input"),
}
TRANSIENT: dict[str, Callable[[], BaseException]] = {
    "node down": lambda: ChainUnreachable("no chain answers at http://127.0.0.1:8545"),
    "receipt late": lambda: TransactionTimeout("transaction 0xab was not mined within 120 s"),
    "store down": lambda: StorageUnavailable("cannot reach kubo's RPC API"),
    "requests connection": lambda: requests.ConnectionError("connection refused"),
    "requests timeout": lambda: requests.Timeout("read timed out"),
    "socket timeout": lambda: TimeoutError("timed out"),
}
ERRORS = {**PERMANENT, **TRANSIENT}
calls: list[str] = []


@task(cache_policy=NO_CACHE, **{**RETRIES, "retry_delay_seconds": 0})
def failing(name: str) -> None:
    calls.append(name)
    raise ERRORS[name]()


@flow(name="retry-check")
def run_failing(name: str) -> bool:
    return failing(name, return_state=True).is_failed()


@pytest.mark.parametrize("name", sorted(PERMANENT))
def test_a_permanent_error_is_not_retried(name: str, prefect_server: str) -> None:
    calls.clear()
    assert run_failing(name)
    assert calls == [name]


@pytest.mark.parametrize("name", sorted(TRANSIENT))
def test_a_transient_error_is_retried_until_the_retries_run_out(
    name: str, prefect_server: str
) -> None:
    calls.clear()
    assert run_failing(name)
    assert calls == [name] * ATTEMPTS
