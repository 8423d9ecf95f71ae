"""`deml bench scoring`: wall time to score 20 models, sandboxed, in-process, and natively.

All three do the same job: labels for the test split from each model, counted against the
truth. Sandboxed and in-process both decode, check and run every payload with ONNX Runtime;
only the sandbox isolates each model in its own limited process. Native runs the framework's
own model object (no decoding, no checks). Each figure is the median of several rounds, run
interleaved so that load from elsewhere on the machine hits all three alike.

The sandbox runs as a miner runs it: one child per core at a time, with its spare children
forked and warmed up while it was idle (between two polls of the chain, a miner is idle).
What that idle work takes is measured too (`refill_s`), with two variants that show where the
time goes: one child at a time (`one_worker_s`), and no spares (`no_spares_s`). The record
written to JSON keeps the fixed shape; the details go to `Details`. The sandbox's start-up (once
per miner process, like importing ONNX Runtime) is reported apart.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import models
from deml.model import payload
from deml.scoring.sandbox import Sandbox, score_in_process

MODELS = 20
ROUNDS = 5


@dataclass(frozen=True)
class Details:
    """What the fixed-shape record leaves out."""

    startup_s: float
    refill_s: float
    one_worker_s: float
    no_spares_s: float
    workers: int
    spares: int


def run(
    n_models: int = MODELS, rounds: int = ROUNDS, tile: int = 1
) -> tuple[dict[str, Any], Details]:
    """The benchmark record, and the details around it.

    `tile` repeats the test split that many times, to show how the sandbox's fixed cost per
    model weighs against more inference work.
    """
    data = models.digits()
    x, y = np.tile(data.x_test, (tile, 1)), np.tile(data.y_test, tile)
    # Five of each reference model, trained from different seeds, packed as a competitor would.
    references = [
        models.build(models.NAMES[i % len(models.NAMES)], data, seed=i // len(models.NAMES))
        for i in range(n_models)
    ]
    payloads = [
        payload.pack(r.model, data.spec, validation=(data.x_train, data.y_train)).payload
        for r in references
    ]
    started = time.perf_counter()
    sandbox = Sandbox()
    sandbox.start()
    startup = time.perf_counter() - started
    one_worker = Sandbox(workers=1)
    no_spares = Sandbox(spares=0)
    boxes = (sandbox, one_worker, no_spares)

    def sandboxed(box: Sandbox) -> Callable[[], list[int]]:
        return lambda: [r.correct for r in box.score_all(payloads, x, y, data.spec)]

    jobs: dict[str, Callable[[], list[int]]] = {
        "sandboxed": sandboxed(sandbox),
        "in_process": lambda: [score_in_process(p, x, y, data.spec).correct for p in payloads],
        "native": lambda: [int(np.count_nonzero(r.predict(x) == y)) for r in references],
        "one_worker": sandboxed(one_worker),
        "no_spares": sandboxed(no_spares),
    }
    timings: dict[str, list[float]] = {name: [] for name in jobs}
    counts: dict[str, list[int]] = {}
    refills = []
    try:
        for job in jobs.values():
            job()  # one unmeasured round: first-use costs are not the steady state
        for _ in range(rounds):
            for name, job in jobs.items():
                # Idle time between batches: every sandbox forks and warms its spares and tears
                # down its finished children now, not while another figure is being measured.
                for box in boxes:
                    box.wait_ready()
                begin = time.perf_counter()
                counts[name] = job()
                timings[name].append(time.perf_counter() - begin)
                if name == "sandboxed":
                    begin = time.perf_counter()
                    sandbox.wait_ready()
                    refills.append(time.perf_counter() - begin)
    finally:
        for box in boxes:
            box.close()
    if len({tuple(c) for name, c in counts.items() if name != "native"}) != 1:
        raise AssertionError("sandboxed and in-process scores differ")
    median = {name: round(statistics.median(t), 4) for name, t in timings.items()}
    record = {
        "models": n_models,
        "samples": len(y),
        "sandboxed_s": median["sandboxed"],
        "in_process_s": median["in_process"],
        "native_s": median["native"],
    }
    details = Details(
        startup_s=startup,
        refill_s=round(statistics.median(refills), 4),
        one_worker_s=median["one_worker"],
        no_spares_s=median["no_spares"],
        workers=sandbox.workers,
        spares=sandbox.spares,
    )
    return record, details


def write(record: dict[str, Any], path: Path) -> None:
    """Write the record as JSON (the shape other tools read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
