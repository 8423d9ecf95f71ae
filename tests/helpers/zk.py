"""The zoo MLP as an EZKL circuit, for the tests of proofs and of what binds them to a model:
two MLPs with other weights and one of them packed as a competitor packs it (int4), compiled
under one settings file, so one circuit (keys, SRS made here: tests only) serves them all."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deml.model import export, transform, zoo
from deml.model.spec import ModelSpec
from deml.zk import circuit as zk

SPEC = ModelSpec((64,), 10)  # the digits dataset's shape, as the demo's


@dataclass(frozen=True)
class Built:
    root: Path
    samples: np.ndarray  # 24 digits-like samples; the first 16 calibrated the settings
    models: list[bytes]  # MLP seed 0, MLP seed 1, MLP seed 0 packed as int4
    compiled: list[Path]
    circuit: zk.Circuit


def build_mlps(root: Path) -> Built:
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 17, size=(24, 64)).astype(np.float32)  # pixels 0..16
    models = [export.to_onnx(zoo.build("torch-mlp", SPEC, seed=s), SPEC) for s in (0, 1)]
    models.append(transform.apply(models[0], "int4"))
    settings = zk.make_settings(models[0], samples[:16], root / "mlp")
    logrows = json.loads(settings.read_text())["run_args"]["logrows"]
    srs = zk.generate_srs(root / "srs" / "test.srs", logrows)
    compiled = [zk.compile_model(m, settings, root / f"model{i}") for i, m in enumerate(models)]
    return Built(root, samples, models, compiled, zk.setup(compiled[0], settings, srs))
