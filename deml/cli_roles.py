"""The role commands: `deml host`, `deml compete`, `deml mine`, `deml status`, `deml claim`,
`deml demo` and `deml serve`. Each wraps its Prefect flow (flows/)."""

from __future__ import annotations

import json
import os
import signal
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from deml import deployment, prefect_server, settlement
from deml.competition import Competition
from deml.exceptions import ChainError
from deml.localnode import connect
from deml.report import report
from deml.settings import Settings

host_app = typer.Typer(
    help="Host a competition: publish a dataset, fund a prize.", no_args_is_help=True
)
compete_app = typer.Typer(help="Compete: train, submit and reveal models.", no_args_is_help=True)
mine_app = typer.Typer(
    help="Mine: score models and vote, for a share of the pool.", no_args_is_help=True
)

out = Console(soft_wrap=True)
Account = Annotated[int, typer.Option(help="Which configured signer (dev accounts: 0-9).", min=0)]
Address = Annotated[str, typer.Argument(help="The competition's address.")]


def _settings() -> Settings:
    from deml.cli import settings  # late: deml.cli imports this module

    return settings()


def prepare_prefect(settings: Settings) -> None:
    """Point Prefect and MLflow at the state dir; must run before `prefect` is imported."""
    home = settings.resolved_prefect_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    # No telemetry: these machines often have no route out, and users did not ask for it.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    for key, value in _settings_env(settings).items():
        os.environ.setdefault(key, value)


def _settings_env(settings: Settings) -> dict[str, str]:
    """The CLI's overrides (e.g. --network), passed on to the flows through the environment."""
    return {"DEML_NETWORK": settings.network}


# -- host --------------------------------------------------------------------------------------


@host_app.command("create")
def host_create(
    account: Account = 0,
    prize: Annotated[Decimal | None, typer.Option(help="Prize in ether.")] = None,
    entry_fee: Annotated[Decimal | None, typer.Option(help="Buy-in per submission, ether.")] = None,
    stake: Annotated[Decimal | None, typer.Option(help="Miner stake, ether.")] = None,
    quorum: Annotated[int | None, typer.Option(help="Miners needed per submission.", min=1)] = None,
    max_model_bytes: Annotated[int | None, typer.Option(help="Cap on a payload.", min=1)] = None,
    project: Annotated[Path, typer.Option(help="Folder with dvc.yaml and params.yaml.")] = Path(
        "."
    ),
) -> None:
    """Prepare (DVC) and publish the dataset, then create and fund a competition.

    Terms come from configs/competition.yaml; the options override them."""
    settings = _settings()
    prepare_prefect(settings)
    from flows.host import host_flow

    template = {
        "prize_eth": prize,
        "entry_fee_eth": entry_fee,
        "miner_stake_eth": stake,
        "quorum": quorum,
        "max_model_bytes": max_model_bytes,
    }
    address = host_flow(
        account=account,
        project=str(project.resolve()),
        template={k: v for k, v in template.items() if v is not None},
    )
    out.print(f"competition created: [bold]{address}[/bold]")
    out.print(
        f"factory: {deployment.factory_address(settings)} (others on this chain: DEML_FACTORY)"
    )
    out.print(f"next: `deml host run {address}` after the submit deadline reveals the key")


@host_app.command("run")
def host_run(address: Address, account: Account = 0) -> None:
    """Do what is due: reveal the key after submissions close; settle, finalize and claim."""
    prepare_prefect(_settings())
    from flows.host import host_flow

    host_flow(competition=address, account=account)
    _print_status(address)


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
    prepare_prefect(_settings())
    from flows.competitor import competitor_flow

    ids = competitor_flow(
        competition=address, account=account, models=model, epochs=epochs, seed=seed, codec=codec
    )
    out.print(
        f"committed submissions {ids}; in the reveal window, `deml compete run {address}`"
        " reveals them"
    )


@compete_app.command("run")
def compete_run(address: Address, account: Account = 1) -> None:
    """Do what is due: reveal in the reveal window; record verified scores and claim at the end."""
    prepare_prefect(_settings())
    from flows.competitor import competitor_flow

    competitor_flow(competition=address, account=account)
    _print_status(address)


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
    prepare_prefect(_settings())
    from flows.miner import miner_flow, with_dask

    flow = miner_flow if dask is None else with_dask(dask)
    scored = flow(competition=competition, account=account)
    out.print(f"scored: {scored or 'nothing new'}")


@mine_app.command("serve")
def mine_serve(
    account: Account = 4,
    interval: Annotated[int, typer.Option(help="Seconds between runs.", min=5)] = 60,
) -> None:
    """Serve the miner flow on an interval schedule (needs a Prefect server: `deml serve`)."""
    prepare_prefect(_settings())
    from flows.miner import miner_flow

    if not os.environ.get("PREFECT_API_URL"):
        raise ChainError(
            "schedules need a Prefect server: start one with `deml serve` (it serves the miner too)"
        )
    miner_flow.serve(name=f"miner-{account}", interval=interval, parameters={"account": account})


