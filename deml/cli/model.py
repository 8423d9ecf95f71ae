"""`deml model …`: pack an ONNX model into a payload, inspect a payload, score it in the sandbox."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from deml.exceptions import DemlError, SpecError
from deml.model import codec
from deml.model.spec import ModelSpec

if TYPE_CHECKING:
    import numpy as np
    import onnx

# numpy, onnx and onnxruntime are imported inside the commands: `deml --help` stays fast.

model_app = typer.Typer(
    help="Pack, inspect and score competition models (ONNX).", no_args_is_help=True
)
out = Console(soft_wrap=True)
# inspect reads files bigger than any competition allows, but not without bound.
_INSPECT_CAP = codec.MAX_MODEL_BYTES

SpecOption = Annotated[
    Path | None,
    typer.Option(
        "--spec", help="Dataset manifest (JSON with input_shape and classes).", dir_okay=False
    ),
]


@model_app.command("pack")
def pack_command(
    model: Annotated[Path, typer.Argument(help="The model as an .onnx file.", dir_okay=False)],
    spec: Annotated[
        Path,
        typer.Option(help="Dataset manifest (JSON with input_shape and classes).", dir_okay=False),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the payload.")],
    codec_name: Annotated[
        str,
        typer.Option("--codec", help=f"auto, or one of: {', '.join(codec.CODEC_NAMES)}."),
    ] = "auto",
    validation: Annotated[
        Path | None,
        typer.Option(
            "--val", help="Validation .npz (X, y): lets `auto` try lossy codecs.", dir_okay=False
        ),
    ] = None,
    max_drop: Annotated[
        float,
        typer.Option(help="Largest accuracy loss `auto` accepts, in percentage points.", min=0),
    ] = 100 * 0.005,
    max_bytes: Annotated[
        int, typer.Option(help="The competition's payload cap in bytes.", min=1)
    ] = codec.MAX_PAYLOAD_BYTES,
    test_samples: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The competition's test split size: a model over the operation budget for"
            " scoring that many samples is refused.",
        ),
    ] = None,
) -> None:
    """Pack MODEL.onnx into a payload that fits the competition; pickled checkpoints are refused."""
    from deml.model import payload

    packed = payload.pack(
        model,
        ModelSpec.from_file(spec),
        codec_name=codec_name,
        validation=load_test_set(validation) if validation else None,
        max_accuracy_drop=max_drop / 100,
        max_bytes=max_bytes,
        test_samples=test_samples,
    )
    output.write_bytes(packed.payload)
    table = Table("codec", "bytes", "validation accuracy")
    for trial in packed.trials:
        shown = "—" if trial.accuracy is None else f"{100 * trial.accuracy:.2f}%"
        mark = " ←" if trial.codec == packed.codec.name else ""
        table.add_row(trial.codec + mark, f"{trial.bytes:,}", shown)
    out.print(table)
    out.print(
        f"wrote {output}: {len(packed.payload):,} bytes ({packed.codec.name}) from"
        f" {packed.onnx_bytes:,} bytes of ONNX; cap {max_bytes:,}"
    )


@model_app.command("inspect")
def inspect_command(
    file: Annotated[Path, typer.Argument(help="A payload written by `deml model pack`.")],
    spec: SpecOption = None,
) -> None:
    """Show a payload's sizes, codec, ops, parameter count, input and output."""
    import numpy as np
    import onnx

    from deml.model import check

    data = _read_capped(file, _INSPECT_CAP)
    header, model_bytes = codec.decode(
        data, max_payload_bytes=_INSPECT_CAP, max_model_bytes=_INSPECT_CAP
    )
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(model_bytes)
    except Exception as exc:
        raise check.ModelRejected(f"the payload does not hold an ONNX model: {exc}") from exc
    graph = proto.graph
    ops = collections.Counter(
        f"{n.domain}::{n.op_type}" if n.domain else n.op_type for n in graph.node
    )
    # Weights (float, or integers from the lossy codecs), not int32/int64 shapes and indices.
    shapes = (onnx.TensorProto.INT64, onnx.TensorProto.INT32)
    params = sum(int(np.prod(t.dims)) for t in graph.initializer if t.data_type not in shapes)
    rows = {
        "format": f"DeML payload v{header.version}",
        "codec": header.codec.name + ("" if header.codec.lossless else " (lossy)"),
        "payload bytes": f"{len(data):,}",
        "ONNX bytes": f"{len(model_bytes):,} ({len(model_bytes) / len(data):.1f}x compression)",
        "opsets": ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in proto.opset_import),
        "parameters": f"{params:,} ({len(data) / max(params, 1):.2f} payload bytes each)",
        "nodes": f"{len(graph.node)}: " + ", ".join(f"{op}×{n}" for op, n in ops.most_common()),
        "input": ", ".join(_describe(v) for v in graph.input),
        "output": ", ".join(_describe(v) for v in graph.output),
    }
    rows["operations"] = _operations(proto)
    if spec is not None:
        try:
            check.validate(model_bytes, ModelSpec.from_file(spec))
            rows["checks"] = "passes every check miners make"
        except check.ModelRejected as exc:
            rows["checks"] = f"refused: {exc}"
    # Plain "key: value" lines: long op lists wrap, and scripts can grep them.
    out.print(str(file), highlight=False)
    for key, value in rows.items():
        out.print(f"  {key + ':':<15}{value}", highlight=False, markup=False)


