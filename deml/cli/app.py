"""The root `deml` command: global options, readable errors, and every command group.

The core's groups are mounted here; the role commands that start Prefect flows (`deml host`,
`compete`, `mine`, `serve`, `demo`) and the benchmarks register themselves through the
`deml.commands` entry-point group (see pyproject.toml), so this package never imports
flows/, tasks/, bench/ or Prefect. Errors show as one line; `--debug` shows the traceback.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from deml import __version__
from deml.cli import chain, contracts, data, dispute, model, pool, status
from deml.cli.context import CliContext, err, out
from deml.cli.dashboard import dashboard
from deml.exceptions import DemlError

COMMANDS_GROUP = "deml.commands"


class _Group(TyperGroup):
    """The root group: turns any error into one readable line (unless --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except typer.Exit as exc:  # not a click Exit in this Typer: an exit status, no error
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            err.print("interrupted")
            ctx.exit(130)
        except Exception as exc:
            obj = ctx.find_object(CliContext)
            if obj is not None and obj.debug:
                raise
            if isinstance(exc, DemlError):
                err.print(f"[red]error:[/red] {exc}", highlight=False)
            else:  # an unexpected failure: still one line, the traceback on request
                err.print(
                    f"[red]unexpected error:[/red] {type(exc).__name__}: {exc}"
                    " (run with --debug for the traceback)",
                    highlight=False,
                )
            ctx.exit(1)


app = typer.Typer(
    cls=_Group,
    help="DeML: decentralized machine-learning competitions on Ethereum.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(chain.chain_app, name="chain")
app.add_typer(contracts.contracts_app, name="contracts")
app.add_typer(data.data_app, name="data")
app.add_typer(dispute.dispute_app, name="dispute")
app.add_typer(data.ipfs_app, name="ipfs")
app.add_typer(model.model_app, name="model")
app.add_typer(pool.pool_app, name="pool")
app.command("config")(status.show_config)
app.command("status")(status.status)
app.command("claim")(status.claim)
app.command("dashboard")(dashboard)


def _version(value: bool) -> None:
    if value:
        out.print(f"deml {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
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
    ctx.obj = CliContext(network=network, debug=debug)


def register_plugins(root: typer.Typer) -> None:
    """Mount the commands other packages register under the `deml.commands` entry points."""
    for point in entry_points(group=COMMANDS_GROUP):
        point.load()(root)


def main() -> None:
    """Run the CLI."""
    register_plugins(app)
    app()


if __name__ == "__main__":
    main()
