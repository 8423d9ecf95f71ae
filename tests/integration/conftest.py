"""Fixtures for the flows: one Prefect test server for the session, and a project to run in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deml.localnode import NodeInfo

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_FILES = ["dvc.yaml", "params.yaml", "data/.gitignore"]


def make_project(repo: Path) -> Path:
    """A new git + DVC repo holding the dataset pipeline and the deml sources it depends on."""
    for name in PIPELINE_FILES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "deml", repo / "deml", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo, check=True)
    return repo


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
    return project
