"""The four reference models (bench/models.py), trained once per test session and cached."""

from __future__ import annotations

import functools

from bench import models
from bench.models import NAMES, Digits, Reference
from deml.model import export

__all__ = ["NAMES", "digits", "onnx_model", "reference"]

# Fewer epochs than the benchmark: the tests need trained models, not the best ones.
EPOCHS = 10


@functools.cache
def digits() -> Digits:
    """The digits split the benchmarks use."""
    return models.digits()


@functools.cache
def reference(name: str) -> Reference:
    """The reference model `name`, trained once per session."""
    return models.build(name, digits(), seed=0, epochs=EPOCHS)


@functools.cache
def onnx_model(name: str) -> bytes:
    """The reference model exported to ONNX, once per session."""
    return export.to_onnx(reference(name).model, digits().spec)
