"""A model's cost, counted from its graph before it runs: the same verdict on every machine.

A time limit's verdict depends on the machine: a model whose run sits near the limit scores 0
on a slow miner and full marks on a fast one (issue 14). So the honest range is bounded by
what the graph says it computes instead. ONNX shape inference, at the batch sizes the scorer
runs (`inference.BATCH_SIZE`, then what is left), gives every tensor's shape; each operator's
count follows from its shapes by the table below; the sum over the test split must stay under
`MAX_SCORING_OPERATIONS`. A model over it is refused, with its count, on every machine. The
sandbox's time limits stay as a backstop only, far above what the budget allows on a slow
core (bench/results/cost.json), and a model out of time is run again before it scores 0.

What one "operation" is, roughly one multiply-add in a matrix product:
- every node pays `NODE_OPERATIONS` per run (the runtime's own work to launch it), and for
  each element it reads or writes, 1 to 32 by what an element of that op costs;
- contractions pay their multiply-adds: MatMul, Gemm, Conv, ConvTranspose, Einsum, the RNNs,
  and the pooling windows.
An op with no rule here is refused: its cost cannot be bounded from its shapes (DFT, NMS,
string ops). So is a tensor whose shape depends on the data (NonZero, a Reshape to computed
values): what it costs would be known only by running it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import onnx
from onnx import helper

from deml.exceptions import ModelRejected

# NOTE: part of the protocol: every miner must refuse the same models. At the budget, the op
# that costs the most CPU per counted operation (bench/results/cost.json) takes about 10 s on
# this project's machine: a core three times slower still finishes inside the 60 s backstop.
MAX_SCORING_OPERATIONS = 20_000_000_000
NODE_OPERATIONS = 2_000

Shape = tuple[int, ...]
_SHAPE_VALUES = 64


def _weigh(weight: int, names: str) -> dict[str, int]:
    return dict.fromkeys(names.split(), weight)


# Operations per element read or written, by what an element costs ONNX Runtime: one pass
# over memory (1), a vectorized exponential, logarithm, power or division (8), or a function
# it computes one element at a time with the C library (32). Measured: `deml bench cost`.
_PER_ELEMENT = {
    **_weigh(
        1,
        """Abs Add And ArgMax ArgMin BatchNormalization BitShift BitwiseAnd BitwiseNot BitwiseOr
        BitwiseXor Cast CastLike Ceil Clip Concat Constant ConstantOfShape CumProd CumSum
        DepthToSpace DequantizeLinear Div Dropout DynamicQuantizeLinear Equal Expand EyeLike
        Flatten Floor Gather GatherElements GatherND GlobalAveragePool GlobalMaxPool Greater
        GreaterOrEqual HardSigmoid HardSwish Hardmax Identity InstanceNormalization IsInf IsNaN
        LeakyRelu Less LessOrEqual Max Mean MeanVarianceNormalization Min Mul Neg Not OneHot Or
        PRelu Pad QuantizeLinear Range Reciprocal ReduceL1 ReduceMax ReduceMean ReduceMin
        ReduceProd ReduceSum ReduceSumSquare Relu Reshape ReverseSequence Round ScatterElements
        ScatterND Shape Sign Size Slice SpaceToDepth Split Sqrt Squeeze Sub Sum ThresholdedRelu
        Tile Transpose Trilu Unsqueeze Where Xor""",
    ),
    **_weigh(
        8,
        """Acos Asin Atan Celu Cos Elu Erf Exp GlobalLpPool GroupNormalization LayerNormalization
        Log LogSoftmax LpNormalization Mod Pow RMSNormalization ReduceL2 ReduceLogSum
        ReduceLogSumExp Selu Shrink Sigmoid Sin Softmax Softsign Tanh""",
    ),
    **_weigh(32, "Acosh Asinh Atanh Cosh Sinh Softplus Tan"),
}


def scoring_operations(model: onnx.ModelProto, samples: int, batch_size: int) -> int:
    """The operations to score `samples` samples in batches of `batch_size`, as the scorer runs
    them: every full batch, then the rest. `ModelRejected` when the count cannot be known."""
    if samples < 0 or batch_size < 1:
        raise ValueError("samples must be >= 0 and batch_size >= 1")
    skeleton = _skeleton(model)
    full, rest = divmod(samples, batch_size)
    total = full * _operations(model, skeleton, batch_size) if full else 0
    return total + (_operations(model, skeleton, rest) if rest else 0)


def check(
    model: onnx.ModelProto, samples: int, batch_size: int, budget: int = MAX_SCORING_OPERATIONS
) -> int:
    """The count for scoring `samples` samples; `ModelRejected` when it is over `budget`."""
    count = scoring_operations(model, samples, batch_size)
    if count > budget:
        raise ModelRejected(
            f"scoring {samples:,} samples takes {count:,} operations, over the budget of"
            f" {budget:,} ({budget // max(samples, 1):,} a sample for this test split);"
            " submit a smaller model"
        )
    return count


def operations(model: onnx.ModelProto, batch: int) -> int:
    """The operations of one run of a checked model on a batch of `batch` samples."""
    return _operations(model, _skeleton(model), batch)


def _operations(model: onnx.ModelProto, skeleton: onnx.ModelProto, batch: int) -> int:
    shapes = _shapes(model, skeleton, batch)
    return sum(_node(node, shapes) for node in model.graph.node)


def _shapes(model: onnx.ModelProto, skeleton: onnx.ModelProto, batch: int) -> dict[str, Shape]:
    """Every tensor's shape when the model runs on `batch` samples, by ONNX shape inference."""
    # The skeleton's first input is the samples': its batch dimension is set to `batch`.
    first = skeleton.graph.input[0].type.tensor_type.shape.dim[0]
    first.Clear()
    first.dim_value = batch
    try:
        inferred = onnx.shape_inference.infer_shapes(
            skeleton, check_type=True, strict_mode=True, data_prop=True
        )
    except Exception as exc:  # whatever the C++ inference throws, the verdict is the same
        raise ModelRejected(f"shape inference failed: {_first_line(exc)}") from exc
    shapes: dict[str, Shape] = {}
    values = [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]
    for value in values:
        dims = value.type.tensor_type.shape.dim
        if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    # A weight's shape is its own dims, whatever an input entry of the same name declares.
    shapes |= {t.name: tuple(t.dims) for t in model.graph.initializer}
    return shapes


