"""`deml dashboard`: serve the web dashboard over the configured chain (or --rpc)."""

from __future__ import annotations

from typing import Annotated

import typer

from deml.cli.context import out, settings
from deml.contracts import deployment


def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8000,
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0 to share it on your network).")
    ] = "127.0.0.1",
    rpc: Annotated[
        str | None, typer.Option(help="JSON-RPC URL to read (default: the network's RPC URL).")
    ] = None,
    factory: Annotated[
        str | None,
        typer.Option(
            help="CompetitionFactory address (default: the one recorded for the network)."
        ),
    ] = None,
) -> None:
    """Serve the web dashboard: competitions, live leaderboards and each address's history."""
    import uvicorn

    from deml.dashboard.app import create_app
    from deml.dashboard.data import checked_address, reader_chain

    s = settings()
    network = s.active_network
    url = rpc or network.rpc_url
    assert url is not None  # checked when the settings loaded
    # A dashboard only reads: it never starts a node or deploys a factory, and it starts
    # while the chain is down (the page says so, and recovers when the chain answers).
    source = checked_address(factory) if factory else (lambda: deployment.factory_address(s))
    app = create_app(
        reader_chain(url, dev=network.dev),
        source,
        rpc_url=url,
        expected_chain_id=None if rpc else network.chain_id,
    )
    shown = "127.0.0.1" if host == "0.0.0.0" else host
    out.print(f"dashboard: http://{shown}:{port}/  (chain {url}; Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
