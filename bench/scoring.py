"""`deml bench scoring`: wall time to score 20 models, sandboxed, in-process, and natively.

All three do the same job: labels for the test split from each model, counted against the
truth. Sandboxed and in-process both decode, check and run every payload with ONNX Runtime;
only the sandbox isolates each model in its own limited process. Native runs the framework's
own model object (no decoding, no checks). Each figure is the median of several rounds, run
interleaved so that load from elsewhere on the machine hits all three alike. The sandbox's
start-up (once per miner process, like importing ONNX Runtime) is reported apart.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench import models
from deml import payload, scoring

MODELS = 20
ROUNDS = 5


def run(
    n_models: int = MODELS, rounds: int = ROUNDS, tile: int = 1
) -> tuple[dict[str, Any], float]:
    """The benchmark record, and the sandbox's start-up seconds.

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
    sandbox = scoring.Sandbox()
    sandbox.start()
    startup = time.perf_counter() - started
    try:
        timings: dict[str, list[float]] = {"sandboxed": [], "in_process": [], "native": []}
        counts: dict[str, list[int]] = {}
        jobs: dict[str, Callable[[], list[int]]] = {
            "sandboxed": lambda: [r.correct for r in sandbox.score_all(payloads, x, y, data.spec)],
            "in_process": lambda: [
                scoring.score_in_process(p, x, y, data.spec).correct for p in payloads
            ],
            "native": lambda: [int(np.count_nonzero(r.predict(x) == y)) for r in references],
        }
        for job in jobs.values():
            job()  # one unmeasured round: first-use costs are not the steady state
        for _ in range(rounds):
            for name, job in jobs.items():
                begin = time.perf_counter()
                counts[name] = job()
                timings[name].append(time.perf_counter() - begin)
    finally:
        sandbox.close()
    if counts["sandboxed"] != counts["in_process"]:
        raise AssertionError("sandboxed and in-process scores differ")
    record = {
        "models": n_models,
        "samples": len(y),
        **{f"{name}_s": round(statistics.median(t), 4) for name, t in timings.items()},
    }
    return record, startup


def write(record: dict[str, Any], path: Path) -> None:
    """Write the record as JSON (the shape other tools read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
