"""What binds a proof to a model, computable by anyone (and, in chunks, by a contract).

A proof's first 64 bytes are the KZG commitment of the circuit's committed column, which holds
the model's parameters. Measured on EZKL 23.0.5 (`tests/unit/zk/test_binding.py`):

    C = B + Σ_k m_k · L_k

- `m` (the *message*) is every parameter tensor the data path consumes, in the order the graph
  consumes them, *after* constant folding (a packed model's Cast and Mul of int8 weights and
  their scales fold into the float weights the Gemm reads), flattened row-major and quantized
  at the settings' `param_scale`: round(w · 2^scale), halves away from zero, negatives as
  FIELD − |v|. A float and a packed model of one architecture thus have messages of one length,
  and the same circuit.
- `L_k` is the k-th Lagrange-basis point of the SRS (the second half of an SRS file).
- `B` is the commitment of the empty message: EZKL fills the column's unusable rows (its
  blinding rows, 6 for the zoo MLP's circuit) with ones, so B is the sum of those rows'
  Lagrange points. It depends only on the circuit, so it is fixed per architecture.

The message longer than the column's usable rows is split over several commitments; only
single-commitment circuits are bound here (`message` refuses longer ones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deml.exceptions import ProofError
from deml.zk.circuit import FIELD, Circuit

# BN254's base field: the coordinates of a G1 point.
BASE_FIELD = 0x30644E72E131A029B85045B68181585D97816A916871CA8D3C208C16D87CFD47
_MONTGOMERY_INVERSE = pow(2**256, -1, BASE_FIELD)
_POINT_BYTES = 64  # an SRS file's point: x then y, each 32 bytes little-endian, Montgomery form
_HEADER_BYTES = 4  # the SRS file starts with k as a little-endian u32


def parameters(onnx_bytes: bytes) -> list[np.ndarray]:
    """The float parameter tensors the model's data path reads, folded, in the order it reads
    them: what EZKL commits. Only for a model already accepted by the caller's limits (the
    proving child computes it for an untrusted one)."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load_from_string(onnx_bytes)
    names, values = _constants(model)
    missing = [name for name in names if name not in values]
    if missing:  # folded constants: evaluate the graph's constant part
        graph = model.graph
        initializers = {t.name for t in graph.initializer}
        shape_of = {
            i.name: [d.dim_value or 1 for d in i.type.tensor_type.shape.dim]
            for i in graph.input
            if i.name not in initializers
        }
        feeds = {name: np.zeros(shape, np.float32) for name, shape in shape_of.items()}
        evaluator = ReferenceEvaluator(model)
        for name, value in zip(missing, evaluator.run(missing, feeds), strict=True):
            values[name] = value
    return [np.asarray(values[n]) for n in names if _committed(values[n])]


def fixed_constants(onnx_bytes: bytes) -> list[float]:
    """The single-value float constants the data path reads, in order (an input scale): fixed
    in the circuit, so part of the architecture, not of a model's weights."""
    import onnx

    names, values = _constants(onnx.load_from_string(onnx_bytes))
    return [
        float(values[n].reshape(-1)[0])
        for n in names
        if n in values and np.issubdtype(values[n].dtype, np.floating) and values[n].size == 1
    ]


def _constants(model: Any) -> tuple[list[str], dict[str, np.ndarray]]:
    """The names of the constants the data path reads, in order, and the initializers."""
    from onnx import numpy_helper

    graph = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    data = {i.name for i in graph.input if i.name not in values}
    names: list[str] = []
    for node in graph.node:
        if any(name in data for name in node.input):
            names += [n for n in node.input if n and n not in data and n not in names]
            data.update(node.output)
    return names, values


def _committed(value: np.ndarray) -> bool:
    """Whether EZKL commits a constant: float tensors of more than one element (a single
    value, such as an input scaling factor, is fixed in the circuit itself, so it is part of
    the architecture: measured, `tests/contracts/test_architectures.py`)."""
    return bool(np.issubdtype(value.dtype, np.floating) and value.size > 1)


def message(onnx_bytes: bytes, scale: int, rows: int | None = None) -> list[int]:
    """The committed message of a model (signed integers), for circuits of `param_scale` `scale`
    whose committed column holds `rows` usable rows (None: not checked)."""
    out: list[int] = []
    for tensor in parameters(onnx_bytes):
        scaled = tensor.astype(np.float64).reshape(-1) * 2.0**scale
        out += [int(v) for v in np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)]
    if rows is not None and len(out) > rows:
        raise ProofError(
            f"the model has {len(out):,} parameters, more than one commitment holds ({rows:,})"
        )
    return out


