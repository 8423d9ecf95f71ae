"""Checks on untrusted ONNX: each hostile model is refused with a reason, honest ones pass."""

from __future__ import annotations

from collections.abc import Callable

import onnx
import pytest
from onnx import TensorProto, helper

from deml.exceptions import ModelRejected, SpecMismatch
from deml.model.check import ModelLimits, validate
from deml.model.spec import ModelSpec
from tests.helpers import hostile

SPEC = ModelSpec((64,), 10)


def check(model: onnx.ModelProto, spec: ModelSpec = SPEC) -> onnx.ModelProto:
    return validate(model.SerializeToString(), spec)


def test_an_honest_classifier_passes() -> None:
    checked = check(hostile.classifier())
    assert [n.op_type for n in checked.graph.node] == ["MatMul"]


def test_runtime_attacks_pass_the_static_checks() -> None:
    # Their harm only shows when they run: their operation count refuses them before that
    # (test_cost), and the sandbox's limits are the backstop (test_sandbox).
    check(hostile.huge_tensor())
    check(hostile.slow())


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (hostile.external_data, "external file \\('../../etc/passwd'\\)"),
        (hostile.custom_domain, "domain 'com.attacker' is not allowed"),
        (hostile.unknown_standard_op, "Exploit is not a standard ONNX op"),
        (hostile.local_function, "local functions"),
        (hostile.control_flow, "If has a subgraph"),
        (hostile.random_op, "RandomNormalLike is random"),
        (hostile.huge_initializer, "over the cap of 16,777,216 elements"),
        (hostile.huge_declared_shape, "declares shape \\[2147483648, 2147483648\\]"),
        (hostile.ml_domain_op, "ai.onnx.ml::Normalizer uses a non-standard domain"),
    ],
)
def test_hostile_model_is_rejected(build: Callable[[], onnx.ModelProto], reason: str) -> None:
    with pytest.raises(ModelRejected, match=reason):
        check(build())


def test_external_data_is_refused_before_anything_opens_the_file(tmp_path, monkeypatch) -> None:
    # Were the checker to resolve the location, it would do so from the working directory.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.bin").write_bytes(bytes(2560))
    model = hostile.external_data()
    model.graph.initializer[0].external_data[0].value = "weights.bin"
    with pytest.raises(ModelRejected, match=r"external file \('weights\.bin'\)"):
        check(model)


def test_declared_but_unused_ml_domain_is_tolerated() -> None:
    # Keras exports (via tf2onnx) declare ai.onnx.ml without using it.
    check(hostile.classifier(opsets={"": hostile.OPSET, "ai.onnx.ml": 3}))


def test_training_mode_batch_norm_is_rejected() -> None:
    norm = helper.make_node(
        "BatchNormalization", ["x", "s", "s", "s", "s"], ["evil"], training_mode=1
    )
    scale = helper.make_tensor("s", TensorProto.FLOAT, [64], [1.0] * 64)
    model = hostile.classifier(nodes=[norm], initializers=[scale], extra="evil")
    with pytest.raises(ModelRejected, match="training mode"):
        check(model)


def test_garbage_bytes_are_not_an_onnx_model() -> None:
    with pytest.raises(ModelRejected, match="not an ONNX model"):
        validate(b"\xff" * 100, SPEC)


def test_oversized_model_is_refused_before_parsing() -> None:
    limits = ModelLimits(max_model_bytes=1000)
    with pytest.raises(ModelRejected, match="over 1,000"):
        validate(hostile.classifier().SerializeToString(), SPEC, limits)


def test_checker_failure_is_a_rejection() -> None:
    model = hostile.classifier()
    model.graph.node[0].input[1] = "missing"
    with pytest.raises(ModelRejected, match="checker refused"):
        check(model)


@pytest.mark.parametrize(
    ("model", "spec", "reason"),
    [
        (hostile.classifier(), ModelSpec((8, 8), 10), r"input is \[batch, 64\].*\[batch, 8, 8\]"),
        (hostile.classifier(), ModelSpec((64,), 12), r"output is \[batch, 10\].*12 classes"),
        (hostile.classifier(input_dims=[1, 64]), SPEC, "fixed batch size of 1"),
        (hostile.classifier(output_dims=["batch", 10, 1]), SPEC, r"output is \[batch, 10, 1\]"),
    ],
)
def test_model_that_does_not_fit_the_spec_is_a_spec_mismatch(
    model: onnx.ModelProto, spec: ModelSpec, reason: str
) -> None:
    with pytest.raises(SpecMismatch, match=reason):
        check(model, spec)


def test_integer_input_or_two_outputs_do_not_fit() -> None:
    model = hostile.classifier()
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.INT64
    with pytest.raises(SpecMismatch, match="input is INT64; it must be float32"):
        check(model)
    model = hostile.classifier()
    model.graph.output.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 64]))
    with pytest.raises(SpecMismatch, match="1 inputs and 2 outputs"):
        check(model)
