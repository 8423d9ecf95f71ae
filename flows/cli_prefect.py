"""`deml prefect up|down|status`: the machine's Prefect server, and how commands reach it.

Every role command calls `prepare_prefect` before it imports Prefect: the command then talks
to `PREFECT_API_URL` when set (a remote server, Prefect Cloud), else to this machine's server,
started on first use and kept (`flows/prefect_server.py` says why).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from deml.cli.context import current, err, out, settings
from deml.exceptions import ToolchainError
from deml.settings import Settings
from flows import prefect_server

if TYPE_CHECKING:
    from prefect import Flow

prefect_app = typer.Typer(
    help="The machine's Prefect server, shared by every role command and `deml serve`.",
    no_args_is_help=True,
)
T = TypeVar("T")


def prepare_prefect(s: Settings) -> str:
    """Point Prefect and MLflow at the state dir and Prefect at its server (this machine's,
    started if none answers, unless PREFECT_API_URL names another); mark the runs of dead
    processes crashed. Must run before `prefect` is imported; returns the API URL."""
    home = s.resolved_prefect_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(home))
    # No telemetry: these machines often have no route out, and users did not ask for it.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    # The chain client logs every transaction it sends (hash, block, gas): into the run logs.
    # Into the run logs too (at INFO: flows/__init__.py).
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "deml")
    # The CLI's overrides (e.g. --network), passed on to the flows through the environment.
    os.environ.setdefault("DEML_NETWORK", s.network)
    url = os.environ.get("PREFECT_API_URL") or _already_configured()
    if url:
        if prefect_server.is_local(url) and not prefect_server.healthy(url):
            raise ToolchainError(
                f"no Prefect server answers at {url} (PREFECT_API_URL): start it, or unset"
                " PREFECT_API_URL to use this machine's (`deml prefect up`)"
            )
    else:
        server = prefect_server.ManagedServer(home, s.prefect_port)
        if server.status() is None and not server.foreign():
            err.print(f"starting this machine's Prefect server on port {s.prefect_port}…")
        url, started = server.start()
        if started:
            err.print(
                f"Prefect server started: {url[: -len('/api')]} (`deml prefect down` stops it)"
            )
        os.environ["PREFECT_API_URL"] = url
    for name in prefect_server.mark_crashed():
        err.print(f"flow run {name!r} marked crashed: its process had ended without reporting")
    return url


def run_flow(flow: Flow[..., T], **parameters: Any) -> T:
    """Run a flow in this process, its run tagged with this host and pid (`mark_crashed`).
    Without --debug the console shows no traceback: the CLI prints the error once, in one
    line (the run's logs on the server keep the traceback)."""
    if not current().debug:
        _console_without_tracebacks()
    # The tags go on the flow run only, once it runs, not through `prefect.tags()`: every
    # task run inside that would carry them too, and Prefect checks a tagged task run
    # against tag concurrency limits, a server round trip per task (10 s of the demo).
    hooks = [*flow.on_running_hooks, prefect_server.tag_with_this_process]
    # No heartbeats: they exist to detect crashed runs, which `mark_crashed` does here, and
    # each run (each subflow too) waits up to a second at its end for the heartbeat thread.
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return flow.with_options(on_running=hooks)(**parameters)


class _NoTraceback(logging.Formatter):
    """Formats a record as `inner` does, leaving out its traceback."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = (record.exc_info, record.exc_text, record.stack_info)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            # Other handlers (the API's, which keeps the traceback) see the record whole.
            record.exc_info, record.exc_text, record.stack_info = saved


def _console_without_tracebacks() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        logger
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(("prefect", "deml"))
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(
                handler.formatter, _NoTraceback
            ):
                handler.setFormatter(_NoTraceback(handler.formatter))


def _already_configured() -> str | None:
    """The API URL of a Prefect this process imported and configured already (a test
    harness, an embedding program); None when Prefect is not imported yet."""
    if "prefect" not in sys.modules:
        return None
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@prefect_app.command("up")
def prefect_up() -> None:
    """Start this machine's Prefect server (if none answers) and keep it running."""
    s = settings()
    server = prefect_server.ManagedServer(s.resolved_prefect_home, s.prefect_port)
    url, started = server.start()
    ui = url.removesuffix("/api")
    out.print(f"Prefect server {'started' if started else 'already running'}: UI at {ui}")


@prefect_app.command("down")
def prefect_down() -> None:
    """Stop the Prefect server that this state dir started."""
    s = settings()
    stopped = prefect_server.ManagedServer(s.resolved_prefect_home, s.prefect_port).stop()
    out.print(
        "no Prefect server was running"
        if stopped is None
        else f"Prefect server stopped (pid {stopped.pid})"
    )


@prefect_app.command("status")
def prefect_status() -> None:
    """Which Prefect server the role commands use, and whether it answers."""
    s = settings()
    if url := os.environ.get("PREFECT_API_URL"):
        state = "answers" if prefect_server.healthy(url) else "does not answer"
        out.print(f"PREFECT_API_URL: {url} ({state})")
        return
    server = prefect_server.ManagedServer(s.resolved_prefect_home, s.prefect_port)
    if (info := server.status()) is not None:
        out.print(f"running: {info.api_url} (pid {info.pid}, started here; log {info.log_file})")
    elif server.foreign():
        out.print(
            f"running: {prefect_server.api_url(s.prefect_port)} (started from another state dir)"
        )
    else:
        out.print(
            "not running (the first role command, or `deml prefect up`, starts it on port"
            f" {s.prefect_port})"
        )
        raise typer.Exit(3)
