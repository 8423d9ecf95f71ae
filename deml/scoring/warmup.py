"""Models of our own that the scoring fork server and its spare children run before any job.

A fresh process pays for its first use of every code path: ONNX Runtime building the kernels
of an op at an opset version, pages of code mapped in, pages of memory copied on first write.
Paid on our models, ahead of time, a submission that uses the same paths runs as fast as in a
long-lived process. The two models follow what DeML's exporters produce (see `deml.model.export`):
torch's exporter at opset 20 (Gemm, Reshape with allowzero) and tf2onnx at opset 15 (MatMul
and Add, and the Shape/Gather/Slice/Concat chain it writes before a Flatten), each with a small
CNN and a dense head, and weights quantized the way `deml.model.transform` writes them.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from deml.model import codec, inference
from deml.model.spec import ModelSpec

SPEC = ModelSpec((64,), 10)
_X = np.zeros((inference.BATCH_SIZE, 64), np.float32)
_RNG = np.random.default_rng(0)


class _Graph:
    """A graph under construction: nodes, initializers, fresh names."""

    def __init__(self) -> None:
        self.nodes: list[object] = []
        self.tensors: dict[str, np.ndarray] = {}

    def const(self, name: str, value: np.ndarray) -> str:
        self.tensors[name] = value
        return name

    def quantized(self, name: str, shape: tuple[int, ...]) -> str:
        """A float weight stored as int8 levels times a per-row scale (Cast, Mul)."""
        levels = self.const(f"{name}_q", _RNG.integers(-7, 8, shape).astype(np.int8))
        scale = self.const(f"{name}_s", np.full((shape[0],) + (1,) * (len(shape) - 1), 0.05, "f4"))
        self.op("Cast", [levels], f"{name}_f", to=TensorProto.FLOAT)
        return self.op("Mul", [f"{name}_f", scale], name)

    def op(self, op_type: str, inputs: list[str], output: str, **attrs: object) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attrs))
        return output

    def conv_block(self, x: str, name: str, c_in: int, c_out: int) -> str:
        w = self.quantized(f"{name}_w", (c_out, c_in, 3, 3))
        b = self.const(f"{name}_b", np.zeros(c_out, np.float32))
        conv = self.op("Conv", [x, w, b], f"{name}_conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3])
        relu = self.op("Relu", [conv], f"{name}_relu")
        return self.op("MaxPool", [relu], f"{name}_pool", kernel_shape=[2, 2], strides=[2, 2])

    def payload(self, output: str, opset: int) -> bytes:
        graph = helper.make_graph(
            self.nodes,  # type: ignore[arg-type]
            "warm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", 10])],
            [numpy_helper.from_array(value, name) for name, value in self.tensors.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return codec.encode(model.SerializeToString(), codec.Codec("int4", "lzma"))


def _torch_style() -> bytes:
    g = _Graph()
    in_shape = g.const("in_shape", np.array([-1, 1, 8, 8]))
    image = g.op("Reshape", ["x", in_shape], "image", allowzero=1)
    pooled = g.conv_block(g.conv_block(image, "c1", 1, 4), "c2", 4, 8)
    flat_shape = g.const("flat_shape", np.array([-1, 32]))
    flat = g.op("Reshape", [pooled, flat_shape], "flat", allowzero=1)
    w1, b1 = g.quantized("d1_w", (16, 32)), g.const("d1_b", np.zeros(16, np.float32))
    hidden = g.op("Relu", [g.op("Gemm", [flat, w1, b1], "d1", transB=1)], "d1_relu")
    w2, b2 = g.quantized("d2_w", (10, 16)), g.const("d2_b", np.zeros(10, np.float32))
    return g.payload(g.op("Gemm", [hidden, w2, b2], "y", transB=1), opset=20)


def _keras_style() -> bytes:
    g = _Graph()
    image = g.op("Reshape", ["x", g.const("in_shape", np.array([-1, 1, 8, 8]))], "image")
    pooled = g.conv_block(g.conv_block(image, "c1", 1, 4), "c2", 4, 8)
    nhwc = g.op("Transpose", [pooled], "nhwc", perm=[0, 2, 3, 1])
    # tf2onnx's Flatten: the batch dimension read from the tensor, then -1.
    dims = g.op("Shape", [pooled], "dims")
    batch = g.op("Gather", [dims, g.const("zero", np.array([0]))], "batch")
    batch32 = g.op("Cast", [batch], "batch32", to=TensorProto.INT32)
    one, two = g.const("one", np.array([0])), g.const("two", np.array([1]))
    sliced = g.op("Slice", [batch32, one, two, one], "sliced")
    shape = g.op("Concat", [sliced, g.const("rest", np.array([-1], np.int32))], "shape32", axis=0)
    shape64 = g.op("Cast", [shape], "shape64", to=TensorProto.INT64)
    flat = g.op("Reshape", [nhwc, shape64], "flat")
    w1, b1 = g.quantized("d1_w", (32, 16)), g.const("d1_b", np.zeros(16, np.float32))
    hidden = g.op("Relu", [g.op("Add", [g.op("MatMul", [flat, w1], "m1"), b1], "a1")], "r1")
    w2, b2 = g.quantized("d2_w", (16, 10)), g.const("d2_b", np.zeros(10, np.float32))
    return g.payload(g.op("Add", [g.op("MatMul", [hidden, w2], "m2"), b2], "y"), opset=15)


PAYLOADS = (_torch_style(), _keras_style())


def run() -> None:
    """Score each warm-up model once (on zeros): the paths most submissions take, paid for."""
    for payload in PAYLOADS:
        inference.evaluate(payload, _X, SPEC)
