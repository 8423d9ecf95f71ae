"""Shared fixtures: the two chain backends, a local anvil node, hypothesis profiles."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from deml import account
from deml.chain import DEV_MNEMONIC, Chain
from deml.localnode import LocalNode, NodeInfo

# Quick locally, deeper in CI (.ci/run sets HYPOTHESIS_PROFILE=ci), deepest on demand.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "deep", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
        info.url, account.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
    )
    snapshot = connected.snapshot()
    yield connected
    connected.revert(snapshot)


@pytest.fixture
def anvil_chain(anvil_node: NodeInfo) -> Iterator[Chain]:
    """The session's anvil node alone, rolled back after the test."""
    connected = Chain.connect(
        anvil_node.url, account.from_mnemonic(DEV_MNEMONIC), expected_chain_id=31337, dev=True
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
