"""`deml bench commands`: how long one-shot role commands take with the machine's Prefect
server up, as users run them (a fresh `deml` process each time).

Issue 13's target: a no-op `deml mine run` (nothing open to work on) under 5 s. Before the
machine's server, every command started a temporary Prefect server of its own. The bench
plays on a private anvil and Prefect server (free ports, a temporary state dir), stopped at
the end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ports import free_port
from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import LocalNode

TARGET_NOOP_MINE_RUN_S = 5.0
ROOT = Path(__file__).resolve().parent.parent


def _deml(env: dict[str, str], *args: str) -> float:
    """Run `deml ARGS` in a fresh process; its wall time in seconds (an error raises)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "deml.cli", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"deml {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def run(rounds: int = 5, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Time the server's first start, then `rounds` no-op `deml mine run`s."""
    with tempfile.TemporaryDirectory(prefix="deml-bench-") as tmp:
        state = Path(tmp) / "state"
        node = LocalNode(state)
        info, _ = node.start(port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DEML_", "PREFECT_"))}
        env |= {
            "DEML_STATE_DIR": str(state),
            "DEML_RPC_URL": info.url,
            "DEML_PREFECT_PORT": str(free_port()),
        }
        try:
            progress("deploying the factory")
            _deml(env, "contracts", "deploy")
            progress("starting the Prefect server")
            server_start_s = _deml(env, "prefect", "up")
            progress("first miner run (it bonds in the pool)")
            _deml(env, "mine", "run")
            noop = []
            for i in range(rounds):
                progress(f"no-op miner run {i + 1}/{rounds}")
                noop.append(_deml(env, "mine", "run"))
        finally:
            subprocess.run(
                [sys.executable, "-m", "deml.cli", "prefect", "down"],
                env=env, cwd=ROOT, capture_output=True, timeout=60,
            )  # fmt: skip
            node.stop()
    median = statistics.median(noop)
    return {
        "prefect_server_start_s": round(server_start_s, 2),
        "noop_mine_run_s": round(median, 2),
        "noop_mine_run_rounds_s": [round(t, 2) for t in noop],
        "target_noop_mine_run_s": TARGET_NOOP_MINE_RUN_S,
        "target_met": median < TARGET_NOOP_MINE_RUN_S,
        "cpus": os.cpu_count(),
    }


def write(record: dict[str, Any], path: Path) -> None:
    """Write the record as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
