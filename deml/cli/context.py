"""What every command shares: the global options (--network, --debug), and the consoles.

The root callback puts a `CliContext` on click's context; commands reach it with
`current()` (click hands it down to every subcommand's context), never through a module
global, so a command group module needs nothing from the root app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console

from deml.settings import Settings, load_settings

# soft_wrap: an error stays one line however narrow the terminal.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class CliContext:
    """The global options of one `deml` invocation."""

    network: str | None = None
    debug: bool = False

    def settings(self, **overrides: Any) -> Settings:
        """The settings, with the global --network option and `overrides` applied."""
        return load_settings(network=self.network, **overrides)


def current() -> CliContext:
    """The running command's context (the defaults outside a command, e.g. in a test)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(CliContext) if ctx is not None else None
    return found or CliContext()


def settings(**overrides: Any) -> Settings:
    """The settings the running command works with."""
    return current().settings(**overrides)


def ether(wei: int) -> str:
    """Ether to six places; amounts too small for that (rounding dust) in wei."""
    return f"{wei / 10**18:.6f} ETH" if wei >= 10**12 else f"{wei} wei"
