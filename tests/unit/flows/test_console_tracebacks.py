"""Without --debug a failed flow shows its error once, in one line: Prefect's console handler
leaves the traceback out, while its other handlers (the run's logs on the server) keep it."""

from __future__ import annotations

import io
import logging

from prefect.logging.handlers import PrefectConsoleHandler

from flows.cli_prefect import _NoTraceback


class Keeper(logging.Handler):
    """Stands for the API handler: it must still get the traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


def test_the_console_leaves_the_traceback_out_and_other_handlers_keep_it() -> None:
    stream = io.StringIO()
    console = PrefectConsoleHandler(stream=stream)
    console.setFormatter(_NoTraceback(logging.Formatter("%(levelname)s %(message)s")))
    keeper = Keeper()
    logger = logging.getLogger("deml.test.console")
    logger.propagate = False
    logger.handlers = [console, keeper]
    try:
        raise ValueError("the factory is missing")
    except ValueError:
        logger.exception("Encountered exception during execution")
    shown = stream.getvalue()
    assert "Encountered exception during execution" in shown
    assert "Traceback" not in shown and "ValueError" not in shown
    (kept,) = keeper.texts
    assert "Traceback (most recent call last)" in kept and "the factory is missing" in kept
