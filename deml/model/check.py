"""Checks an untrusted ONNX model before any runtime sees it: structure, ops, sizes, input/output.

Rules, and why:
- Nodes use only the standard domain (`""` / `ai.onnx`). Custom domains need custom kernels, and
  `ai.onnx.ml` (tree ensembles, ZipMap) serves classical models whose outputs are not
  `[batch, num_classes]` tensors; its kernels would only widen the attack surface. Exporters may
  *declare* `ai.onnx.ml` without using it (Keras via tf2onnx does), so the import is tolerated.
- No model-local functions, no control flow (If/Loop/Scan): a classifier does not need them, and
  subgraphs would each need the same checks. No sparse tensors: a tiny sparse tensor can declare
  a huge dense shape.
- No random ops, no Dropout or BatchNormalization in training mode: honest miners must agree.
- No external data (a tensor could name `../../etc/passwd`); sizes of tensors and declared
  shapes are capped.
- One float32 input `[batch, *input_shape]` and one float32 output `[batch, num_classes]`, with a
  dynamic batch dimension.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, TensorProto

from deml.exceptions import ModelRejected, SpecMismatch
from deml.model.codec import MAX_MODEL_BYTES
from deml.model.spec import ModelSpec

NODE_DOMAINS = frozenset({"", "ai.onnx"})
DECLARED_DOMAINS = NODE_DOMAINS | {"ai.onnx.ml"}
MIN_OPSET = 9
NONDETERMINISTIC_OPS = frozenset(
    {
        "Bernoulli",
        "Multinomial",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
    }
)
_SUBGRAPH_TYPES = (AttributeProto.GRAPH, AttributeProto.GRAPHS)
_SPARSE_TYPES = (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS)


@dataclass(frozen=True)
class ModelLimits:
    """Caps on an untrusted model's structure."""

    max_model_bytes: int = MAX_MODEL_BYTES
    max_nodes: int = 10_000
    max_tensor_elements: int = 1 << 24


def validate(model: bytes, spec: ModelSpec, limits: ModelLimits = ModelLimits()) -> onnx.ModelProto:
    """The parsed model, when it passes every check; otherwise `ModelRejected` says why."""
    if len(model) > limits.max_model_bytes:
        raise ModelRejected(
            f"the ONNX model is {len(model):,} bytes, over {limits.max_model_bytes:,}"
        )
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(model)
    except (DecodeError, RuntimeError, ValueError, RecursionError) as exc:
        raise ModelRejected(f"not an ONNX model: {_first_line(exc)}") from exc
    # A field this onnx does not know could still mean something to the runtime: drop it.
    proto.DiscardUnknownFields()
    _check_header(proto)
    _check_graph(proto.graph, limits)
    check_io(proto, spec)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # whatever the C++ checker throws, the verdict is the same
        raise ModelRejected(f"the ONNX checker refused the model: {_first_line(exc)}") from exc
    return proto


