"""`deml chain …`: the local development chain (anvil), and moving a dev chain's clock."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deml.chain.localnode import LocalNode, connect, rpc_chain_id
from deml.cli.context import out, settings
from deml.contracts.bindings import Competition
from deml.contracts.types import Phase
from deml.exceptions import ChainUnreachable, DemlError, DevChainRequired
from deml.roles import standing

chain_app = typer.Typer(help="Run the local development chain (anvil).", no_args_is_help=True)


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
    block_time: Annotated[
        int | None,
        typer.Option(
            help="Mine a block every N seconds, as a real network (default: one per transaction).",
            min=1,
        ),
    ] = None,
) -> None:
    """Start the local anvil node in the background (a second call reports the running one)."""
    s = settings()
    net = s.active_network
    if not net.dev:
        raise DevChainRequired(
            f"`chain up` runs a local dev chain; network {s.network!r} is not one"
        )
    default_port = int((net.rpc_url or "").rsplit(":", 1)[-1].split("/")[0] or 8545)
    mnemonic = net.mnemonic.get_secret_value() if net.mnemonic else ""
    info, started = LocalNode(s.state_dir).start(
        port=port or default_port,
        chain_id=net.chain_id,
        mnemonic=mnemonic,
        state_file=state,
        block_time=block_time,
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
    assert net.rpc_url is not None
    chain_id = rpc_chain_id(net.rpc_url, timeout_s=5)
    if info:
        out.print(f"local anvil: {info.url} (pid {info.pid}), state file {info.state_file}")
    elif net.dev and chain_id is None:
        out.print("local anvil: not running (start it with `deml chain up`)")
    elif net.dev:
        out.print("local anvil: none started from this state dir; the node below answers")
    if chain_id is None:
        raise ChainUnreachable(f"no chain answers at {net.rpc_url}")
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


# The phases a dev chain can jump to, as the command line names them: each opens when the
# one before it ends (the votes' windows are the current round's).
PHASE_STARTS = {
    "reveal": Phase.SUBMIT,
    "key": Phase.REVEAL,
    "vote-commit": Phase.KEY,
    "vote-reveal": Phase.VOTE_COMMIT,
    "tally": Phase.VOTE_REVEAL,
    "settle": Phase.TALLY,
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
    chain = connect(settings(), autostart=False)
    target = chain.timestamp() + seconds
    if phase is not None:
        if phase not in PHASE_STARTS or competition is None:
            raise DemlError(
                f"--phase takes one of {', '.join(PHASE_STARTS)}, with --competition ADDRESS"
            )
        comp = Competition(chain, competition)
        round_ = comp.round(comp.summary().round)
        ends = standing.phase_deadline(PHASE_STARTS[phase], comp.params(), round_)
        assert ends is not None  # each phase named here opens at a deadline
        target = ends
    if target <= chain.timestamp():
        out.print(f"nothing to do: the chain is already at {chain.timestamp()}")
        return
    chain.travel_to(target)
    out.print(f"chain time is now {chain.timestamp()}")
