"""The role commands: `deml host`, `deml compete`, `deml mine`, `deml demo` and `deml serve`.

Each wraps its Prefect flow. They reach `deml` through the `deml.commands` entry point
(`register`), so the core CLI never imports Prefect; Prefect itself is imported inside each
command, after `prepare_prefect` has pointed it at the state dir.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from deml.chain.localnode import connect
from deml.cli.context import err, out, settings
from deml.cli.status import print_report, read_report
from deml.contracts import deployment
from deml.exceptions import DevChainRequired
from deml.roles.terms import load_template
from deml.settings import Settings
from flows import prefect_server
from flows.cli_prefect import prefect_app, prepare_prefect, run_flow

host_app = typer.Typer(
    help="Host a competition: publish a dataset, fund a prize.", no_args_is_help=True
)
compete_app = typer.Typer(help="Compete: train, submit and reveal models.", no_args_is_help=True)
mine_app = typer.Typer(
    help="Mine: score models and vote, for a share of the pool.", no_args_is_help=True
)


class RevealModeName(StrEnum):
    """The choices of `--reveal-mode` (configs/competition.yaml's `reveal_mode`)."""

    calldata = "calldata"
    blob = "blob"


Account = Annotated[int, typer.Option(help="Which configured signer (dev accounts: 0-9).", min=0)]
Address = Annotated[str, typer.Argument(help="The competition's address.")]


# -- host --------------------------------------------------------------------------------------


Duration = Annotated[
    str | None, typer.Option(help="How long the phase stays open: 90, 45s, 10m, 6h, 1d, 1h30m.")
]


@host_app.command("create")
def host_create(
    account: Account = 0,
    terms: Annotated[
        Path | None,
        typer.Option(help="A YAML file of terms over configs/competition.yaml (any of its keys)."),
    ] = None,
    prize: Annotated[Decimal | None, typer.Option(help="Prize in ether.")] = None,
    entry_fee: Annotated[Decimal | None, typer.Option(help="Buy-in per submission, ether.")] = None,
    bond: Annotated[
        Decimal | None, typer.Option(help="Host bond, ether (at least the prize; default: it).")
    ] = None,
    seats: Annotated[
        int | None, typer.Option(help="Jury seats of the first vote (odd).", min=1)
    ] = None,
    max_model_bytes: Annotated[int | None, typer.Option(help="Cap on a payload.", min=1)] = None,
    reveal_mode: Annotated[
        RevealModeName | None,
        typer.Option(
            help="How models are revealed: in calldata (any chain), or in EIP-4844 blobs"
            " (Cancun or later: about 1/50 of the gas, payloads up to 761,851 bytes)."
        ),
    ] = None,
    submit: Duration = None,
    reveal: Duration = None,
    key: Duration = None,
    vote_commit: Duration = None,
    vote_reveal: Duration = None,
    tally: Duration = None,
    project: Annotated[Path, typer.Option(help="Folder with dvc.yaml and params.yaml.")] = Path(
        "."
    ),
) -> None:
    """Prepare (DVC) and publish the dataset, then create and fund a competition.

    Terms: configs/competition.yaml, then --terms FILE over it, then the options. The phases
    follow each other: submit, reveal (models), key (the test key), vote-commit,
    vote-reveal, and tally (only if no vote wins)."""
    s = settings()
    phases = {
        "submit": submit,
        "reveal": reveal,
        "key": key,
        "vote_commit": vote_commit,
        "vote_reveal": vote_reveal,
        "tally": tally,
    }
    # Checked here, before DVC and the chain: a typo costs nothing.
    template = load_template(
        terms,
        prize_eth=prize,
        entry_fee_eth=entry_fee,
        host_bond_eth=bond,
        seats=seats,
        max_model_bytes=max_model_bytes,
        reveal_mode=reveal_mode.value if reveal_mode is not None else None,
        durations={phase: value for phase, value in phases.items() if value is not None},
    )
    prepare_prefect(s)
    from flows.host import host_flow

    address = run_flow(
        host_flow,
        account=account,
        project=str(project.resolve()),
        template=template.model_dump(mode="json"),
    )
    out.print(f"competition created: [bold]{address}[/bold]")
    out.print(f"factory: {deployment.factory_address(s)} (others on this chain: DEML_FACTORY)")
    out.print(f"next: `deml host run {address}` after the reveal deadline reveals the key")


Watch = Annotated[
    int | None,
    typer.Option(
        help="Run again every N seconds until the competition is over and nothing is owed"
        " (Ctrl-C stops); without it, run once.",
        min=1,
    ),
]


@host_app.command("run")
def host_run(address: Address, account: Account = 0, watch: Watch = None) -> None:
    """Do what is due: reveal the key after submissions close; settle, finalize and claim."""
    s = settings()
    prepare_prefect(s)
    from flows.host import host_flow

    _repeat(
        s,
        address,
        account,
        watch,
        lambda: run_flow(host_flow, competition=address, account=account),
    )
    print_report(read_report(address))


# -- compete -----------------------------------------------------------------------------------


@compete_app.command("submit")
def compete_submit(
    address: Address,
    model: Annotated[
        list[str],
        typer.Option(
            help="A zoo model (torch-mlp, torch-cnn, keras-mlp, keras-cnn) or"
            " module:function; repeat to submit several."
        ),
    ],
    account: Account = 1,
    epochs: Annotated[int, typer.Option(help="Training epochs.", min=1)] = 15,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    codec: Annotated[
        str, typer.Option(help="Payload codec, or auto: the smallest within 0.5 pt.")
    ] = "auto",
) -> None:
    """Train each model on the competition's data (tracked in MLflow), pack it and commit it."""
    prepare_prefect(settings())
    from flows.competitor import competitor_flow

    ids = run_flow(
        competitor_flow,
        competition=address,
        account=account,
        models=model,
        epochs=epochs,
        seed=seed,
        codec=codec,
    )
    out.print(
        f"committed submissions {ids}; in the reveal window, `deml compete run {address}`"
        " reveals them"
    )


@compete_app.command("run")
def compete_run(address: Address, account: Account = 1, watch: Watch = None) -> None:
    """Do what is due: reveal in the reveal window; record verified scores and claim at the end."""
    s = settings()
    prepare_prefect(s)
    from flows.competitor import competitor_flow

    _repeat(
        s, address, account, watch,
        lambda: run_flow(competitor_flow, competition=address, account=account),
    )  # fmt: skip
    print_report(read_report(address))


def _repeat(
    s: Settings, address: str, account: int, every: int | None, once: Callable[[], object]
) -> None:
    """`once()`, then (with `every`) again every `every` seconds, in this process (no start-up
    per run), until the competition is finalized and `account` is owed nothing; sooner when
    a phase ends first, so that what the next phase allows (the key, a reveal) goes out a
    second after it opens. A failure of the first run ends the command (a wrong setting shows
    at once); a later one is reported and the next run tries again, as a cron job would."""
    once()
    if every is None:
        return
    from deml.contracts.bindings import Competition
    from deml.contracts.types import Phase
    from deml.roles.standing import next_deadline

    chain = connect(s)
    comp = Competition(chain, address)
    who = chain.signer(account).address
    while not (comp.phase() == Phase.FINALIZED and comp.claimable(who) == 0):
        now = chain.timestamp()
        ahead = next_deadline(comp, now)
        wait = every if ahead is None else max(1, min(every, ahead - now + 1))
        out.print(f"[dim]next run in {wait} s (Ctrl-C stops)[/dim]")
        time.sleep(wait)
        try:
            once()
        except Exception as exc:  # a later run's failure (a busy server's 503 too) is retried
            err.print(f"[red]this run failed:[/red] {type(exc).__name__}: {exc}", highlight=False)


# -- mine --------------------------------------------------------------------------------------


@mine_app.command("run")
def mine_run(
    account: Account = 4,
    competition: Annotated[str | None, typer.Option(help="Only this competition.")] = None,
    dask: Annotated[
        str | None,
        typer.Option(help="Score on a Dask cluster: its scheduler address, or `local`."),
    ] = None,
) -> None:
    """One pass over the open competitions: register, score, vote, settle, claim."""
    prepare_prefect(settings())
    from flows.miner import miner_flow, with_dask

    flow = miner_flow if dask is None else with_dask(dask)
    scored = run_flow(flow, competition=competition, account=account)
    out.print(f"scored: {scored or 'nothing new'}")


@mine_app.command("serve")
def mine_serve(
    account: Account = 4,
    interval: Annotated[int, typer.Option(help="Seconds between runs.", min=5)] = 60,
) -> None:
    """Serve the miner flow on an interval schedule, on this machine's Prefect server."""
    _serve_miner(settings(), account, interval)


def _serve_miner(s: Settings, account: int, interval: int) -> None:
    """Serve the miner flow until Ctrl-C; its runs tagged with this process (`mark_crashed`)."""
    # asyncio.run answers a first Ctrl-C by cancelling its main task, which Prefect's runner
    # takes as "finish what is booked": it went on starting scheduled runs for 10 s or more.
    # With a handler of our own asyncio leaves SIGINT alone, and Ctrl-C stops serving at once.
    signal.signal(signal.SIGINT, _interrupt)
    api = prepare_prefect(s)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.miner import miner_flow

    out.print(f"serving the miner flow for account {account} every {interval} s (Ctrl-C to stop)")
    # Prefect reads its settings once, at import: the environment alone may come too late.
    with temporary_settings(updates={PREFECT_API_URL: api}):
        miner_flow.serve(
            name=f"miner-{account}",
            interval=interval,
            parameters={"account": account},
            tags=prefect_server.tags_for_this_process(),
            # One pass at a time: a pass that outlasts the interval (scoring a burst of models
            # on a busy machine) delays the next instead of racing it for the same CPU and the
            # same models; in a real-time run, four overlapping passes per miner made every
            # one of them miss the vote-commit window.
            limit=1,
        )


# -- demo and serve -------------------------------------------------------------------------


def demo(
    epochs: Annotated[int, typer.Option(help="Training epochs per model.", min=1)] = 12,
) -> None:
    """Play a whole competition on the local chain: 1 host, 3 competitors, 4 miners (1 cheats)."""
    s = settings()
    if not s.active_network.dev:
        raise DevChainRequired(
            "the demo moves the chain's clock: use the local network (--network local)"
        )
    prepare_prefect(s)
    from flows.demo import demo_flow

    connect(s)  # starts anvil if needed, before Prefect's own start-up noise
    summary = run_flow(demo_flow, project=str(Path.cwd()), epochs=epochs)
    print_report(summary)
    path = s.state_dir / "demo-summary.json"
    out.print(f"\nsummary: {path}   ({summary['duration_s']} s)")
    out.print("where to look next:")
    out.print(
        "  MLflow (claimed vs verified):"
        f" .venv/bin/mlflow ui --backend-store-uri {s.resolved_mlflow_uri}"
    )
    out.print(
        "  Prefect UI (flow runs, leaderboard artifact):"
        f" {os.environ['PREFECT_API_URL'].removesuffix('/api')}"
    )
    out.print(
        f"  dashboard: .venv/bin/deml dashboard, then http://127.0.0.1:8000/competitions/{summary['competition']}"
    )


def serve(
    port: Annotated[
        int | None, typer.Option(help="Port of the Prefect server (default: prefect_port).")
    ] = None,
    account: Account = 4,
    interval: Annotated[int, typer.Option(help="Seconds between miner runs.", min=5)] = 60,
) -> None:
    """Serve the miner on a schedule, on this machine's Prefect server (started if none runs;
    its UI shows every flow run). Ctrl-C stops serving; the server keeps running."""
    s = settings() if port is None else settings(prefect_port=port)
    _serve_miner(s, account, interval)


def _interrupt(signum: int, frame: object) -> None:
    # Prefect's runner may catch this where it lands (starting a run, it reports that run as
    # crashed and serves on): if it is swallowed, the process stops a second later anyway, so
    # that no run starts after Ctrl-C.
    watchdog = threading.Timer(1.0, os._exit, (130,))
    watchdog.daemon = True
    watchdog.start()
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Mount the role commands on the root `deml` app (the `deml.commands` entry point)."""
    app.add_typer(host_app, name="host")
    app.add_typer(prefect_app, name="prefect")
    app.add_typer(compete_app, name="compete")
    app.add_typer(mine_app, name="mine")
    app.command("demo")(demo)
    app.command("serve")(serve)