def _skeleton(model: onnx.ModelProto) -> onnx.ModelProto:
    """The graph to infer shapes on: the samples' input first, and the weights' values left
    out (inference would copy them four times over), each kept as an input of its type and
    shape. Small tensors keep their values: they are the shapes, axes, indices and scales that
    other shapes follow from. The shapes the model declares for its intermediate values are
    left out too: they are the sender's claims, and inference could take one for a fact where
    it cannot infer its own."""
    skeleton = onnx.ModelProto()
    skeleton.ir_version = max(model.ir_version, 4)  # IR 4+: initializers need not be inputs
    skeleton.opset_import.extend(model.opset_import)
    graph = skeleton.graph
    graph.node.extend(model.graph.node)
    graph.output.extend(model.graph.output)
    weights = {t.name for t in model.graph.initializer}
    samples = [value for value in model.graph.input if value.name not in weights]
    if len(samples) != 1 or not samples[0].type.tensor_type.shape.dim:
        raise ModelRejected("the model needs one input of samples, with a batch dimension")
    graph.input.append(samples[0])
    for tensor in model.graph.initializer:
        if math.prod(tensor.dims) <= _SHAPE_VALUES:
            graph.initializer.append(tensor)
        else:
            graph.input.append(
                helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
            )
    return skeleton


def _node(node: onnx.NodeProto, shapes: dict[str, Shape]) -> int:
    ins = [_shape(name, node, shapes) for name in node.input if name]
    outs = [_shape(name, node, shapes) for name in node.output if name]
    touched = sum(map(math.prod, ins)) + sum(map(math.prod, outs))
    op = node.op_type
    weight = _PER_ELEMENT.get(op)
    if weight is not None:
        return NODE_OPERATIONS + weight * touched
    rule = _CONTRACTIONS.get(op)
    if rule is None:
        raise ModelRejected(
            f"op {op} has no operation count (deml/model/cost.py), so what it would cost"
            " cannot be known before it runs"
        )
    return NODE_OPERATIONS + touched + rule(ins, outs, node)


