"""What a competition's model must look like: the shape of one sample and the number of classes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deml.exceptions import SpecError

# Bounds keep a hostile manifest from declaring shapes that would exhaust memory downstream.
MAX_SAMPLE_ELEMENTS = 1 << 22
MAX_CLASSES = 1 << 16


@dataclass(frozen=True)
class ModelSpec:
    """One float32 input `[batch, *input_shape]`, one output `[batch, num_classes]`."""

    input_shape: tuple[int, ...]
    num_classes: int

    def __post_init__(self) -> None:
        shape = tuple(self.input_shape)
        if not shape or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise SpecError(f"input_shape must be a non-empty list of integers, got {shape!r}")
        if min(shape) < 1 or math.prod(shape) > MAX_SAMPLE_ELEMENTS:
            raise SpecError(
                f"input_shape {shape} must have positive sizes and at most"
                f" {MAX_SAMPLE_ELEMENTS:,} elements per sample"
            )
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int):
            raise SpecError(f"num_classes must be an integer, got {self.num_classes!r}")
        if not 2 <= self.num_classes <= MAX_CLASSES:
            raise SpecError(f"num_classes must be 2..{MAX_CLASSES:,}, got {self.num_classes}")
        object.__setattr__(self, "input_shape", shape)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> ModelSpec:
        """Read `input_shape` and `classes` (a list of names or a count) from a dataset manifest."""
        missing = [key for key in ("input_shape", "classes") if key not in manifest]
        if missing:
            raise SpecError(f"the dataset manifest has no {' or '.join(missing)}")
        shape, classes = manifest["input_shape"], manifest["classes"]
        if not isinstance(shape, list | tuple):
            raise SpecError(f"manifest input_shape must be a list, got {shape!r}")
        if isinstance(classes, list | tuple):
            if len(set(map(str, classes))) != len(classes):
                raise SpecError("manifest classes has duplicate names")
            classes = len(classes)
        return cls(tuple(shape), classes)

    @classmethod
    def from_file(cls, path: Path) -> ModelSpec:
        """Read the spec from a JSON dataset manifest file."""
        try:
            manifest = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot read the dataset manifest {path}: {exc}") from exc
        if not isinstance(manifest, dict):
            raise SpecError(f"{path} is not a JSON object")
        return cls.from_manifest(manifest)

    def describe_input(self) -> str:
        """The input as a reader sees it: `[batch, 8, 8]`."""
        return "[batch, " + ", ".join(map(str, self.input_shape)) + "]"
