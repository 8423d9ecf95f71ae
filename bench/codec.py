"""`deml bench codec`: payload size and test accuracy of every codec on each reference model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench import models
from deml.model import codec, export, payload

MAX_DROP = 0.005


def run(names: tuple[str, ...] = models.NAMES, seed: int = 0) -> dict[str, Any]:
    """Train each reference model, export it, and measure every codec on the test split."""
    data = models.digits()
    results = []
    for name in names:
        reference = models.build(name, data, seed=seed)
        onnx_bytes = export.to_onnx(reference.model, data.spec)
        native = float(np.mean(reference.predict(data.x_test) == data.y_test))
        codecs = []
        for chosen in codec.ALL_CODECS:
            packed = payload.encode(onnx_bytes, chosen)
            accuracy = payload.accuracy(packed, data.spec, data.x_test, data.y_test)
            codecs.append({"codec": chosen.name, "bytes": len(packed), "accuracy": accuracy})
        results.append(
            {
                "name": name,
                "framework": reference.framework,
                "params": reference.params(),
                "onnx_bytes": len(onnx_bytes),
                "seed_bytes": models.seed_bytes(reference.weights()),
                "reference_accuracy": native,
                "codecs": codecs,
            }
        )
    return {"models": results}


def best(model: dict[str, Any], max_drop: float = MAX_DROP) -> dict[str, Any]:
    """The smallest codec whose accuracy is at most `max_drop` below the reference's."""
    keeps = [c for c in model["codecs"] if model["reference_accuracy"] - c["accuracy"] <= max_drop]
    return min(keeps, key=lambda c: c["bytes"])


def write(results: dict[str, Any], path: Path) -> None:
    """Write the results as indented JSON (the shape other tools read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
