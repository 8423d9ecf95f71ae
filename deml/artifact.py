"""Compiled contract artifacts, shipped inside the package and loaded with importlib.resources."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from deml.exceptions import ArtifactError

ARTIFACT_PACKAGE = "deml.artifacts"
BUILD_MANIFEST = "_build.json"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: its ABI, creation bytecode and deployed size."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    deployed_size: int


@cache
def load(name: str) -> Artifact:
    """The artifact of contract `name`, e.g. `load("Probe")`."""
    path = resources.files(ARTIFACT_PACKAGE) / f"{name}.json"
    if not path.is_file():
        raise ArtifactError(f"no artifact for contract {name!r}; run `deml contracts build`")
    data = json.loads(path.read_text())
    return Artifact(
        name=data["contractName"],
        source=data["sourceName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        deployed_size=data["deployedSize"],
    )


@cache
def names() -> tuple[str, ...]:
    """Every contract that has an artifact, sorted."""
    root = resources.files(ARTIFACT_PACKAGE)
    return tuple(
        sorted(
            p.name[: -len(".json")]
            for p in root.iterdir()
            if p.name.endswith(".json") and p.name != BUILD_MANIFEST
        )
    )
