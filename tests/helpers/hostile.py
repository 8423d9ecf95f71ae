"""ONNX models built by hand: a tiny honest classifier, and variants an attacker would send."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from deml.model import codec

INPUT = 64
CLASSES = 10
OPSET = 17


def classifier(
    *,
    nodes: list[onnx.NodeProto] | None = None,
    initializers: list[onnx.TensorProto] | None = None,
    extra: str | None = None,
    input_dims: list[int | str] | None = None,
    output_dims: list[int | str] | None = None,
    opsets: dict[str, int] | None = None,
) -> onnx.ModelProto:
    """`y = x @ w` for x [batch, 64] and 10 classes, plus `0 * extra` when `extra` is computed.

    Hostile variants hang their payload (a huge tensor, a slow loop of matmuls) on `extra`, so
    the graph still has exactly the input and output a miner expects.
    """
    weights = np.random.default_rng(0).standard_normal((INPUT, CLASSES)).astype(np.float32)
    graph_nodes = [helper.make_node("MatMul", ["x", "w"], ["logits" if extra else "y"])]
    if extra:
        graph_nodes += [
            helper.make_node("ReduceSum", [extra], ["extra_sum"], keepdims=0),
            helper.make_node("Mul", ["extra_sum", "zero"], ["nothing"]),
            helper.make_node("Add", ["logits", "nothing"], ["y"]),
        ]
    inits = [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.float32(0), "zero")]
    graph = helper.make_graph(
        (nodes or []) + graph_nodes,
        "classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_dims or ["batch", INPUT])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_dims or ["batch", CLASSES])],
        inits + (initializers or []),
    )
    imports = [helper.make_opsetid(domain, v) for domain, v in (opsets or {"": OPSET}).items()]
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = 8
    return model


def payload(model: onnx.ModelProto, compressor: str = "zlib") -> bytes:
    """The model packed as-is (no checks: hostile models must reach the miner)."""
    return codec.encode(model.SerializeToString(), codec.Codec("", compressor))


def square(side: int) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Nodes computing `square`, an all-ones [side, side] float tensor. Its size is computed
    from the batch size (times 0, plus `side`), so no static check or constant folding sees it."""
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Gather", ["x_shape", "index0"], ["batch"], axis=0),
        helper.make_node("Mul", ["batch", "index0"], ["none"]),
        helper.make_node("Add", ["none", "side"], ["n"]),
        helper.make_node("Concat", ["n", "n"], ["square_shape"], axis=0),
        helper.make_node(
            "ConstantOfShape",
            ["square_shape"],
            ["square"],
            value=numpy_helper.from_array(np.ones(1, np.float32)),
        ),
    ]
    inits = [
        numpy_helper.from_array(np.array([0], np.int64), "index0"),
        numpy_helper.from_array(np.array([side], np.int64), "side"),
    ]
    return nodes, inits


def huge_tensor(side: int = 1 << 17) -> onnx.ModelProto:
    """Allocates a [side, side] float tensor at run time: 64 GiB by default."""
    nodes, inits = square(side)
    return classifier(nodes=nodes, initializers=inits, extra="square")


def slow(matmuls: int = 200) -> onnx.ModelProto:
    """Multiplies [1024, 1024] matrices `matmuls` times per batch: minutes of CPU."""
    nodes, inits = square(1024)
    previous = "square"
    for i in range(matmuls):
        nodes.append(helper.make_node("MatMul", [previous, "square"], [f"m{i}"]))
        previous = f"m{i}"
    return classifier(nodes=nodes, initializers=inits, extra=previous)


def external_data() -> onnx.ModelProto:
    """A weight whose bytes are to be read from ../../etc/passwd."""
    model = classifier()
    weight = model.graph.initializer[0]
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "2560")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    return model


def custom_domain() -> onnx.ModelProto:
    """An op from a domain only a custom kernel library would serve."""
    node = helper.make_node("Exploit", ["x"], ["evil"], domain="com.attacker")
    return classifier(nodes=[node], extra="evil", opsets={"": OPSET, "com.attacker": 1})


def unknown_standard_op() -> onnx.ModelProto:
    """An op that claims the standard domain but is not an ONNX op."""
    return classifier(nodes=[helper.make_node("Exploit", ["x"], ["evil"])], extra="evil")


