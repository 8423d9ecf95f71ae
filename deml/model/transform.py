"""ONNX-to-ONNX rewrites applied before compression: slimming, float16 and intN weights.

Every rewrite keeps the graph's float32 input and output, so miners score any of them the same
way. Only `dyn8` (ONNX Runtime's dynamic quantization) makes a sample's prediction depend on the
other samples in its batch; the rest compute each sample alone.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from deml.exceptions import TransformError

FLOAT16_MAX = 65504.0
# Below this many elements a tensor is cheaper to keep as float32 than to describe its scales.
MIN_QUANTIZED_ELEMENTS = 16
_BITS = {"int8": 8, "int6": 6, "int4": 4}


def apply(model: bytes, transform: str) -> bytes:
    """`model` rewritten by `transform` (`""` returns it unchanged, byte for byte)."""
    if transform == "":
        return model
    proto = onnx.load_from_string(model)
    if _has_subgraphs(proto.graph):
        raise TransformError("models with control flow (If/Loop/Scan) cannot be transformed")
    if transform == "dyn8":
        proto = _dynamic_int8(proto)
    proto = slim(proto)
    if transform == "fp16":
        proto = to_float16(proto)
    elif transform in _BITS:
        proto = quantize_weights(proto, _BITS[transform])
    elif transform not in ("slim", "dyn8"):
        raise TransformError(f"unknown transform {transform!r}")
    return proto.SerializeToString()


def slim(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy without names, docs, metadata or intermediate shapes; outputs are unchanged."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for field in ("doc_string", "producer_name", "producer_version", "domain", "model_version"):
        out.ClearField(field)
    del out.metadata_props[:]
    graph = out.graph
    graph.name = "g"
    graph.ClearField("doc_string")
    del graph.value_info[:]
    _clear_metadata(graph)
    names = _short_names(graph)
    for value in itertools.chain(graph.input, graph.output):
        value.name = names[value.name]
        value.ClearField("doc_string")
        _clear_metadata(value)
    for tensor in graph.initializer:
        tensor.name = names[tensor.name]
        tensor.ClearField("doc_string")
    for sparse in graph.sparse_initializer:
        sparse.values.name = names[sparse.values.name]
    for node in graph.node:
        node.ClearField("name")
        node.ClearField("doc_string")
        _clear_metadata(node)
        node.input[:] = [names[n] if n else n for n in node.input]
        node.output[:] = [names[n] if n else n for n in node.output]
    used = {node.domain for node in graph.node} | {""}
    kept = [op for op in out.opset_import if op.domain in used]
    del out.opset_import[:]
    out.opset_import.extend(kept)
    return out


def to_float16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Float32 weights stored as float16, cast back to float32 when the model loads."""
    casts = []
    fresh = _fresh_names(model.graph)
    inputs = {value.name for value in model.graph.input}
    for index, tensor in enumerate(model.graph.initializer):
        if tensor.data_type != TensorProto.FLOAT or tensor.name in inputs:
            continue
        weights = numpy_helper.to_array(tensor)
        # Values float16 cannot hold would turn into inf; keep such tensors exact.
        if weights.size < 2 or not np.all(np.abs(weights) <= FLOAT16_MAX):
            continue
        half = numpy_helper.from_array(weights.astype(np.float16), next(fresh))
        casts.append(helper.make_node("Cast", [half.name], [tensor.name], to=TensorProto.FLOAT))
        model.graph.initializer[index].CopyFrom(half)
    _prepend_nodes(model.graph, casts)
    return model


