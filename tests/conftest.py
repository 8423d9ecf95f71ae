"""Shared fixtures: the two chain backends, a local anvil node, hypothesis profiles."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode, NodeInfo
from deml.contracts import deployment
from deml.settings import load_settings
from tests.helpers.project import ROOT, free_port, make_project

# Quick locally, deeper in CI (.ci/run sets HYPOTHESIS_PROFILE=ci), deepest on demand. The ci
# profile's 1,000 examples of the property machine take about 6 minutes on one of CI's 2 cores.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=1_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `slow` tests first: `make test` spreads the tests over workers, and a long test
    handed out last would leave one worker running it alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeInfo]:
    """One anvil node for the whole session, on a free port, stopped at the end."""
    node = LocalNode(tmp_path_factory.mktemp("anvil-state"))
    info, _ = node.start(port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False)
    yield info
    node.stop()


@pytest.fixture(params=["eth-tester", "anvil"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """A dev chain on each backend; the anvil one is rolled back after each test."""
    if request.param == "eth-tester":
        yield Chain.in_process()
        return
    info: NodeInfo = request.getfixturevalue("anvil_node")
    connected = Chain.connect(
        info.url, accounts.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
    )
    snapshot = connected.snapshot()
    yield connected
    connected.revert(snapshot)


@pytest.fixture
def anvil_chain(anvil_node: NodeInfo) -> Iterator[Chain]:
    """The session's anvil node alone, rolled back after the test."""
    connected = Chain.connect(
        anvil_node.url, accounts.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
    )
    snapshot = connected.snapshot()
    yield connected
    connected.revert(snapshot)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow sqlite db with every migration applied: about 9 s, so once per session."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect test server for every flow in the session; yields its API URL."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def role_env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    anvil_node: NodeInfo,
    prefect_server: str,
    migrated_db: Path,
) -> Path:
    """A project copy to run the flows in, with its own state dir, on the session's anvil."""
    project = make_project(tmp_path / "project")
    for key in [k for k in os.environ if k.startswith("DEML_")]:
        monkeypatch.delenv(key)
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(migrated_db, state / "mlflow.db")
    monkeypatch.setenv("DEML_STATE_DIR", str(state))
    monkeypatch.setenv("DEML_RPC_URL", anvil_node.url)
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.chdir(project)
    # A factory of its own, as `deml contracts deploy` leaves it: no command deploys one.
    settings = load_settings()
    deployment.record(settings, deployment.deploy(Chain.from_settings(settings), settings).address)
    return project
