"""The contract build pipeline: committed artifacts are current, and staleness is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from deml import artifacts
from deml.artifacts import FIXTURES_DIR
from deml.contracts import compiler
from deml.exceptions import ArtifactError, ToolchainError
from tests.helpers.project import ROOT


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the contract sources and artifacts, sharing the real node_modules."""
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    shutil.copytree(ROOT / compiler.ARTIFACTS_DIR, tmp_path / compiler.ARTIFACTS_DIR)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    return tmp_path


def test_committed_artifacts_are_current() -> None:
    """Fails whenever a source changed without `deml contracts build`."""
    assert compiler.stale_reasons() == []


def test_the_package_ships_the_runtime_contracts_and_no_fixture() -> None:
    assert artifacts.names() == (
        "Architectures",
        "Competition",
        "CompetitionFactory",
        "Disputes",
        "ICompetition",
        "IDisputes",
        "IMinerPool",
        "IVerifier",
        "MinerPool",
        "ScoreTree",
    )
    with pytest.raises(ArtifactError, match="no artifact for contract 'Probe'"):
        artifacts.load("Probe")


def test_every_fixture_has_a_loadable_artifact_beside_its_source() -> None:
    fixtures = {p.stem for p in (ROOT / "contracts" / "test").glob("*.sol")}
    assert fixtures <= {p.stem for p in (ROOT / FIXTURES_DIR).glob("*.json")}
    probe = artifacts.load_fixture("Probe")
    assert probe.source == "contracts/test/Probe.sol"
    assert (
        probe.bytecode.startswith("0x")
        and probe.deployed_size == len(probe.deployed_bytecode) // 2 - 1
    )
    assert {item["name"] for item in probe.abi if item["type"] == "error"} == {
        "ProbeValueTooLarge",
        "ProbeUnauthorized",
        "ProbeTooLate",
    }


@pytest.mark.slow
def test_build_is_reproducible(tree: Path) -> None:
    folders = (tree / compiler.ARTIFACTS_DIR, tree / FIXTURES_DIR)
    before = {p: p.read_text() for folder in folders for p in folder.glob("*.json")}
    compiler.build(tree)
    after = {p: p.read_text() for folder in folders for p in folder.glob("*.json")}
    assert after == before


@pytest.mark.slow
def test_edited_source_makes_artifacts_stale_until_rebuilt(tree: Path) -> None:
    source = tree / "contracts" / "test" / "Probe.sol"
    source.write_text(source.read_text().replace("_value = value;", "_value = value + 1;"))
    assert compiler.stale_reasons(tree) == ["contracts/test/Probe.sol changed"]
    compiler.build(tree)
    assert compiler.stale_reasons(tree) == []
    rebuilt = json.loads((tree / FIXTURES_DIR / "Probe.json").read_text())
    assert rebuilt["deployedBytecode"] != artifacts.load_fixture("Probe").deployed_bytecode


def test_new_and_removed_sources_are_stale(tree: Path) -> None:
    (tree / "contracts" / "Extra.sol").write_text("pragma solidity 0.8.37; contract Extra {}\n")
    assert compiler.stale_reasons(tree) == ["contracts/Extra.sol is new"]
    (tree / "contracts" / "Extra.sol").unlink()
    (tree / "contracts" / "test" / "Probe.sol").unlink()
    assert compiler.stale_reasons(tree) == ["contracts/test/Probe.sol was removed"]


def test_compile_error_is_reported_with_the_location(tree: Path) -> None:
    (tree / "contracts" / "Broken.sol").write_text(
        "pragma solidity 0.8.37; contract Broken { x }\n"
    )
    with pytest.raises(ToolchainError, match=r"compilation failed:[\s\S]*Broken.sol:1"):
        compiler.build(tree)
