"""The one way a model is run: what ONNX Runtime computes is what the graph says, op by op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from deml.exceptions import SpecMismatch
from deml.model import inference
from tests.helpers import hostile

SAMPLES = 512


def as_written(model: bytes, x: np.ndarray) -> np.ndarray:
    """The model's outputs with every graph rewrite off: the graph's own arithmetic."""
    options = inference.session_options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_a_class_decided_by_rounding_is_the_graphs_own_answer() -> None:
    # Fused into ORT's Gelu kernel (EXTENDED), 51 of these 512 ties broke the other way here.
    model = hostile.gelu_tie().SerializeToString()
    a = np.random.default_rng(1).uniform(-4, 4, SAMPLES).astype(np.float32)
    x = np.stack([a, np.zeros_like(a)], axis=1)
    x[:, 1] = as_written(model, x)[:, 0]
    session = inference.open_session(model)
    for batch_size in (1, 7, 64, SAMPLES):
        predicted = inference.predict(session, x, 2, batch_size)
        assert np.count_nonzero(predicted) == 0, batch_size


def test_the_optimized_graph_holds_only_standard_operators(tmp_path: Path) -> None:
    # Conv + Relu and the Gelu formula: the patterns EXTENDED turns into FusedConv and Gelu.
    rng = np.random.default_rng(0)
    conv = [
        helper.make_node("Reshape", ["x", "image"], ["pixels"]),
        helper.make_node("Conv", ["pixels", "kernel", "bias"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([-1, 1, 8, 8], np.int64), "image"),
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "kernel"),
        numpy_helper.from_array(np.zeros(4, np.float32), "bias"),
    ]
    for model in (
        hostile.gelu_tie(),
        hostile.classifier(nodes=conv, initializers=inits, extra="relu"),
    ):
        options = inference.session_options()
        options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(tmp_path / "optimized.onnx")
        assert {n.domain for n in optimized.graph.node} <= {"", "ai.onnx"}
        assert {n.op_type for n in optimized.graph.node} & {"Erf", "Relu"}


def test_an_output_that_is_not_the_declared_shape_is_caught_at_run_time() -> None:
    # The last line of defence, behind the cost count that refuses such a model unrun.
    session = inference.open_session(hostile.wrong_output().SerializeToString())
    x = np.random.default_rng(0).standard_normal((100, hostile.INPUT)).astype(np.float32)
    with pytest.raises(SpecMismatch, match=r"returned \(128, 5\) for a batch needing \(64, 10\)"):
        inference.predict(session, x, hostile.CLASSES)