@model_app.command("score")
def score_command(
    file: Annotated[Path, typer.Argument(help="A payload written by `deml model pack`.")],
    data: Annotated[Path, typer.Option(help="Test set .npz with X (float32) and y.")],
    spec: SpecOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Samples per inference batch (default: the protocol's, 64)."),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Wall-clock limit, seconds.")] = 120.0,
    memory_mb: Annotated[int, typer.Option(min=16, help="Memory the model may use, MiB.")] = 1024,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score a payload on a test set in the sandbox; a model that fails anything scores 0."""
    from deml.scoring.sandbox import BATCH_SIZE, Limits, Sandbox

    x, y = load_test_set(data)
    model_spec = ModelSpec.from_file(spec) if spec else None
    payload = _read_capped(file, codec.MAX_PAYLOAD_BYTES + 1)
    limits = Limits(memory_bytes=memory_mb << 20, wall_seconds=timeout)
    with Sandbox(limits, spares=0) as sandbox:  # one model: nothing to keep warm
        result = sandbox.score(payload, x, y, model_spec, batch_size=batch_size or BATCH_SIZE)
    if as_json:
        # The bitmap (which samples it got right) as hex: what the jury's score tree commits to.
        shown = {**result.__dict__, "accuracy": result.accuracy, "bitmap": result.bitmap.hex()}
        out.print_json(json.dumps(shown))
        return
    line = f"{result.correct}/{result.total} correct ({100 * result.accuracy:.2f}%)"
    out.print(line + (f"; scored 0 because {result.error}" if result.error else ""))


def load_test_set(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """X (float32) and y (integers) from an .npz file, never unpickling anything."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as npz:
            x, y = npz["X"], npz["y"]
    except (OSError, KeyError, ValueError) as exc:
        raise SpecError(f"cannot read X and y from {path}: {exc}") from exc
    if x.dtype.kind != "f" or y.dtype.kind not in "iu" or len(x) != len(y):
        raise SpecError(f"{path}: X must be float and y integer labels, one per sample")
    return x.astype(np.float32, copy=False), y.astype(np.int64, copy=False)


def _read_capped(path: Path, cap: int) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise DemlError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > cap:
        raise codec.PayloadTooLarge(path.stat().st_size, cap)
    return data


def _describe(value: onnx.ValueInfoProto) -> str:
    import onnx

    tensor = value.type.tensor_type
    dims = [
        str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
        for d in tensor.shape.dim
    ]
    kind = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
    return f"{value.name}: {kind}[{', '.join(dims)}]"


def _operations(proto: onnx.ModelProto) -> str:
    """Operations a sample, and how many samples the budget allows at that cost."""
    from deml.model import cost, inference

    batch = inference.BATCH_SIZE
    try:
        per_sample = max(1, cost.operations(proto, batch) // batch)
    except DemlError as exc:  # ModelRejected: a shape that depends on the data, an unknown op
        return f"cannot be counted: {exc}"
    samples = cost.MAX_SCORING_OPERATIONS // per_sample
    return f"{per_sample:,} a sample (the budget scores up to {samples:,} samples)"
