"""`deml bench cost`: seconds per counted operation, for models built to be cheap to count and
costly to run, against the budget of `deml.model.cost`.

The budget is the verdict for the honest range; the sandbox's CPU limit is only a backstop.
That holds only while the costliest mix of ops per counted operation still scores a model at
the budget well inside the backstop, on a slow core. Each probe below is one op (or a zoo
model) repeated so that it dominates the run; it is scored the way the sandbox runs models
(ONNX Runtime, one thread, batches of 64) and timed on this machine. The record keeps every
probe's count and seconds, and the worst case: `budget × the slowest nanoseconds per
operation`, which must stay under the CPU backstop.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from deml.model import cost, inference
from deml.model.spec import ModelSpec
from deml.scoring.sandbox import Limits

SAMPLES = 512
ROUNDS = 3
OPSET = 17
WIDTH = 64  # the probes' input: [batch, 64] (the digits' shape)
CLASSES = 10


def _model(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], last: str) -> bytes:
    """`last` (any shape [batch, ...]) reduced to [batch, 10] class scores."""
    head = [
        helper.make_node("Flatten", [last], ["flat"], axis=1),
        helper.make_node("ReduceSum", ["flat", "one_axis"], ["summed"], keepdims=1),
        helper.make_node("Mul", ["summed", "spread"], ["y"]),
    ]
    inits = [
        *inits,
        numpy_helper.from_array(np.array([1], np.int64), "one_axis"),
        numpy_helper.from_array(np.linspace(-1, 1, CLASSES, dtype=np.float32), "spread"),
    ]
    graph = helper.make_graph(
        nodes + head,
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model.SerializeToString()


def _weights(name: str, *shape: int) -> onnx.TensorProto:
    rng = np.random.default_rng(0)
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.05).astype(np.float32), name)


def _wide(width: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """x [batch, 64] to a bounded [batch, width] tensor `h0` (Sin keeps it in [-1, 1])."""
    nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["pre"]),
        helper.make_node("Sin", ["pre"], ["h0"]),
    ]
    return nodes, [_weights("w_in", WIDTH, width)]


def chain(op: str, repeats: int = 40, width: int = 4096, **attrs: Any) -> bytes:
    """`op` applied `repeats` times to a [batch, width] tensor."""
    nodes, inits = _wide(width)
    for i in range(repeats):
        nodes.append(helper.make_node(op, [f"h{i}"], [f"h{i + 1}"], **attrs))
    return _model(nodes, inits, f"h{repeats}")


def binary_chain(
    op: str, operand: float, repeats: int = 40, width: int = 4096, **attrs: Any
) -> bytes:
    """`h = op(h, operand)`, `repeats` times, on a [batch, width] tensor."""
    nodes, inits = _wide(width)
    inits.append(numpy_helper.from_array(np.float32(operand), "c"))
    nodes.append(helper.make_node("Abs", ["h0"], ["a0"]))
    for i in range(repeats):
        nodes.append(helper.make_node(op, [f"a{i}", "c"], [f"a{i + 1}"], **attrs))
    return _model(nodes, inits, f"a{repeats}")


def tiny_nodes(repeats: int = 5_000) -> bytes:
    """Thousands of nodes that each do almost nothing: the runtime's cost per node."""
    nodes = [helper.make_node("ReduceSum", ["x", "one"], ["t0"], keepdims=1)]
    for i in range(repeats):
        nodes.append(helper.make_node("Neg", [f"t{i}"], [f"t{i + 1}"]))
    one = numpy_helper.from_array(np.array([1], np.int64), "one")
    return _model(nodes, [one], f"t{repeats}")


def matmuls(width: int = 1024, layers: int = 6) -> bytes:
    nodes, inits = _wide(width)
    for i in range(layers):
        inits.append(_weights(f"w{i}", width, width))
        nodes.append(helper.make_node("MatMul", [f"h{i}", f"w{i}"], [f"h{i + 1}"]))
    return _model(nodes, inits, f"h{layers}")


