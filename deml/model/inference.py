"""The one way DeML runs a model: ONNX Runtime on the CPU, one thread, fixed batches, argmax."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from deml.model import check, codec, cost
from deml.model.spec import ModelSpec

# NOTE: part of the protocol. Every codec but dyn8 predicts each sample alone, so any batch size
# gives the same count; dyn8 quantizes activations per batch, so miners must share this number.
# Small batches also keep a fresh scoring process from faulting in megabytes of new memory.
BATCH_SIZE = 64


def session_options() -> ort.SessionOptions:
    """Fixed threading and optimizations, so every run of a model does the same arithmetic."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # NOTE: part of the protocol. BASIC rewrites only into standard ONNX operators (constant
    # folding, Conv+BatchNorm, MatMul+Add into Gemm): the model computes what its graph says.
    # EXTENDED fuses patterns into ONNX Runtime's own kernels (Gelu, FusedConv, ...), whose
    # rounding differs from the graph's and whose code is picked per instruction set: a model
    # whose class turns on that rounding would score differently from one miner to the next.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    # Never accept ORT's own flatbuffer format: only the ONNX that the checks have seen.
    options.add_session_config_entry("session.load_model_format", "ONNX")
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(model: bytes) -> ort.InferenceSession:
    """A CPU inference session for checked ONNX bytes."""
    return ort.InferenceSession(model, session_options(), providers=["CPUExecutionProvider"])


def predict(
    session: ort.InferenceSession, x: np.ndarray, num_classes: int, batch_size: int = BATCH_SIZE
) -> np.ndarray:
    """The argmax class of every sample, run in batches of `batch_size`."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    name = session.get_inputs()[0].name
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch_size):
        batch = np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)
        results = session.run(None, {name: batch})
        scores = results[0] if len(results) == 1 else None
        expected = (len(batch), num_classes)
        if not isinstance(scores, np.ndarray) or scores.shape != expected:
            got = getattr(scores, "shape", type(scores).__name__)
            raise check.SpecMismatch(f"the model returned {got} for a batch needing {expected}")
        # NaN scores give argmax the first NaN's index: still the same answer on every machine.
        out[start : start + len(batch)] = scores.argmax(axis=1)
    return out


def evaluate(
    payload: bytes,
    x: np.ndarray,
    spec: ModelSpec,
    *,
    max_payload_bytes: int = codec.MAX_PAYLOAD_BYTES,
    max_model_bytes: int = codec.MAX_MODEL_BYTES,
    batch_size: int = BATCH_SIZE,
    max_operations: int = cost.MAX_SCORING_OPERATIONS,
) -> np.ndarray:
    """Decode, check, count and run an untrusted payload: predictions, or the exception that
    stopped it (a model over the operation budget, `deml.model.cost`, is refused unrun).

    This does no sandboxing; `deml.scoring.sandbox` runs it inside a limited child process.
    """
    _, model = codec.decode(
        payload, max_payload_bytes=max_payload_bytes, max_model_bytes=max_model_bytes
    )
    limits = check.ModelLimits(max_model_bytes=max_model_bytes)
    checked = check.validate(model, spec, limits)
    # The verdict on what the model may cost is counted from its graph, the same on every
    # machine; the sandbox's time limits are only a backstop.
    cost.check(checked, len(x), batch_size, max_operations)
    # Run the bytes the checks parsed (unknown fields dropped), not the raw ones.
    session = open_session(checked.SerializeToString())
    return predict(session, x, spec.num_classes, batch_size)
