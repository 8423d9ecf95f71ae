"""Static analysis of contracts/ with Slither, fed the solcjs build (there is no native solc).

`write_build_info` compiles with the pinned settings, plus the AST and source maps Slither
reads, and lays out a stand-in Hardhat project around the build-info file: a stub config,
links to contracts/ and node_modules/ (crytic-compile resolves source names against the
project folder) and artifacts/build-info/. `run_slither` runs Slither there with Hardhat's
compile step off, so Slither never looks for a compiler of its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from deml.contracts import compiler
from deml.exceptions import ToolchainError

# What crytic-compile's Hardhat parser reads: every source's AST and each contract's ABI,
# bytecode and source maps (natspec is optional but feeds a few detectors).
SLITHER_OUTPUTS: dict[str, Any] = {
    "*": {
        "": ["ast"],
        "*": [
            "abi",
            "evm.bytecode.object",
            "evm.bytecode.sourceMap",
            "evm.deployedBytecode.object",
            "evm.deployedBytecode.sourceMap",
            "userdoc",
            "devdoc",
        ],
    }
}
# Findings on the shipped contracts only. Slither drops a finding if ANY of its elements
# matches --filter-paths, so node_modules/ is not filtered there (that would also hide a
# finding in Competition that names an OpenZeppelin function); --exclude-dependencies drops
# those wholly inside OpenZeppelin instead.
FILTER_PATHS = r"contracts/test/"


def write_build_info(root: Path, out_dir: Path) -> Path:
    """Compile contracts/ into a Hardhat-style project at out_dir; return its build-info file."""
    output = compiler.compile_sources(root, output_selection=SLITHER_OUTPUTS)
    settings = compiler.compiler_settings()
    settings["outputSelection"] = SLITHER_OUTPUTS
    sources = {name: {"content": _read_source(root, name)} for name in sorted(output["sources"])}
    request = {"language": "Solidity", "sources": sources, "settings": settings}
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]
    build_info = {
        "_format": "hh-sol-build-info-1",
        "id": digest,
        "solcVersion": compiler.SOLC_VERSION,
        "solcLongVersion": compiler.solc_long_version(root),
        "input": request,
        "output": output,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "hardhat.config.js").write_text("// stand-in: crytic-compile looks for it\n")
    for name in (compiler.CONTRACTS_DIR, "node_modules"):
        link = out_dir / name
        if link.is_symlink():
            link.unlink()
        link.symlink_to((root / name).resolve(), target_is_directory=True)
    folder = out_dir / "artifacts" / "build-info"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()  # crytic-compile reads every file here: a stale one would add its contracts
    path = folder / f"{digest}.json"
    path.write_text(json.dumps(build_info))
    return path


def run_slither(
    project: Path, slither: str | None = None, extra_args: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Run Slither on a project from write_build_info; return its detector findings."""
    exe = slither or shutil.which("slither")
    if exe is None:
        raise ToolchainError("slither is not installed (pip install slither-analyzer)")
    command = [
        exe,
        ".",
        "--hardhat-ignore-compile",
        "--npx-disable",  # else crytic-compile runs `npx hardhat console` to find its paths
        "--filter-paths", FILTER_PATHS,
        "--exclude-dependencies",
        "--json", "-",
        *extra_args,
    ]  # fmt: skip
    # Slither exits non-zero whenever it finds anything; its JSON says whether it worked.
    proc = subprocess.run(command, capture_output=True, text=True, cwd=project, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ToolchainError(f"slither failed: {proc.stderr.strip()[-2000:]}") from exc
    if not report.get("success"):
        raise ToolchainError(f"slither failed: {report.get('error') or proc.stderr[-2000:]}")
    detectors: list[dict[str, Any]] = (report.get("results") or {}).get("detectors", [])
    return detectors


def _read_source(root: Path, name: str) -> str:
    path = compiler.resolve_source(root, name)
    if path is None:
        raise ToolchainError(f"solc read {name}, which cannot be found again")
    return path.read_text()