def _shape(name: str, node: onnx.NodeProto, shapes: dict[str, Shape]) -> Shape:
    shape = shapes.get(name)
    if shape is None:
        raise ModelRejected(
            f"the shape of {name!r} ({node.op_type} node {node.name!r}) depends on the data,"
            " so what the model costs cannot be known before it runs; export it with"
            " shapes fixed by the input's"
        )
    return shape


def _matmul(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    return math.prod(outs[0]) * (ins[0][-1] if ins[0] else 1)


def _gemm(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    a = ins[0]
    return math.prod(outs[0]) * (a[0] if _attribute(node, "transA", 0) else a[-1])


def _conv(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    # Each output element: (input channels / group) x kernel multiply-adds.
    return math.prod(outs[0]) * math.prod(ins[1][1:])


def _conv_transpose(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    # Each input element spreads over (output channels / group) x kernel outputs.
    return math.prod(ins[0]) * math.prod(ins[1][1:])


def _quantized_conv(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    return math.prod(outs[0]) * math.prod(ins[3][1:])  # QLinearConv: w is input 3


def _pool(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    return math.prod(outs[0]) * math.prod(_attribute(node, "kernel_shape", [1]))


def _lrn(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    return math.prod(outs[0]) * int(_attribute(node, "size", 1))


def _recurrent(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    # Each step, for each sample: every input and recurrent weight once (all gates, both
    # directions): X is [steps, batch, ...] or [batch, steps, ...], W and R hold the weights.
    x, w, r = ins[0], ins[1], ins[2]
    return math.prod(x[:2]) * (math.prod(w) + math.prod(r))


def _top_k(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    axis = int(_attribute(node, "axis", -1))
    length = ins[0][axis] if ins[0] else 1
    return 2 * math.prod(ins[0]) * max(1, length.bit_length())  # a partial sort


def _resize(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    # Cubic interpolation reads 4 points per resized axis; every axis may be resized.
    return math.prod(outs[0]) * 4 ** len(outs[0])


def _einsum(ins: Sequence[Shape], outs: Sequence[Shape], node: onnx.NodeProto) -> int:
    """A naive einsum's multiply-adds: the product of every index's size, once each."""
    equation = _attribute(node, "equation", b"").decode(errors="replace").replace(" ", "")
    terms = equation.split("->")[0].split(",")
    if len(terms) != len(ins):
        raise ModelRejected(f"Einsum equation {equation!r} does not match its inputs")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, ins, strict=True):
        before, ellipsis, after = term.partition("...")
        extra = len(shape) - len(before) - len(after)
        if extra < 0 or (extra and not ellipsis):
            raise ModelRejected(f"Einsum equation {equation!r} does not match its inputs")
        # The dims an ellipsis stands for are indices too, named by their place from the right
        # (they broadcast that way).
        named = [*before, *(f"...{extra - i}" for i in range(extra)), *after]
        for index, size in zip(named, shape, strict=True):
            sizes[index] = max(sizes.get(index, 1), size)
    return math.prod(sizes.values())


_Rule = Callable[[Sequence[Shape], Sequence[Shape], onnx.NodeProto], int]
_CONTRACTIONS: dict[str, _Rule] = {
    "MatMul": _matmul,
    "MatMulInteger": _matmul,
    "QLinearMatMul": _matmul,  # A is input 0 here too
    "Gemm": _gemm,
    "Conv": _conv,
    "ConvInteger": _conv,
    "QLinearConv": _quantized_conv,
    "ConvTranspose": _conv_transpose,
    "AveragePool": _pool,
    "MaxPool": _pool,
    "LpPool": lambda ins, outs, node: 8 * _pool(ins, outs, node),  # a power per element
    "LRN": _lrn,
    "RNN": _recurrent,
    "GRU": _recurrent,
    "LSTM": _recurrent,
    "TopK": _top_k,
    "Resize": _resize,
    "Upsample": _resize,
    "Einsum": _einsum,
}


def _attribute(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
