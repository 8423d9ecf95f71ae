"""Build contracts/ into the committed artifacts, and check that they are current.

The compiler is solcjs from npm (there is no native solc on these machines), driven through
standard JSON. Its version and the EVM version are pinned, so a build is reproducible and
`check` can tell a stale artifact from a current one without recompiling: the build manifest
records the sha256 of every source the compiler read, OpenZeppelin's included.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from deml import _paths
from deml.artifacts import BUILD_MANIFEST, FIXTURES_DIR, Artifact
from deml.exceptions import ToolchainError

SOLC_VERSION = "0.8.37"
# Cancun is the newest fork that anvil, py-evm and the common L2s all run.
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200
CONTRACTS_DIR = "contracts"
ARTIFACTS_DIR = Path("deml") / "artifacts"
FIXTURES_PREFIX = CONTRACTS_DIR + "/test/"


def project_root() -> Path:
    """The source tree holding contracts/ and node_modules/ (the one this package lives in)."""
    root = _paths.checkout()
    if not (root / CONTRACTS_DIR).is_dir():
        raise ToolchainError(f"{root} has no {CONTRACTS_DIR}/ folder; run from a DeML checkout")
    return root


def source_files(root: Path) -> list[str]:
    """Every .sol file under contracts/, as sorted paths relative to `root`."""
    return sorted(p.relative_to(root).as_posix() for p in (root / CONTRACTS_DIR).rglob("*.sol"))


def compiler_settings() -> dict[str, Any]:
    """The solc settings every build uses."""
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": True,
        "evmVersion": EVM_VERSION,
        "metadata": {"bytecodeHash": "none"},
        "outputSelection": {
            "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
        },
    }


def compile_sources(root: Path, output_selection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run solcjs on every source and return its standard-JSON output; raise on any error."""
    _solcjs(root)
    _check_solc_version(root)
    sources = {path: {"urls": [path]} for path in source_files(root)}
    settings = compiler_settings()
    if output_selection is not None:
        settings["outputSelection"] = output_selection
    request = {"language": "Solidity", "sources": sources, "settings": settings}
    return run_solcjs(root, request)


def run_solcjs(root: Path, request: dict[str, Any]) -> dict[str, Any]:
    """solcjs's standard-JSON output for `request`; ToolchainError on any error."""
    solcjs = _solcjs(root)
    # solcjs exits before a pipe drains, cutting long output short; a file gets all of it. The
    # input is a file too: reading a large request from a pipe can fail with EAGAIN.
    with tempfile.TemporaryFile(mode="w+") as sink, tempfile.TemporaryFile(mode="w+") as source:
        source.write(json.dumps(request))
        source.seek(0)
        proc = subprocess.run(
            [str(solcjs), "--standard-json", "--base-path", ".", "--include-path", "node_modules"],
            stdin=source,
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            cwd=root,
            check=False,
        )
        sink.seek(0)
        stdout = sink.read()
    # solcjs prints notes such as ">>> Cannot retry compilation with SMT" before the JSON.
    start = stdout.find("{")
    if proc.returncode != 0 or start < 0:
        raise ToolchainError(f"solcjs failed: {proc.stderr.strip() or stdout.strip()}")
    output = json.loads(stdout[start:])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ToolchainError(
            "compilation failed:\n" + "\n".join(e["formattedMessage"].strip() for e in errors)
        )
    return output


def build(root: Path | None = None) -> list[Artifact]:
    """Compile contracts/ and rewrite the artifacts; return those written.

    Runtime contracts go into the package (deml/artifacts/), the test fixtures of
    contracts/test/ into contracts/test/artifacts/: DeML never deploys those.
    """
    root = root or project_root()
    output = compile_sources(root)
    out_dir, fixtures_dir = root / ARTIFACTS_DIR, root / FIXTURES_DIR
    fixtures_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("*.json"), *fixtures_dir.glob("*.json")]:
        old.unlink()
    written = []
    for source, contracts in sorted(output["contracts"].items()):
        if not source.startswith(CONTRACTS_DIR + "/"):
            continue  # OpenZeppelin's own contracts: compiled in, not shipped
        for name, out in sorted(contracts.items()):
            deployed = out["evm"]["deployedBytecode"]["object"]
            artifact = {
                "contractName": name,
                "sourceName": source,
                "abi": out["abi"],
                "bytecode": "0x" + out["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + deployed,
                "deployedSize": len(deployed) // 2,
            }
            folder = fixtures_dir if source.startswith(FIXTURES_PREFIX) else out_dir
            _write_json(folder / f"{name}.json", artifact)
            written.append(Artifact.from_json(json.dumps(artifact)))
    _write_json(out_dir / BUILD_MANIFEST, _manifest(root, sorted(output["sources"])))
    return written


def stale_reasons(root: Path | None = None) -> list[str]:
    """Why the committed artifacts do not match the sources; empty when they are current."""
    root = root or project_root()
    path = root / ARTIFACTS_DIR / BUILD_MANIFEST
    if not path.is_file():
        return [f"{path.relative_to(root)} is missing"]
    recorded = json.loads(path.read_text())
    reasons = []
    if recorded.get("solc") != SOLC_VERSION:
        reasons.append(f"built with solc {recorded.get('solc')}, pinned is {SOLC_VERSION}")
    if recorded.get("settings") != compiler_settings():
        reasons.append("compiler settings changed")
    hashes: dict[str, str] = recorded.get("sources", {})
    for source in sorted(set(source_files(root)) - set(hashes)):
        reasons.append(f"{source} is new")
    for source, digest in sorted(hashes.items()):
        file = resolve_source(root, source)
        if file is None:
            reasons.append(f"{source} was removed")
        elif _sha256(file) != digest:
            reasons.append(f"{source} changed")
    return reasons


def _manifest(root: Path, sources: list[str]) -> dict[str, Any]:
    hashes = {}
    for source in sources:
        file = resolve_source(root, source)
        if file is None:
            raise ToolchainError(f"solc read {source}, which cannot be found again")
        hashes[source] = _sha256(file)
    return {"solc": SOLC_VERSION, "settings": compiler_settings(), "sources": hashes}


def resolve_source(root: Path, source: str) -> Path | None:
    """Find a source unit as solcjs did: under the base path, then under node_modules."""
    for base in (root, root / "node_modules"):
        if (base / source).is_file():
            return base / source
    return None


def solc_long_version(root: Path) -> str:
    """The full version of the solcjs in node_modules, e.g. 0.8.37+commit.f401782d."""
    proc = subprocess.run(
        ["node", "-e", "process.stdout.write(require('solc').version())"],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    return (proc.stdout or proc.stderr).removesuffix(".Emscripten.clang")


def _solcjs(root: Path) -> Path:
    solcjs = root / "node_modules" / ".bin" / "solcjs"
    if not solcjs.exists() or shutil.which("node") is None:
        raise ToolchainError("solcjs is not installed; run `make setup` (it runs `npm ci`)")
    return solcjs


def _check_solc_version(root: Path) -> None:
    found = solc_long_version(root)
    if not found.startswith(SOLC_VERSION + "+"):
        raise ToolchainError(
            f"solc {SOLC_VERSION} is pinned but node_modules has {found!r}; run `npm ci`"
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