def commitment(values: list[int], circuit: Circuit) -> bytes:
    """The commitment of a message as a proof carries it: x then y, 32 bytes big-endian each."""
    import ezkl

    felts = [(v % FIELD).to_bytes(32, "little").hex() for v in values or [0]]
    (point,) = ezkl.kzg_commit(felts, str(circuit.vk), str(circuit.settings), str(circuit.srs))
    x, y = (int.from_bytes(bytes.fromhex(c), "little") for c in (point.x, point.y))
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def blind(circuit: Circuit) -> bytes:
    """B: the commitment of the empty message (the circuit's blinding rows)."""
    return commitment([], circuit)


def lagrange_points(srs: Path, start: int, count: int) -> bytes:
    """`count` Lagrange-basis points of an SRS file from `start`, as the EVM reads G1 points
    (x then y, 32 bytes big-endian each)."""
    with srs.open("rb") as f:
        k = int.from_bytes(f.read(_HEADER_BYTES), "little")
        size = 2**k
        if start < 0 or start + count > size:
            raise ProofError(f"points {start}..{start + count} are outside the SRS's {size}")
        f.seek(_HEADER_BYTES + (size + start) * _POINT_BYTES)
        raw = f.read(count * _POINT_BYTES)
    if len(raw) != count * _POINT_BYTES:
        raise ProofError(f"{srs} is shorter than its k={k} says: no Lagrange points in it")
    out = bytearray()
    for off in range(0, len(raw), _POINT_BYTES):
        for half in (raw[off : off + 32], raw[off + 32 : off + 64]):
            out += (int.from_bytes(half, "little") * _MONTGOMERY_INVERSE % BASE_FIELD).to_bytes(
                32, "big"
            )
    return bytes(out)


def usable_rows(circuit: Circuit) -> int:
    """How many message values one commitment holds: the column's rows less its blinding rows
    (found as the rows B covers)."""
    k = int(json.loads(circuit.settings.read_text())["run_args"]["logrows"])
    return 2**k - _blinding_rows(circuit, k)


def _blinding_rows(circuit: Circuit, k: int) -> int:
    from py_ecc.optimized_bn128 import FQ, Z1, add, normalize

    target = blind(circuit)
    tail = lagrange_points(circuit.srs, 2**k - 16, 16)
    total = Z1
    for rows in range(1, 17):  # B = the last `rows` Lagrange points
        off = (16 - rows) * _POINT_BYTES
        x, y = (int.from_bytes(tail[off + h : off + h + 32], "big") for h in (0, 32))
        total = add(total, (FQ(x), FQ(y), FQ(1)))
        nx, ny = normalize(total)
        if int(nx).to_bytes(32, "big") + int(ny).to_bytes(32, "big") == target:
            return rows
    raise ProofError(f"the blinding rows of {circuit.folder} are not the SRS's last 16 points")


# How contracts/Architectures.sol takes a model's weights: CHUNK int32 words a step, each
# chunk named by its keccak, the whole by the keccak of the chunks' hashes.
CHUNK = 1024


def weight_chunks(values: list[int]) -> list[bytes]:
    """The message as the contract reads it: int32 big-endian words, CHUNK a chunk."""
    if any(not -(2**31) <= v < 2**31 for v in values):
        raise ProofError("a weight does not fit an int32 at the circuit's scale")
    words = [v.to_bytes(4, "big", signed=True) for v in values]
    return [b"".join(words[i : i + CHUNK]) for i in range(0, len(words), CHUNK)]


def weights_root(values: list[int]) -> bytes:
    """What names a model's weights on chain: keccak256 of its chunks' keccak256s."""
    from eth_utils import keccak

    return keccak(b"".join(keccak(chunk) for chunk in weight_chunks(values)))


def step_args(
    architecture: bytes, values: list[int], points: list[bytes]
) -> list[tuple[bytes, bytes, list[bytes], bytes, bytes]]:
    """The arguments of every `Architectures.step` call that computes the commitment of
    `values` (`points`: the architecture's pinned point chunks), in order."""
    from eth_utils import keccak

    chunks = weight_chunks(values)
    hashes = [keccak(chunk) for chunk in chunks]
    root = weights_root(values)
    return [
        (architecture, root, hashes, chunk, pts) for chunk, pts in zip(chunks, points, strict=True)
    ]


def point_chunks(srs: Path, count: int) -> list[bytes]:
    """The first `count` Lagrange points, CHUNK a chunk, as the contract pins them."""
    points = lagrange_points(srs, 0, count)
    size = CHUNK * 64
    return [points[i : i + size] for i in range(0, len(points), size)]


