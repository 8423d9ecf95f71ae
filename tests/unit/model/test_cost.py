"""The operation count: from the graph alone, at the scorer's own batch sizes, refusing what it
cannot bound (issue 14: a time limit's verdict depended on the miner's speed)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deml.exceptions import ModelRejected
from deml.model import cost, payload
from deml.model.inference import BATCH_SIZE
from deml.model.spec import ModelSpec
from tests.helpers import hostile

SPEC = ModelSpec((hostile.INPUT,), hostile.CLASSES)


def matmul_count(batch: int) -> int:
    """The classifier's one MatMul, by the rule: launch, elements read and written, and one
    multiply-add per output element per input feature."""
    x, w, y = batch * 64, 64 * 10, batch * 10
    return cost.NODE_OPERATIONS + x + w + y + y * 64


def test_a_matmul_costs_its_multiply_adds_and_the_elements_it_touches() -> None:
    model = hostile.classifier()
    assert cost.operations(model, BATCH_SIZE) == matmul_count(BATCH_SIZE)
    # 300 samples: four full batches and one of 44, as the scorer runs them.
    assert cost.scoring_operations(model, 300, BATCH_SIZE) == 4 * matmul_count(64) + matmul_count(
        44
    )


def test_a_model_that_computes_a_huge_square_from_the_batch_size_is_counted() -> None:
    # hostile.slow hides a [1024, 1024] tensor behind the batch size (0 * batch + 1024): the
    # static checks cannot see it, but inference at the scorer's batch size does.
    count = cost.operations(hostile.slow(matmuls=3), BATCH_SIZE)
    assert count > 3 * 1024**3
    with pytest.raises(ModelRejected, match=r"over the budget of 20,000,000,000"):
        cost.check(hostile.slow(), 300, BATCH_SIZE)


def test_a_cost_that_grows_faster_than_the_batch_is_counted_at_the_batch_the_scorer_runs() -> None:
    # x @ x^T is [batch, batch]: its cost grows with the square of the batch, so counting one
    # sample and multiplying would undercount it. The count follows the batch: its second
    # difference is positive (it is 0 for a model whose cost is linear in the batch).
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "xt"], ["gram"]),
    ]
    model = hostile.classifier(nodes=nodes, extra="gram")
    linear = hostile.classifier()

    def second_difference(m: onnx.ModelProto) -> int:
        f = {b: cost.operations(m, b) for b in (16, 32, 64)}
        return (f[64] - f[32]) - 2 * (f[32] - f[16])

    assert second_difference(linear) == 0
    # For k operations per element of the [b, b] product: k * (64² - 2 * 32² + 2 * 16²) with
    # k above the 64 multiply-adds (plus what writing and reading the product touches).
    assert second_difference(model) > 1536 * 64
    assert cost.scoring_operations(model, 128, BATCH_SIZE) == 2 * cost.operations(model, 64)


def test_shapes_declared_by_the_sender_are_not_believed() -> None:
    # A model claims its huge intermediate is [1, 1]: the count is the same as without it.
    model = hostile.slow(matmuls=1)
    honest_count = cost.operations(model, BATCH_SIZE)
    lying = onnx.ModelProto()
    lying.CopyFrom(model)
    for name in ("square", "m0"):
        lying.graph.value_info.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 1])
        )
    assert cost.operations(lying, BATCH_SIZE) == honest_count


def test_a_shape_that_depends_on_the_data_is_refused() -> None:
    # NonZero's output size is known only once the model runs.
    nodes = [
        helper.make_node("NonZero", ["x"], ["indices"]),
        helper.make_node("Cast", ["indices"], ["where"], to=TensorProto.FLOAT),
    ]
    model = hostile.classifier(nodes=nodes, extra="where")
    with pytest.raises(ModelRejected, match=r"depends on the data"):
        cost.operations(model, BATCH_SIZE)


def test_an_op_without_a_rule_is_refused() -> None:
    nodes = [
        helper.make_node("Unsqueeze", ["x", "last"], ["x3"]),
        helper.make_node("DFT", ["x3"], ["spectrum"]),
    ]
    last = numpy_helper.from_array(np.array([2], np.int64), "last")
    model = hostile.classifier(nodes=nodes, initializers=[last], extra="spectrum")
    with pytest.raises(ModelRejected, match=r"op DFT has no operation count"):
        cost.operations(model, BATCH_SIZE)


@pytest.mark.parametrize(
    ("equation", "shapes", "expected"),
    [
        ("bij,jk->bik", [(64, 4, 8), (8, 16)], 64 * 4 * 8 * 16),
        ("...j,jk->...k", [(64, 4, 8), (8, 16)], 64 * 4 * 8 * 16),
        ("bi,bi->b", [(64, 32), (64, 32)], 64 * 32),
    ],
)
def test_einsum_costs_the_product_of_its_index_sizes(
    equation: str, shapes: list[tuple[int, ...]], expected: int
) -> None:
    node = helper.make_node("Einsum", ["a", "b"], ["c"], equation=equation)
    assert cost._einsum(shapes, [], node) == expected


def test_pack_refuses_a_model_over_the_budget_for_the_competitions_test_split() -> None:
    # 20 billion operations over 300 million samples leaves under 67 a sample: the classifier
    # takes more. The competitor hears it before paying the buy-in.
    onnx_bytes = hostile.classifier().SerializeToString()
    assert payload.pack(onnx_bytes, SPEC, test_samples=10_000).payload
    with pytest.raises(ModelRejected, match=r"scoring 300,000,000 samples takes"):
        payload.pack(onnx_bytes, SPEC, test_samples=300_000_000)
