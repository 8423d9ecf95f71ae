"""The `deml` console script: the CLI, started with the garbage collector tuned for a
command's life.

A command imports web3, Prefect, ONNX Runtime and more: millions of objects that live until
it exits. With CPython's default thresholds the collector walks them again and again while
they load (0.6 s of a 3 s start), and once more at exit (another 0.6 s) for nothing. Rarer
young collections keep the collector on for long-running commands (`deml serve`, `--watch`),
and the objects still alive at exit are frozen so the last walk skips them.
"""

from __future__ import annotations

import gc

# A young collection per 100,000 allocations instead of 700.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:
    """Run the `deml` command line."""
    gc.set_threshold(*GC_THRESHOLDS)
    from deml.cli.app import main as run_cli

    try:
        run_cli()
    finally:
        gc.freeze()  # the process ends: nothing left to collect