# A proof counts only when its top logit leads the runner-up by this much: the circuit's fixed
# point and ONNX Runtime's float32 agree on the class whenever the lead is wider than their
# largest logit error (6·10⁻⁴ measured for the MLP, 3.5·10⁻³ for the CNN: docs/disputes.md).
MARGIN = 2.0**-6


@dataclass(frozen=True)
class Registration:
    """What contracts/Architectures.sol pins for an architecture (its `register` argument)."""

    weights: int
    inputs: int
    classes: int
    input_scale: int
    margin: int  # in the logits' fixed point
    blind: bytes  # B, 64 bytes
    point_chunks: list[bytes]

    def as_abi(self, verifier: str) -> tuple[Any, ...]:
        from eth_utils import keccak

        bx, by = (int.from_bytes(self.blind[h : h + 32], "big") for h in (0, 32))
        hashes = [keccak(chunk) for chunk in self.point_chunks]
        return (verifier, self.weights, self.inputs, self.classes, self.input_scale,
                self.margin, bx, by, hashes)  # fmt: skip


def registration(circuit: Circuit, weights: int, margin: float = MARGIN) -> Registration:
    """An architecture's registration from its circuit (settings, keys, SRS) and its models'
    weight count: anyone can recompute it from the pinned SRS and settings."""
    settings = json.loads(circuit.settings.read_text())
    inputs, classes = (int(np.prod(shape)) for shape in settings["model_instance_shapes"])
    (output_scale,) = settings["model_output_scales"]
    if weights > usable_rows(circuit):
        raise ProofError(f"{weights:,} weights do not fit one commitment of {circuit.folder}")
    return Registration(
        weights=weights,
        inputs=inputs,
        classes=classes,
        input_scale=int(settings["run_args"]["input_scale"]),
        margin=round(margin * 2**output_scale),
        blind=blind(circuit),
        point_chunks=point_chunks(circuit.srs, weights),
    )


# A disputable payload (contracts/Disputes.sol, `bind`): the weights themselves, uncompressed,
# so that a contract can name them by their weights root.
PAYLOAD_MAGIC = b"DMLW"
PAYLOAD_VERSION = 1


def payload(architecture: bytes, values: list[int]) -> bytes:
    """A model as a disputable payload: magic, version, the architecture id, its weights."""
    if len(architecture) != 32:
        raise ProofError("an architecture id is 32 bytes")
    return PAYLOAD_MAGIC + bytes([PAYLOAD_VERSION]) + architecture + b"".join(weight_chunks(values))


def weights_of(data: bytes) -> tuple[bytes, list[int]]:
    """(architecture id, weights) of a disputable payload; ProofError if it is not one."""
    header = len(PAYLOAD_MAGIC) + 1 + 32
    if len(data) < header or data[:4] != PAYLOAD_MAGIC or data[4] != PAYLOAD_VERSION:
        raise ProofError("not a disputable payload (DMLW, version 1)")
    body = data[header:]
    if len(body) % 4:
        raise ProofError(f"a disputable payload's weights are int32 words, not {len(body)} bytes")
    values = [int.from_bytes(body[i : i + 4], "big", signed=True) for i in range(0, len(body), 4)]
    return data[5:header], values


def with_weights(template: bytes, values: list[int], scale: int) -> bytes:
    """The ONNX model of an architecture (`template`: a float model of it, its parameters its
    initializers) with the weights of a disputable payload: each w / 2**scale as float32, in
    the parameters the circuit commits; the rest of the template (single values) kept."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(template)
    names, initial = _constants(model)
    committed = [n for n in names if n in initial and _committed(initial[n])]
    if len(committed) != len([n for n in names if n not in initial or _committed(initial[n])]):
        raise ProofError("the template's parameters are not all initializers: not a float model")
    if sum(initial[n].size for n in committed) != len(values):
        raise ProofError(f"{len(values):,} weights do not fill the template's parameters")
    flat = np.asarray(values, np.float64) / 2.0**scale
    replaced, offset = {}, 0
    for name in committed:
        shape, size = initial[name].shape, initial[name].size
        data = flat[offset : offset + size].astype(np.float32).reshape(shape)
        replaced[name] = numpy_helper.from_array(data, name)
        offset += size
    tensors = [replaced.get(t.name, t) for t in model.graph.initializer]
    del model.graph.initializer[:]
    model.graph.initializer.extend(tensors)
    return model.SerializeToString()
