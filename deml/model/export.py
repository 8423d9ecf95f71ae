"""From a competitor's model to single-file ONNX: PyTorch and Keras objects, or an .onnx file.

Only objects in memory and ONNX files are accepted. A pickled checkpoint (.pt, .pth, .pkl, a
.keras zip) is refused unread: loading one runs whatever code it carries.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from deml.exceptions import ExportError, PickleRefused
from deml.model import check
from deml.model.spec import ModelSpec

# Exporting with a batch of one would let torch.export specialize the batch size to 1.
_EXAMPLE_BATCH = 2
_PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib"})
_TRY_INSTEAD = (
    "export it to ONNX first: in Python, deml.model.payload.pack(model, spec) takes a torch or"
    " keras model directly (see 'Submitting a model' in README.md)"
)


def to_onnx(model: Any, spec: ModelSpec) -> bytes:
    """ONNX bytes for a torch `nn.Module`, a `keras.Model`, ONNX bytes, or an .onnx path."""
    if isinstance(model, bytes | bytearray):
        onnx_bytes = bytes(model)
    elif isinstance(model, str | os.PathLike):
        onnx_bytes = read_model_file(Path(model))
    elif _is_torch_module(model):
        onnx_bytes = export_torch(model, spec)
    elif _is_keras_model(model):
        onnx_bytes = export_keras(model, spec)
    else:
        raise ExportError(
            f"cannot export a {type(model).__module__}.{type(model).__qualname__}; pass a torch"
            " nn.Module, a keras.Model, ONNX bytes or an .onnx file"
        )
    check_fits(onnx_bytes, spec)
    return onnx_bytes


def check_fits(onnx_bytes: bytes, spec: ModelSpec) -> onnx.ModelProto:
    """The parsed model, when it passes every check a miner will make; else a clear error."""
    try:
        return check.validate(onnx_bytes, spec)
    except check.SpecMismatch as exc:
        raise check.SpecMismatch(f"the model does not fit the competition: {exc}") from exc


def read_model_file(path: Path) -> bytes:
    """The bytes of an .onnx file; pickled checkpoints are refused without being loaded."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            data = head + f.read()
    except OSError as exc:
        raise ExportError(f"cannot read the model file {path}: {exc.strerror}") from exc
    kind = _pickle_kind(path, head)
    if kind:
        raise PickleRefused(
            f"{path} looks like {kind}; DeML never loads pickled files, because unpickling runs"
            f" code. {_TRY_INSTEAD[0].upper()}{_TRY_INSTEAD[1:]}"
        )
    return data


def _pickle_kind(path: Path, head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (a torch.save checkpoint or a .keras file)"
    # Pickle protocols 2-5 start with PROTO (0x80) and the protocol number.
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle (a torch.save checkpoint)"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (a Keras .h5 checkpoint)"
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        return f"a {path.suffix} checkpoint"
    return None


def export_torch(module: Any, spec: ModelSpec) -> bytes:
    """A torch module as ONNX (dynamo exporter, one file, dynamic batch dimension)."""
    import torch

    module = module.eval()
    example = torch.zeros((_EXAMPLE_BATCH, *spec.input_shape), dtype=torch.float32)
    try:
        with torch.no_grad():
            module(example)
    except Exception as exc:
        raise check.SpecMismatch(
            f"the model cannot take a batch of samples shaped {spec.describe_input()}: {exc}"
        ) from exc
    batch = torch.export.Dim("batch")
    with _quiet():
        try:
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                external_data=False,
                dynamic_shapes=({0: batch},),
                input_names=["x"],
                output_names=["y"],
                verbose=False,
            )
        except Exception as exc:
            raise ExportError(f"torch.onnx.export failed: {exc}") from exc
    return _single_file(program.model_proto)


def export_keras(model: Any, spec: ModelSpec) -> bytes:
    """A Keras 3 model as ONNX (`model.export(format="onnx")`, after one call to build it)."""
    example = np.zeros((_EXAMPLE_BATCH, *spec.input_shape), dtype=np.float32)
    try:
        model(example)
    except Exception as exc:
        raise check.SpecMismatch(
            f"the model cannot take a batch of samples shaped {spec.describe_input()}: {exc}"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="deml-keras-") as tmp, _quiet():
        path = Path(tmp, "model.onnx")
        try:
            model.export(str(path), format="onnx", verbose=False)
        except Exception as exc:
            raise ExportError(f"keras model.export(format='onnx') failed: {exc}") from exc
        return _single_file(onnx.load(path))


def _single_file(proto: onnx.ModelProto) -> bytes:
    # Local functions would be refused by miners; opset imports nobody uses only cost bytes.
    if proto.functions:
        proto = onnx.inliner.inline_local_functions(proto)
    used = {node.domain for node in proto.graph.node} | {""}
    kept = [op for op in proto.opset_import if op.domain in used]
    del proto.opset_import[:]
    proto.opset_import.extend(kept)
    return proto.SerializeToString()


def _is_torch_module(model: Any) -> bool:
    # Looked up by name, so packing a Keras model never imports torch (and vice versa).
    return any(
        f"{c.__module__}.{c.__qualname__}" == "torch.nn.modules.module.Module"
        for c in type(model).__mro__
    )


def _is_keras_model(model: Any) -> bool:
    return any(
        c.__module__.startswith(("keras.", "tf_keras.")) and c.__name__ == "Model"
        for c in type(model).__mro__
    )


@contextlib.contextmanager
def _quiet() -> Any:
    # The exporters print progress to stdout and warn about their own internals: a user asked
    # for a file, not a transcript of things they cannot act on.
    # torch's exporter also logs a warning per missing torchvision op, on every export.
    torch_onnx = logging.getLogger("torch.onnx")
    level = torch_onnx.level
    torch_onnx.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        torch_onnx.setLevel(level)
