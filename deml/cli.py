"""The `deml` command line. Errors show as one readable line; `--debug` shows the traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deml import __version__, cli_roles, compiler
from deml.cli_bench import bench_app
from deml.cli_dashboard import dashboard
from deml.cli_data import data_app, ipfs_app
from deml.cli_model import model_app
from deml.exceptions import ChainError, DemlError, SettingsError
from deml.localnode import LocalNode, connect, rpc_chain_id
from deml.settings import Settings, config_dir, load_settings

EIP170_CODE_LIMIT = 24_576

app = typer.Typer(
    help="DeML: decentralized machine-learning competitions on Ethereum.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
chain_app = typer.Typer(help="Run the local development chain (anvil).", no_args_is_help=True)
contracts_app = typer.Typer(help="Build and check the contract artifacts.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(contracts_app, name="contracts")
app.add_typer(data_app, name="data")
app.add_typer(ipfs_app, name="ipfs")
app.add_typer(model_app, name="model")
app.add_typer(bench_app, name="bench")
app.add_typer(cli_roles.host_app, name="host")
app.add_typer(cli_roles.compete_app, name="compete")
app.add_typer(cli_roles.mine_app, name="mine")
app.command("status")(cli_roles.status)
app.command("claim")(cli_roles.claim)
app.command("demo")(cli_roles.demo)
app.command("serve")(cli_roles.serve)
app.command("dashboard")(dashboard)

# soft_wrap: an error stays one line however narrow the terminal.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, object] = {"debug": False, "network": None}


def _version(value: bool) -> None:
    if value:
        out.print(f"deml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    network: Annotated[
        str | None,
        typer.Option(help="Network from networks.yaml (default: the `network` setting)."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    _state["network"] = network


def settings(**overrides: object) -> Settings:
    """The settings, with the global --network option applied."""
    return load_settings(network=_state["network"], **overrides)


# -- config ----------------------------------------------------------------------------------


@app.command("config")
def show_config() -> None:
    """Show the settings in force (secrets hidden) and where they come from."""
    s = settings()
    table = Table(title=f"settings (from {config_dir()} and DEML_* variables)", show_header=False)
    net = s.active_network
    rows = {
        "network": s.network,
        "rpc_url": net.rpc_url,
        "chain_id": net.chain_id,
        "dev chain": net.dev,
        "state_dir": s.state_dir,
        "signer": "private key"
        if s.private_key
        else "keystore"
        if s.keystore
        else "dev mnemonic"
        if net.dev
        else "none",
        "ipfs_backend": s.ipfs_backend,
        "ipfs_api_url": s.ipfs_api_url,
        "mlflow_tracking_uri": s.resolved_mlflow_uri,
        "prefect_home": s.resolved_prefect_home,
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    out.print(table)


# -- chain -----------------------------------------------------------------------------------


@chain_app.command("up")
def chain_up(
    port: Annotated[
        int | None,
        typer.Option(help="Port to listen on (default: the RPC URL's).", min=1, max=65535),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Chain state file, loaded at start and saved while running.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Start the local anvil node in the background (a second call reports the running one)."""
    s = settings()
    net = s.active_network
    if not net.dev:
        raise ChainError(f"`chain up` runs a local dev chain; network {s.network!r} is not one")
    default_port = int((net.rpc_url or "").rsplit(":", 1)[-1].split("/")[0] or 8545)
    mnemonic = net.mnemonic.get_secret_value() if net.mnemonic else ""
    info, started = LocalNode(s.state_dir).start(
        port=port or default_port, chain_id=net.chain_id, mnemonic=mnemonic, state_file=state
    )
    verb = "started" if started else "already running:"
    out.print(f"anvil {verb} {info.url} (chain {info.chain_id}, pid {info.pid})")
    out.print(f"  state file: {info.state_file}\n  log: {info.log_file}")
    if port and port != default_port:
        out.print(
            f"  other commands use {net.rpc_url}; set DEML_RPC_URL={info.url} to use this node"
        )


