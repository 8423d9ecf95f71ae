"""Compiled contracts: the runtime ones ship in this package, the test fixtures beside them.

`deml contracts build` writes both: `contracts/*.sol` into this package (loaded with
importlib.resources, so an installed DeML has them), `contracts/test/*.sol` (fixtures for the
tests and benchmarks, never deployed by DeML itself) into `contracts/test/artifacts/` of the
checkout. NOTE: Import nothing from deml but exceptions and _paths: the chain client reads
the runtime contracts' custom errors from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from deml import _paths
from deml.exceptions import ArtifactError

ARTIFACT_PACKAGE = "deml.artifacts"
BUILD_MANIFEST = "_build.json"
FIXTURES_DIR = Path("contracts") / "test" / "artifacts"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI, creation bytecode and deployed size."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    deployed_size: int

    @classmethod
    def from_json(cls, text: str) -> Artifact:
        data = json.loads(text)
        return cls(
            name=data["contractName"],
            source=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            deployed_size=data["deployedSize"],
        )


@cache
def load(name: str) -> Artifact:
    """The runtime contract `name`, e.g. `load("Competition")`."""
    path = resources.files(ARTIFACT_PACKAGE) / f"{name}.json"
    if not path.is_file():
        raise ArtifactError(f"no artifact for contract {name!r}; run `deml contracts build`")
    return Artifact.from_json(path.read_text())


@cache
def load_fixture(name: str) -> Artifact:
    """The test fixture `name` of contracts/test/ (from the checkout): `load_fixture("Probe")`."""
    path = _paths.checkout() / FIXTURES_DIR / f"{name}.json"
    if not path.is_file():
        raise ArtifactError(f"no fixture artifact {path}; run `deml contracts build`")
    return Artifact.from_json(path.read_text())


@cache
def names() -> tuple[str, ...]:
    """Every runtime contract that has an artifact, sorted."""
    root = resources.files(ARTIFACT_PACKAGE)
    return tuple(
        sorted(
            p.name[: -len(".json")]
            for p in root.iterdir()
            if p.name.endswith(".json") and p.name != BUILD_MANIFEST
        )
    )