def _image(channels: int, side: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """x [batch, 64] to an image `img` [batch, channels, side, side]."""
    nodes, inits = _wide(channels * side * side)
    inits.append(numpy_helper.from_array(np.array([-1, channels, side, side], np.int64), "hw"))
    nodes.append(helper.make_node("Reshape", ["h0", "hw"], ["img"]))
    return nodes, inits


def convs(channels: int = 32, side: int = 28, layers: int = 4, kernel: int = 3) -> bytes:
    nodes, inits = _image(channels, side)
    previous = "img"
    for i in range(layers):
        inits.append(_weights(f"k{i}", channels, channels, kernel, kernel))
        nodes.append(
            helper.make_node("Conv", [previous, f"k{i}"], [f"c{i}"], pads=[kernel // 2] * 4)
        )
        previous = f"c{i}"
    return _model(nodes, inits, previous)


def depthwise(channels: int = 256, side: int = 28, layers: int = 8) -> bytes:
    """Grouped convolutions, one channel a group: few multiply-adds for the memory touched."""
    nodes, inits = _image(channels, side)
    previous = "img"
    for i in range(layers):
        inits.append(_weights(f"k{i}", channels, 1, 3, 3))
        node = helper.make_node(
            "Conv", [previous, f"k{i}"], [f"c{i}"], pads=[1] * 4, group=channels
        )
        nodes.append(node)
        previous = f"c{i}"
    return _model(nodes, inits, previous)


def conv_transpose(channels: int = 32, side: int = 14) -> bytes:
    nodes, inits = _image(channels, side)
    inits.append(_weights("k", channels, channels, 4, 4))
    nodes.append(helper.make_node("ConvTranspose", ["img", "k"], ["up"], strides=[2, 2]))
    return _model(nodes, inits, "up")


def pools(channels: int = 16, side: int = 28, kernel: int = 7, layers: int = 8) -> bytes:
    nodes, inits = _image(channels, side)
    previous = "img"
    for i in range(layers):
        pad = kernel // 2
        nodes.append(
            helper.make_node(
                "MaxPool", [previous], [f"p{i}"], kernel_shape=[kernel] * 2, pads=[pad] * 4
            )
        )
        previous = f"p{i}"
    return _model(nodes, inits, previous)


def top_k(width: int = 65_536, repeats: int = 4) -> bytes:
    nodes, inits = _wide(width)
    inits.append(numpy_helper.from_array(np.array([width // 2], np.int64), "k"))
    outputs = []
    for i in range(repeats):
        nodes.append(helper.make_node("TopK", ["h0", "k"], [f"v{i}", f"i{i}"], axis=1))
        outputs.append(f"v{i}")
    nodes.append(helper.make_node("Sum", outputs, ["all"]))
    return _model(nodes, inits, "all")


def resize(channels: int = 8, side: int = 16) -> bytes:
    nodes, inits = _image(channels, side)
    inits.append(numpy_helper.from_array(np.array([1, 1, 4, 4], np.float32), "scales"))
    nodes.append(helper.make_node("Resize", ["img", "", "scales"], ["big"], mode="cubic"))
    return _model(nodes, inits, "big")


def lstm(hidden: int = 256, steps: int = 64) -> bytes:
    nodes, inits = _wide(steps * 32)
    inits += [
        numpy_helper.from_array(np.array([-1, steps, 32], np.int64), "seq"),
        numpy_helper.from_array(np.array([1, 0, 2], np.int64), "perm"),
        _weights("W", 1, 4 * hidden, 32),
        _weights("R", 1, 4 * hidden, hidden),
    ]
    nodes += [
        helper.make_node("Reshape", ["h0", "seq"], ["bsi"]),
        helper.make_node("Transpose", ["bsi"], ["sbi"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["sbi", "W", "R"], ["all_h"], hidden_size=hidden),
    ]
    return _model(nodes, inits, "all_h")


def einsum(width: int = 256) -> bytes:
    nodes, inits = _wide(width * 16)
    inits += [
        numpy_helper.from_array(np.array([-1, 16, width], np.int64), "shape"),
        _weights("w", width, width),
    ]
    nodes += [
        helper.make_node("Reshape", ["h0", "shape"], ["bij"]),
        helper.make_node("Einsum", ["bij", "w"], ["bik"], equation="bij,jk->bik"),
    ]
    return _model(nodes, inits, "bik")


def softmax(width: int = 65_536, repeats: int = 8) -> bytes:
    return chain("Softmax", repeats, width, axis=1)


def zoo_cnn() -> bytes:
    """The zoo's torch CNN on the probes' [64] input (an 8x8 image)."""
    from deml.model import export, zoo

    spec = ModelSpec((WIDTH,), CLASSES)
    return export.to_onnx(zoo.build("torch-cnn", spec), spec)


PROBES: dict[str, Callable[[], bytes]] = {
    "zoo torch-cnn (8x8)": zoo_cnn,
    "MatMul 1024x1024 x6": matmuls,
    "Conv 3x3, 32 channels, 28x28 x4": convs,
    "Conv depthwise 3x3, 256 channels x8": depthwise,
    "ConvTranspose 4x4 stride 2": conv_transpose,
    "MaxPool 7x7 x8": pools,
    "Sin x40": lambda: chain("Sin"),
    "Sinh x40": lambda: chain("Sinh"),
    "Atanh x40": lambda: chain("Atanh"),
    "Softplus x40": lambda: chain("Softplus"),
    "Tan x40": lambda: chain("Tan"),
    "Shrink x40": lambda: chain("Shrink"),
    "Sign x40": lambda: chain("Sign"),
    "Mod (fmod) x40": lambda: binary_chain("Mod", 1.7, fmod=1),
    "Tanh x40": lambda: chain("Tanh"),
    "Erf x40": lambda: chain("Erf"),
    "Sigmoid x40": lambda: chain("Sigmoid"),
    "Exp x40": lambda: chain("Exp"),
    "Pow x40": lambda: binary_chain("Pow", 0.999),
    "Div x40": lambda: binary_chain("Div", 1.001),
    "Neg x40": lambda: chain("Neg"),
    "Softmax over 65,536 x8": softmax,
    "TopK half of 65,536 x4": top_k,
    "Resize cubic x4": resize,
    "LSTM 256 hidden, 64 steps": lstm,
    "Einsum bij,jk->bik": einsum,
    "5,000 tiny nodes": tiny_nodes,
}


def measure(name: str, model: bytes, x: np.ndarray, rounds: int) -> dict[str, Any]:
    """One probe scored as the sandbox scores it, without the sandbox's own fixed cost."""
    proto = onnx.load_from_string(model)
    operations = cost.scoring_operations(proto, len(x), inference.BATCH_SIZE)
    session = inference.open_session(model)
    inference.predict(session, x[: inference.BATCH_SIZE], CLASSES)  # first-run allocations
    times = []
    for _ in range(rounds):
        start = time.process_time()
        inference.predict(session, x, CLASSES)
        times.append(time.process_time() - start)
    seconds = statistics.median(times)
    return {
        "name": name,
        "operations": operations,
        "cpu_s": round(seconds, 4),
        "ns_per_operation": round(1e9 * seconds / operations, 4),
    }


def run(samples: int = SAMPLES, rounds: int = ROUNDS, progress=print) -> dict[str, Any]:
    x = np.random.default_rng(0).standard_normal((samples, WIDTH)).astype(np.float32)
    probes = []
    for name, build in PROBES.items():
        progress(name)
        probes.append(measure(name, build(), x, rounds))
    worst = max(probes, key=lambda p: p["ns_per_operation"])
    budget_s = cost.MAX_SCORING_OPERATIONS * worst["ns_per_operation"] / 1e9
    return {
        "samples": samples,
        "budget_operations": cost.MAX_SCORING_OPERATIONS,
        "node_operations": cost.NODE_OPERATIONS,
        "cpu_backstop_s": Limits().cpu_seconds,
        "worst_probe": worst["name"],
        "budget_at_worst_s": round(budget_s, 1),
        "probes": probes,
    }


def write(record: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
