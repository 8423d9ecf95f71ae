"""A command whose flow runs a subflow that waits: `python -m tests.helpers.nested_flows`,
for the test that kills it there (tests/e2e/test_prefect_server.py)."""

from __future__ import annotations

import time

from deml.settings import load_settings
from flows.cli_prefect import prepare_prefect, run_flow

if __name__ == "__main__":
    prepare_prefect(load_settings())
    from prefect import flow

    @flow(name="waiting-child")
    def child() -> None:
        time.sleep(300)

    @flow(name="parent")
    def parent() -> None:
        child()

    run_flow(parent)