def local_function() -> onnx.ModelProto:
    """A model-local function (its own domain) called from the graph."""
    model = classifier(
        nodes=[helper.make_node("Twice", ["x"], ["evil"], domain="local")],
        extra="evil",
        opsets={"": OPSET, "local": 1},
    )
    body = [helper.make_node("Add", ["a", "a"], ["b"])]
    model.functions.append(
        helper.make_function("local", "Twice", ["a"], ["b"], body, [helper.make_opsetid("", OPSET)])
    )
    return model


def control_flow() -> onnx.ModelProto:
    """An If node: subgraphs escape the checks made on the main graph."""
    branch = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["out"])],
        "branch",
        [],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )
    cond = numpy_helper.from_array(np.array(True), "cond")
    node = helper.make_node("If", ["cond"], ["evil"], then_branch=branch, else_branch=branch)
    return classifier(nodes=[node], initializers=[cond], extra="evil")


def random_op() -> onnx.ModelProto:
    """Random numbers: two honest miners would get different scores."""
    node = helper.make_node("RandomNormalLike", ["x"], ["evil"])
    return classifier(nodes=[node], extra="evil")


def huge_initializer() -> onnx.ModelProto:
    """A tensor declaring 2^40 elements (and carrying none)."""
    tensor = TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])
    return classifier(initializers=[tensor])


def huge_declared_shape() -> onnx.ModelProto:
    """An intermediate value declared as [2^31, 2^31]."""
    model = classifier()
    model.graph.value_info.append(
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 31, 1 << 31])
    )
    return model


def ml_domain_op() -> onnx.ModelProto:
    """A classical-ML op (ai.onnx.ml): declared domains are fine, running its ops is not."""
    node = helper.make_node("Normalizer", ["x"], ["evil"], domain="ai.onnx.ml", norm="L2")
    return classifier(nodes=[node], extra="evil", opsets={"": OPSET, "ai.onnx.ml": 3})


def gelu_tie() -> onnx.ModelProto:
    """Two classes for x [batch, 2]: `gelu(x0)` by its textbook formula (the pattern ONNX
    Runtime's EXTENDED level fuses into its own Gelu kernel) against `x1`. With x1 set to the
    formula's own float32 value, the class is decided by rounding alone: 0 (a tie, argmax picks
    the first) wherever the formula is computed as written."""
    const = {"half": 0.5, "one": 1.0, "root2": 1.4142135}
    nodes = [
        helper.make_node("Gather", ["x", "i0"], ["a"], axis=1),
        helper.make_node("Gather", ["x", "i1"], ["b"], axis=1),
        helper.make_node("Div", ["a", "root2"], ["scaled"]),
        helper.make_node("Erf", ["scaled"], ["erf"]),
        helper.make_node("Add", ["erf", "one"], ["erf1"]),
        helper.make_node("Mul", ["a", "erf1"], ["twice"]),
        helper.make_node("Mul", ["twice", "half"], ["gelu"]),
        helper.make_node("Concat", ["gelu", "b"], ["y"], axis=1),
    ]
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in const.items()]
    inits += [numpy_helper.from_array(np.array([i], np.int64), f"i{i}") for i in (0, 1)]
    graph = helper.make_graph(
        nodes,
        "gelu_tie",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def wrong_output() -> onnx.ModelProto:
    """Declares [batch, 10] but reshapes its scores to [2 * batch, 5] at run time, by a shape
    computed from its data (half the class count), where no static check sees it."""
    model = classifier()
    model.graph.node[0].output[0] = "full"
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([1], np.int64), "one"),
            numpy_helper.from_array(np.array([2], np.int64), "two"),
            numpy_helper.from_array(np.array([-1], np.int64), "minus_one"),
        ]
    )
    model.graph.node.extend(
        [
            helper.make_node("Shape", ["full"], ["dims"]),
            helper.make_node("Gather", ["dims", "one"], ["classes"], axis=0),
            helper.make_node("Div", ["classes", "two"], ["half"]),
            helper.make_node("Concat", ["minus_one", "half"], ["shape"], axis=0),
            helper.make_node("Reshape", ["full", "shape"], ["y"]),
        ]
    )
    return model