def quantize_weights(model: onnx.ModelProto, bits: int) -> onnx.ModelProto:
    """Float32 weights as symmetric `bits`-bit integers (int8 storage) with per-channel scales.

    `Cast` and `Mul` restore each weight to float32. ONNX Runtime folds those constants when it
    loads the model, so it runs the very kernels of a float32 model: each sample's prediction
    stays independent of its batch. (DequantizeLinear would not be folded, and its matmuls
    round differently for a batch of one than for a full batch.)
    """
    levels = (1 << (bits - 1)) - 1
    axes = _output_channel_axes(model.graph)
    fresh = _fresh_names(model.graph)
    inputs = {value.name for value in model.graph.input}
    restore, kept, added = [], [], []
    for tensor in model.graph.initializer:
        # An initializer that is also a graph input may be overridden at run time: keep it.
        floats = tensor.data_type == TensorProto.FLOAT and tensor.name not in inputs
        weights = numpy_helper.to_array(tensor) if floats else None
        if weights is None or weights.size < MIN_QUANTIZED_ELEMENTS or weights.ndim < 2:
            kept.append(tensor)
            continue
        axis = axes.get(tensor.name)
        axis = None if axis is None else axis % weights.ndim
        scale = _scales(weights, axis, levels)
        quantized = np.clip(np.rint(weights / scale), -levels, levels).astype(np.int8)
        q_name, f_name, s_name = next(fresh), next(fresh), next(fresh)
        added.append(numpy_helper.from_array(quantized, q_name))
        added.append(numpy_helper.from_array(scale, s_name))
        restore += [
            helper.make_node("Cast", [q_name], [f_name], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f_name, s_name], [tensor.name]),
        ]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept + added)
    _prepend_nodes(model.graph, restore)
    return model


def _scales(weights: np.ndarray, axis: int | None, levels: int) -> np.ndarray:
    """Scales shaped to broadcast against `weights`: one per output channel, or one in all."""
    if axis is None:
        peak = np.abs(weights).max(keepdims=True)
    else:
        other = tuple(d for d in range(weights.ndim) if d != axis)
        peak = np.abs(weights).max(axis=other, keepdims=True)
    scale = (peak / levels).astype(np.float32)
    # An all-zero channel still needs a positive scale; its weights quantize to 0 either way.
    return np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)


def _output_channel_axes(graph: onnx.GraphProto) -> dict[str, int | None]:
    """For each weight, the axis of its output channels, or None when consumers disagree."""
    axes: dict[str, int | None] = {}
    for node in graph.node:
        for position, name in enumerate(node.input):
            axis = _weight_axis(node, position)
            if name in axes and axes[name] != axis:
                axes[name] = None
            else:
                axes.setdefault(name, axis)
    return axes


def _weight_axis(node: onnx.NodeProto, position: int) -> int | None:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if position != 1:
        return None
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    if node.op_type == "Gemm":
        return 0 if attrs.get("transB", 0) else 1
    if node.op_type == "MatMul":
        return -1
    return None


def _dynamic_int8(model: onnx.ModelProto) -> onnx.ModelProto:
    # Imported here: onnxruntime.quantization pulls in much more than scoring needs.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="deml-dyn8-") as tmp:
        src, dst = Path(tmp, "in.onnx"), Path(tmp, "out.onnx")
        onnx.save(model, src)
        # NOTE: it logs a "consider pre-processing" warning on the root logger for every model.
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return onnx.load(dst)


def _short_names(graph: onnx.GraphProto) -> dict[str, str]:
    names: dict[str, str] = {}
    order = itertools.chain(
        (v.name for v in graph.input),
        (v.name for v in graph.output),
        (t.name for t in graph.initializer),
        (s.values.name for s in graph.sparse_initializer),
        (n for node in graph.node for n in itertools.chain(node.input, node.output)),
    )
    for name in order:
        if name and name not in names:
            names[name] = _base36(len(names))
    return names


def _fresh_names(graph: onnx.GraphProto) -> Iterator[str]:
    taken = {v.name for v in itertools.chain(graph.input, graph.output)}
    taken |= {t.name for t in graph.initializer}
    taken |= {n for node in graph.node for n in itertools.chain(node.input, node.output)}
    for i in itertools.count(len(taken)):
        if _base36(i) not in taken:
            yield _base36(i)


def _base36(i: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = digits[i % 36]
    while i >= 36:
        i //= 36
        out = digits[i % 36] + out
    return out


def _prepend_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    existing = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + existing)


def _has_subgraphs(graph: onnx.GraphProto) -> bool:
    graph_types = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
    return any(a.type in graph_types for node in graph.node for a in node.attribute)


def _clear_metadata(message: object) -> None:
    # metadata_props on graphs, nodes and values arrived in IR version 10.
    props = getattr(message, "metadata_props", None)
    if props is not None:
        del props[:]