def check_io(proto: onnx.ModelProto, spec: ModelSpec) -> None:
    """One float32 input `[batch, *input_shape]`, one float32 output `[batch, num_classes]`."""
    graph = proto.graph
    weights = {t.name for t in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise SpecMismatch(
            f"the model has {len(inputs)} inputs and {len(graph.output)} outputs;"
            " it must have one input (the samples) and one output (the class scores)"
        )
    got_in = _dims(inputs[0], "input")
    if got_in[1:] != list(spec.input_shape):
        raise SpecMismatch(
            f"the model's input is {_show(got_in)} but the dataset's samples are"
            f" {spec.describe_input()}; export it with an example batch of that shape"
        )
    got_out = _dims(graph.output[0], "output")
    if len(got_out) != 2 or got_out[1] != spec.num_classes:
        raise SpecMismatch(
            f"the model's output is {_show(got_out)} but the dataset has {spec.num_classes}"
            f" classes; its last layer must give [batch, {spec.num_classes}] scores"
        )
    for name, dims in (("input", got_in), ("output", got_out)):
        if dims[0] is not None:
            raise SpecMismatch(
                f"the model's {name} has a fixed batch size of {dims[0]}; export it with a"
                " dynamic batch dimension (see 'Submitting a model' in README.md)"
            )


def _check_header(proto: onnx.ModelProto) -> None:
    if not 3 <= proto.ir_version <= onnx.IR_VERSION:
        raise ModelRejected(f"unsupported ONNX IR version {proto.ir_version}")
    if proto.functions:
        raise ModelRejected(
            "the model defines local functions; inline them (onnx.inliner.inline_local_functions)"
        )
    for opset in proto.opset_import:
        if opset.domain not in DECLARED_DOMAINS:
            raise ModelRejected(f"op domain {opset.domain!r} is not allowed (custom ops)")
    default = [op.version for op in proto.opset_import if op.domain in NODE_DOMAINS]
    newest = onnx.defs.onnx_opset_version()
    if len(default) != 1 or not MIN_OPSET <= default[0] <= newest:
        raise ModelRejected(
            f"the model must import the standard ONNX opset once, version {MIN_OPSET}..{newest}"
        )


def _check_graph(graph: onnx.GraphProto, limits: ModelLimits) -> None:
    if len(graph.node) > limits.max_nodes:
        raise ModelRejected(f"the graph has {len(graph.node):,} nodes, over {limits.max_nodes:,}")
    if graph.sparse_initializer:
        raise ModelRejected("sparse initializers are not allowed")
    for node in graph.node:
        _check_node(node)
    for tensor in itertools.chain(graph.initializer, _attribute_tensors(graph)):
        _check_tensor(tensor, limits)
    for value in itertools.chain(graph.input, graph.output, graph.value_info):
        _check_declared_shape(value, limits)


def _check_node(node: onnx.NodeProto) -> None:
    op = f"{node.domain}::{node.op_type}" if node.domain else node.op_type
    if node.domain not in NODE_DOMAINS:
        raise ModelRejected(f"op {op} uses a non-standard domain (custom ops are not allowed)")
    if not onnx.defs.has(node.op_type, node.domain):
        raise ModelRejected(f"op {op} is not a standard ONNX op (custom ops are not allowed)")
    if node.op_type in NONDETERMINISTIC_OPS:
        raise ModelRejected(f"op {op} is random, so honest miners could disagree")
    attrs = {a.name: a for a in node.attribute}
    if any(a.type in _SUBGRAPH_TYPES for a in attrs.values()):
        raise ModelRejected(f"op {op} has a subgraph; control flow is not allowed")
    if any(a.type in _SPARSE_TYPES for a in attrs.values()):
        raise ModelRejected(
            f"op {op} has a sparse tensor attribute; sparse tensors are not allowed"
        )
    training = "training_mode" in attrs and attrs["training_mode"].i != 0
    if training or (node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]):
        raise ModelRejected(
            f"op {op} runs in training mode, which depends on the batch or on chance"
        )


def _attribute_tensors(graph: onnx.GraphProto) -> Iterator[TensorProto]:
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == AttributeProto.TENSORS:
                yield from attr.tensors


def _check_tensor(tensor: TensorProto, limits: ModelLimits) -> None:
    if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
        where = next((e.value for e in tensor.external_data if e.key == "location"), "?")
        raise ModelRejected(
            f"tensor {tensor.name!r} keeps its data in an external file ({where!r});"
            " a model must be one self-contained file"
        )
    if any(d < 0 for d in tensor.dims) or math.prod(tensor.dims) > limits.max_tensor_elements:
        raise ModelRejected(
            f"tensor {tensor.name!r} has shape {list(tensor.dims)}, over the cap of"
            f" {limits.max_tensor_elements:,} elements"
        )


def _check_declared_shape(value: onnx.ValueInfoProto, limits: ModelLimits) -> None:
    if not value.type.HasField("tensor_type"):
        raise ModelRejected(f"value {value.name!r} is not a tensor")
    dims = [d.dim_value for d in value.type.tensor_type.shape.dim if d.HasField("dim_value")]
    if any(d < 0 for d in dims) or math.prod(dims) > limits.max_tensor_elements:
        raise ModelRejected(
            f"value {value.name!r} declares shape {dims}, over the cap of"
            f" {limits.max_tensor_elements:,} elements"
        )


def _dims(value: onnx.ValueInfoProto, role: str) -> list[int | None]:
    tensor = value.type.tensor_type
    if tensor.elem_type != TensorProto.FLOAT:
        kind = TensorProto.DataType.Name(tensor.elem_type) if tensor.elem_type else "untyped"
        raise SpecMismatch(f"the model's {role} is {kind}; it must be float32")
    if not tensor.HasField("shape"):
        raise SpecMismatch(f"the model's {role} declares no shape")
    return [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]


def _show(dims: list[int | None]) -> str:
    return "[" + ", ".join("batch" if d is None else str(d) for d in dims) + "]"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