@chain_app.command("status")
def chain_status() -> None:
    """Show the local node and what the configured RPC endpoint answers."""
    s = settings()
    net = s.active_network
    info = LocalNode(s.state_dir).status()
    if info:
        out.print(f"local anvil: {info.url} (pid {info.pid}), state file {info.state_file}")
    elif net.dev:
        out.print("local anvil: not running (start it with `deml chain up`)")
    assert net.rpc_url is not None
    chain_id = rpc_chain_id(net.rpc_url, timeout_s=5)
    if chain_id is None:
        raise ChainError(f"no chain answers at {net.rpc_url}")
    chain = connect(s, autostart=False)
    out.print(
        f"{s.network}: {net.rpc_url} chain {chain_id}, block {chain.w3.eth.block_number},"
        f" time {chain.timestamp()}"
    )


@chain_app.command("down")
def chain_down() -> None:
    """Stop the local anvil node; its state file keeps the chain for the next `up`."""
    s = settings()
    info = LocalNode(s.state_dir).stop()
    if info is None:
        out.print("no local chain is running")
    else:
        out.print(f"stopped anvil (pid {info.pid}); chain saved in {info.state_file}")


PHASE_STARTS = {
    "reveal": "submit_deadline",
    "vote-commit": "reveal_deadline",
    "vote-reveal": "vote_commit_deadline",
    "settle": "vote_reveal_deadline",
}


@chain_app.command("advance")
def chain_advance(
    seconds: Annotated[int, typer.Argument(help="Seconds to move forward.", min=0)] = 0,
    competition: Annotated[
        str | None, typer.Option(help="With --phase: whose deadline to jump to.")
    ] = None,
    phase: Annotated[
        str | None, typer.Option(help="Jump to the start of: " + ", ".join(PHASE_STARTS))
    ] = None,
) -> None:
    """Move a dev chain's clock forward and mine a block: by SECONDS, or to a phase."""
    from deml.competition import Competition

    chain = connect(settings(), autostart=False)
    target = chain.timestamp() + seconds
    if phase is not None:
        if phase not in PHASE_STARTS or competition is None:
            raise DemlError(
                f"--phase takes one of {', '.join(PHASE_STARTS)}, with --competition ADDRESS"
            )
        target = getattr(Competition(chain, competition).params(), PHASE_STARTS[phase])
    if target <= chain.timestamp():
        out.print(f"nothing to do: the chain is already at {chain.timestamp()}")
        return
    chain.travel_to(target)
    out.print(f"chain time is now {chain.timestamp()}")


# -- contracts -------------------------------------------------------------------------------


@contracts_app.command("build")
def contracts_build() -> None:
    """Compile contracts/ with the pinned solc and rewrite the artifacts in deml/artifacts/."""
    from deml import artifact

    names = compiler.build()
    artifact.load.cache_clear()
    table = Table("contract", "deployed bytes", f"of {EIP170_CODE_LIMIT:,}")
    for name in names:
        size = artifact.load(name).deployed_size
        table.add_row(name, f"{size:,}", f"{100 * size / EIP170_CODE_LIMIT:.0f}%")
    out.print(table)
    out.print(
        f"wrote {len(names)} artifacts (solc {compiler.SOLC_VERSION}, evm {compiler.EVM_VERSION})"
    )
    too_big = [n for n in names if artifact.load(n).deployed_size > EIP170_CODE_LIMIT]
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


# -- entry point -----------------------------------------------------------------------------


def main() -> None:
    """Run the CLI; show DeML errors as one line unless --debug."""
    try:
        app()
    except (DemlError, SettingsError) as exc:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # an unexpected failure: still one line, the traceback on request
        if _state["debug"]:
            raise
        err.print(
            f"[red]unexpected error:[/red] {type(exc).__name__}: {exc}"
            " (run with --debug for the traceback)",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
