"""`deml contracts …`: build the artifacts from contracts/, check they are current, and deploy
the factory (the only command that deploys anything)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from deml import artifacts
from deml.chain.localnode import connect
from deml.cli.context import err, ether, out, settings
from deml.contracts import compiler, deployment
from deml.exceptions import DemlError

EIP170_CODE_LIMIT = 24_576

contracts_app = typer.Typer(
    help="Build and check the contract artifacts; deploy the factory.", no_args_is_help=True
)


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


@contracts_app.command("deploy")
def contracts_deploy(
    account: Annotated[
        int, typer.Option(help="Which configured signer pays (dev accounts: 0-9).", min=0)
    ] = 0,
    force: Annotated[
        bool, typer.Option(help="Deploy a new factory even if one is recorded and live.")
    ] = False,
) -> None:
    """Deploy a CompetitionFactory (with the Competition implementation and the miner pool,
    after its dispute contract and architecture registry) with the network's factory terms,
    and record its address: in the state dir on a dev network, in configs/deployments.yaml on
    others."""
    s = settings()
    chain = connect(s)
    recorded = deployment.factory_address(s)
    if recorded is not None and chain.w3.eth.get_code(recorded) and not force:
        out.print(
            f"a factory is already deployed on {s.network!r}: {recorded} (--force deploys another)"
        )
        return
    signer = chain.signer(account)
    terms = s.active_network.factory
    out.print(f"deploying a CompetitionFactory on {s.network!r} from {signer.address}…")
    deployed = deployment.deploy(chain, s, sender=signer)
    path = deployment.record(s, deployed.address)
    out.print(f"factory: [bold]{deployed.address}[/bold]   pool: {deployed.pool().address}")
    disputes = deployed.disputes()
    out.print(
        f"disputes: {disputes.address}   architectures: {disputes.architectures().address}"
        f" (registrar: {signer.address})"
    )
    out.print(
        f"terms: seat stake {ether(terms.seat_stake_wei)}, at least {terms.min_seats} seats,"
        f" phases of at least {terms.min_window_s} s,"
        f" unbonding after {terms.unbonding_delay_s / 86_400:g} days,"
        f" challenge bond {ether(terms.challenge_bond_wei)}"
    )
    out.print(f"recorded in {path}")
    if s.factory is not None and s.factory != deployed.address:
        err.print(
            f"note: DEML_FACTORY={s.factory} still overrides the record; unset it to use this one"
        )
