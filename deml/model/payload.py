"""Packing a competitor's model into the smallest payload that keeps its accuracy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deml.exceptions import PayloadTooLarge
from deml.model import codec, cost, export, inference, transform
from deml.model.codec import Codec
from deml.model.spec import ModelSpec

DEFAULT_MAX_DROP = 0.005
# dyn8 quantizes activations per batch: a sample's class then depends on its batch mates, so
# `auto` never picks it; it can still be asked for by name.
AUTO_CODECS = tuple(c for c in codec.ALL_CODECS if c.transform != "dyn8")


@dataclass(frozen=True)
class Trial:
    """One codec tried on a model: payload size and validation accuracy (None if not measured)."""

    codec: str
    bytes: int
    accuracy: float | None


@dataclass(frozen=True)
class Packed:
    """A payload ready to submit, and how it was chosen."""

    payload: bytes
    codec: Codec
    onnx_bytes: int
    reference_accuracy: float | None
    trials: tuple[Trial, ...]

    @property
    def accuracy(self) -> float | None:
        return next(t.accuracy for t in self.trials if t.codec == self.codec.name)


def encode(onnx_bytes: bytes, chosen: Codec) -> bytes:
    """The payload for `onnx_bytes` under one codec: transform, then compress."""
    return codec.encode(transform.apply(onnx_bytes, chosen.transform), chosen)


def accuracy(payload: bytes, spec: ModelSpec, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a payload run the way miners run it (in this process: it is your own model)."""
    predictions = inference.evaluate(payload, x, spec, max_payload_bytes=len(payload))
    return float(np.mean(predictions == np.asarray(y))) if len(y) else 0.0


def pack(
    model: Any,
    spec: ModelSpec,
    *,
    codec_name: str = "auto",
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    max_accuracy_drop: float = DEFAULT_MAX_DROP,
    max_bytes: int = codec.MAX_PAYLOAD_BYTES,
    test_samples: int | None = None,
) -> Packed:
    """Pack a torch/keras model, ONNX bytes or an .onnx file into a payload under `max_bytes`.

    `codec_name="auto"` picks the smallest payload whose accuracy on `validation` (x, y) is at
    most `max_accuracy_drop` (a fraction: 0.005 is half a percentage point) below the
    uncompressed model's; without validation data it only considers lossless codecs. A named
    codec (`"int8+lzma"`) is used as is; with validation data its accuracy is measured.
    With `test_samples` (the competition's test split size), a model over the operation
    budget for scoring that many samples is refused here, before anything is paid.
    """
    onnx_bytes = export.to_onnx(model, spec)
    if codec_name == "auto":
        candidates: Iterable[Codec] = AUTO_CODECS
        if validation is None:
            candidates = [c for c in AUTO_CODECS if c.lossless]
    else:
        candidates = [Codec.parse(codec_name)]
    reference = None
    if validation is not None:
        reference = accuracy(encode(onnx_bytes, Codec("", "zlib")), spec, *validation)
    trials, best = [], None
    for candidate in candidates:
        payload = encode(onnx_bytes, candidate)
        # Lossless codecs give the reference model's very outputs: no need to run them.
        measured = reference
        if validation is not None and not candidate.lossless:
            measured = accuracy(payload, spec, *validation)
        trials.append(Trial(candidate.name, len(payload), measured))
        # A codec asked for by name is used whatever it costs; `auto` keeps within the drop
        # (and always has the lossless codecs to fall back on).
        acceptable = (
            codec_name != "auto"
            or measured is None
            or reference is None
            or reference - measured <= max_accuracy_drop + 1e-12
        )
        if acceptable and (best is None or len(payload) < len(best[1])):
            best = (candidate, payload)
    assert best is not None
    chosen, payload = best
    # What we hand over must pass exactly the checks miners make.
    _, model_bytes = codec.decode(payload, max_payload_bytes=len(payload))
    checked = export.check_fits(model_bytes, spec)
    if test_samples is not None:
        cost.check(checked, test_samples, inference.BATCH_SIZE)
    if len(payload) > max_bytes:
        raise PayloadTooLarge(len(payload), max_bytes, _size_hint(codec_name, validation))
    return Packed(payload, chosen, len(onnx_bytes), reference, tuple(trials))


def _size_hint(codec_name: str, validation: object) -> str:
    if codec_name != "auto":
        return "try --codec auto, or a smaller model"
    if validation is None:
        return "give validation data so that lossy codecs (int8, int4) can be tried"
    return "allow a larger accuracy drop, or train a smaller model"