# -- status, claim, demo -----------------------------------------------------------------------


def status(
    address: Address, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Phase, deadlines, leaderboard and payouts of a competition."""
    if as_json:
        out.print_json(json.dumps(_report(address)))
    else:
        _print_status(address)


def claim(address: Address, account: Account = 0) -> None:
    """Claim what the account is owed (winnings, refunds, stake and rewards)."""
    settings = _settings()
    chain = connect(settings)
    who = chain.accounts[account]
    amount = settlement.claim_if_owed(Competition(chain, address), who)
    out.print(
        f"{who.address} claimed {_ether(amount)}"
        if amount
        else f"{who.address}: nothing to claim now"
    )


def demo(
    epochs: Annotated[int, typer.Option(help="Training epochs per model.", min=1)] = 12,
) -> None:
    """Play a whole competition on the local chain: 1 host, 3 competitors, 4 miners (1 cheats)."""
    settings = _settings()
    if not settings.active_network.dev:
        raise ChainError(
            "the demo moves the chain's clock: use the local network (--network local)"
        )
    prepare_prefect(settings)
    from flows.demo import demo_flow

    connect(settings)  # starts anvil if needed, before Prefect's own start-up noise
    summary = demo_flow(project=str(Path.cwd()), epochs=epochs)
    _print_report(summary)
    path = settings.state_dir / "demo-summary.json"
    out.print(f"\nsummary: {path}   ({summary['duration_s']} s)")
    out.print("where to look next:")
    out.print(
        "  MLflow (claimed vs verified):"
        f" .venv/bin/mlflow ui --backend-store-uri {settings.resolved_mlflow_uri}"
    )
    out.print(
        "  Prefect UI (flow runs, leaderboard artifact): .venv/bin/deml serve, then http://127.0.0.1:4200"
    )
    out.print(
        f"  dashboard: .venv/bin/deml dashboard, then http://127.0.0.1:8000/competitions/{summary['competition']}"
    )


def _ether(wei: int) -> str:
    """Ether to six places; amounts too small for that (rounding dust) in wei."""
    return f"{wei / 10**18:.6f} ETH" if wei >= 10**12 else f"{wei} wei"


def _report(address: str) -> dict[str, Any]:
    return report(Competition(connect(_settings()), address))


def _print_status(address: str) -> None:
    _print_report(_report(address))


def _print_report(r: dict[str, Any]) -> None:
    out.print(
        f"competition {r['competition']}: phase [bold]{r['phase']}[/bold], outcome {r['outcome']}"
    )
    board = Table(
        "id", "owner", "status", "correct", f"of {r['test_set_size']}", "votes", title="leaderboard"
    )
    for row in r["leaderboard"]:
        correct = row["leading_score"]
        board.add_row(
            str(row["submission_id"]),
            row["owner"],
            row["status"],
            "-" if correct is None else str(correct),
            "-" if correct is None else f"{correct / r['test_set_size']:.1%}",
            str(row["votes"]),
        )
    out.print(board)
    if r["winner"]:
        out.print(f"winner: submission {r['winner']['submission_id']} by {r['winner']['address']}")
    if r["payouts"]:
        paid = Table("account", "amount", title="payouts")
        for account, wei in r["payouts"].items():
            paid.add_row(account, _ether(wei))
        out.print(paid)
    if r["slashed"]:
        out.print("slashed: " + ", ".join(r["slashed"]))
    out.print(f"contract balance: {r['final_balance_wei']} wei")


def serve(
    port: Annotated[int, typer.Option(help="Port of the Prefect server and its UI.")] = 4200,
    account: Account = 4,
    interval: Annotated[int, typer.Option(help="Seconds between miner runs.", min=5)] = 60,
) -> None:
    """Start a local Prefect server (UI: every flow run) and serve the miner on a schedule.

    Ctrl-C stops serving; the server keeps running."""
    # asyncio.run answers a first Ctrl-C by cancelling its main task, which Prefect's runner
    # takes as "finish what is booked": it went on starting scheduled runs for 10 s or more.
    # With a handler of our own asyncio leaves SIGINT alone, and Ctrl-C stops serving at once.
    signal.signal(signal.SIGINT, _interrupt)
    settings = _settings()
    prepare_prefect(settings)
    api = f"http://127.0.0.1:{port}/api"
    started = prefect_server.ensure(settings.resolved_prefect_home, port)
    out.print(
        f"Prefect server {'started' if started else 'running'}: UI at http://127.0.0.1:{port}"
    )
    os.environ["PREFECT_API_URL"] = api
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.miner import miner_flow

    out.print(f"serving the miner flow for account {account} every {interval} s (Ctrl-C to stop)")
    # Prefect reads its settings once, at import: the environment alone may come too late.
    with temporary_settings(updates={PREFECT_API_URL: api}):
        miner_flow.serve(
            name=f"miner-{account}", interval=interval, parameters={"account": account}
        )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
