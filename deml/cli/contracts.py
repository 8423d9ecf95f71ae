"""`deml contracts …`: build the artifacts from contracts/ and check they are current."""

from __future__ import annotations

import typer
from rich.table import Table

from deml import artifacts
from deml.cli.context import err, out
from deml.contracts import compiler
from deml.exceptions import DemlError

EIP170_CODE_LIMIT = 24_576

contracts_app = typer.Typer(help="Build and check the contract artifacts.", no_args_is_help=True)


@contracts_app.command("build")
def contracts_build() -> None:
    """Compile contracts/ with the pinned solc: runtime artifacts into deml/artifacts/, test
    fixtures into contracts/test/artifacts/."""
    built = compiler.build()
    artifacts.load.cache_clear()
    artifacts.load_fixture.cache_clear()
    table = Table("contract", "deployed bytes", f"of {EIP170_CODE_LIMIT:,}")
    for artifact in built:
        size = artifact.deployed_size
        table.add_row(artifact.name, f"{size:,}", f"{100 * size / EIP170_CODE_LIMIT:.0f}%")
    out.print(table)
    out.print(
        f"wrote {len(built)} artifacts (solc {compiler.SOLC_VERSION}, evm {compiler.EVM_VERSION})"
    )
    too_big = [a.name for a in built if a.deployed_size > EIP170_CODE_LIMIT]
    if too_big:
        raise DemlError(f"over the EIP-170 code size limit, not deployable: {', '.join(too_big)}")


@contracts_app.command("check")
def contracts_check() -> None:
    """Exit non-zero when an artifact is stale against its source (no compiler run needed)."""
    reasons = compiler.stale_reasons()
    if reasons:
        err.print("artifacts are stale; run `deml contracts build`:\n  " + "\n  ".join(reasons))
        raise typer.Exit(1)
    out.print("artifacts are current")
