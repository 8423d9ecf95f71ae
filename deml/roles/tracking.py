"""MLflow tracking for competitors: one experiment per competition, one run per submission.

A run holds the training parameters and per-epoch metrics (`val_accuracy` is what the
competitor claims), the ONNX model, the submission on chain (id, codec, transactions, payload
hash) and, once miners have voted, `verified_correct` and `verified_accuracy`: the MLflow UI
then sets the claimed accuracy beside the verified one.

    tracking.configure()                      # the sqlite store from the settings
    run_id = tracking.start_submission_run(competition, "torch-cnn", trained.params)
    tracking.log_epoch(run_id, 1, {"loss": 0.9, "val_accuracy": 0.8})
    tracking.log_model(run_id, onnx_bytes, spec)
    tracking.log_submission(run_id, payload, "int8+lzma", 3, commit_tx, reveal_tx, competition)
    tracking.log_verified(run_id, verified_correct=440, test_set_size=450)

Every function takes the run id and talks to the store through an `MlflowClient`: nothing
depends on MLflow's "active run".
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from deml._process import start_time
from deml.exceptions import TrackingError
from deml.model.spec import ModelSpec

EXPERIMENT_PREFIX = "deml-"
MODEL_ARTIFACT = "model"
PAYLOAD_ARTIFACT = "submission"
# Tags, not params: a param can never change, and a submission is logged after training.
TAG_COMPETITION = "deml.competition"
TAG_MODEL = "deml.model"
TAG_SUBMISSION = "deml.submission_id"
TAG_CODEC = "deml.codec"
TAG_COMMIT_TX = "deml.commit_tx"
TAG_REVEAL_TX = "deml.reveal_tx"
TAG_PAYLOAD_HASH = "deml.payload_keccak256"
TAG_STATUS = "deml.status"
TAG_LOST = "deml.lost_reason"
# The process that trains a run: a run left RUNNING by a process that is gone was killed.
TAG_HOST = "deml.host"
TAG_PID = "deml.pid"
TAG_PID_START = "deml.pid_start"
MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")

_tracking_uri: str | None = None


def configure(tracking_uri: str | None = None) -> str:
    """Use `tracking_uri` (default: the `mlflow_tracking_uri` setting) and return it."""
    global _tracking_uri
    if tracking_uri is None:
        from deml.settings import load_settings

        tracking_uri = load_settings().resolved_mlflow_uri
    db = _sqlite_path(tracking_uri)
    if db is not None:
        # sqlite creates the file but not its folder.
        db.parent.mkdir(parents=True, exist_ok=True)
    _tracking_uri = tracking_uri
    # mlflow.onnx.log_model opens its own client on the global URI.
    mlflow.set_tracking_uri(tracking_uri)
    return tracking_uri


def tracking_uri() -> str:
    """The URI in use, configuring from the settings on first use."""
    return _tracking_uri or configure()


def competition_key(competition: str) -> str:
    """How a competition is named in MLflow: its checksummed address (other names as given)."""
    competition = competition.strip()
    if not competition:
        raise TrackingError("a competition address (or name) is required")
    if _ADDRESS.fullmatch(competition):
        from eth_utils import to_checksum_address

        # One experiment per contract, however the caller spells its address.
        return str(to_checksum_address(competition))
    return competition


def experiment_name(competition: str) -> str:
    """The experiment of a competition: `deml-<checksummed address>`."""
    return EXPERIMENT_PREFIX + competition_key(competition)


def find_experiment(competition: str) -> str | None:
    """The id of the competition's experiment, or None when nothing was logged for it yet."""
    found = _client().get_experiment_by_name(experiment_name(competition))
    return found.experiment_id if found is not None else None


def ensure_experiment(competition: str) -> str:
    """The id of the competition's experiment, created (artifacts beside the db) if missing."""
    client = _client()
    name = experiment_name(competition)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return client.create_experiment(
            name,
            artifact_location=_artifact_location(name),
            tags={TAG_COMPETITION: competition_key(competition)},
        )
    except MlflowException:
        # Another process created it between our look-up and our create.
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def start_submission_run(competition: str, model_name: str, params: Mapping[str, Any]) -> str:
    """A new run in the competition's experiment, with the training parameters; its id."""
    client = _client()
    run = client.create_run(
        ensure_experiment(competition),
        run_name=model_name,
        tags={
            TAG_COMPETITION: competition_key(competition),
            TAG_MODEL: model_name,
            TAG_STATUS: "training",
            TAG_HOST: socket.gethostname(),
            TAG_PID: str(os.getpid()),
            TAG_PID_START: str(start_time(os.getpid())),
        },
    )
    logged = [Param(key, _param_value(value)) for key, value in params.items()]
    if logged:
        client.log_batch(run.info.run_id, params=logged)
    return str(run.info.run_id)


def log_epoch(run_id: str, epoch: int, metrics: Mapping[str, float]) -> None:
    """Metrics of one epoch, at step `epoch` (so the UI plots them against epochs)."""
    now = _now_ms()
    batch = [Metric(key, float(value), now, epoch) for key, value in metrics.items()]
    if batch:
        _client().log_batch(run_id, metrics=batch)


def log_model(
    run_id: str, onnx_bytes: bytes, spec: ModelSpec | None = None, *, name: str = MODEL_ARTIFACT
) -> str:
    """Log the ONNX model (one file) with the run; returns its model URI for `load_model`.

    With `spec`, the model's signature (`[-1, *input_shape]` float32 in, `[-1, num_classes]`
    out) is logged too, read from the spec rather than by running the model.
    """
    import onnx

    proto = onnx.load_from_string(onnx_bytes)
    signature = _signature(proto, spec) if spec is not None else None
    client = _client()
    run = _get_run(client, run_id)
    # Created here, in the run's experiment: left to itself MLflow files a model logged without
    # an active run under the Default experiment, in ./mlruns of the current folder.
    logged = client.create_logged_model(
        run.info.experiment_id, name=name, source_run_id=run_id, params=run.data.params
    )
    with _global_uri():
        info = mlflow.onnx.log_model(
            proto,
            name=name,
            signature=signature,
            # The exporter already wrote one self-contained file; keep it that way.
            save_as_external_data=False,
            # Named, so MLflow skips inferring them (a subprocess that re-imports the model).
            pip_requirements=mlflow.onnx.get_default_pip_requirements(),
            run_id=run_id,
            model_id=logged.model_id,
        )
    client.set_tag(run_id, TAG_STATUS, "trained")
    return str(info.model_uri)


def log_submission(
    run_id: str,
    payload_bytes: bytes,
    codec: str,
    submission_id: int,
    commit_tx: str | bytes,
    reveal_tx: str | bytes | None,
    competition: str,
) -> None:
    """What went on chain: the payload (an artifact, with its size and hash) and the ids."""
    from eth_utils import keccak

    client = _client()
    run = _get_run(client, run_id)
    expected = competition_key(competition)
    if run.data.tags.get(TAG_COMPETITION) != expected:
        raise TrackingError(
            f"run {run_id} belongs to competition {run.data.tags.get(TAG_COMPETITION)!r},"
            f" not {expected!r}; start a run for this competition first"
        )
    tags = {
        TAG_SUBMISSION: str(int(submission_id)),
        TAG_CODEC: codec,
        TAG_COMMIT_TX: _hex(commit_tx),
        # The contract keeps keccak256(modelBytes): the same hash identifies the payload here.
        TAG_PAYLOAD_HASH: "0x" + keccak(payload_bytes).hex(),
        TAG_STATUS: "revealed" if reveal_tx is not None else "committed",
    }
    if reveal_tx is not None:
        tags[TAG_REVEAL_TX] = _hex(reveal_tx)
    client.log_batch(
        run_id,
        metrics=[Metric("payload_bytes", float(len(payload_bytes)), _now_ms(), 0)],
        tags=[RunTag(key, value) for key, value in tags.items()],
    )
    with tempfile.TemporaryDirectory(prefix="deml-payload-") as tmp:
        path = Path(tmp, f"submission-{submission_id}.deml")
        path.write_bytes(payload_bytes)
        client.log_artifact(run_id, str(path), PAYLOAD_ARTIFACT)
    client.update_run(run_id, name=f"#{submission_id} {run.data.tags.get(TAG_MODEL, '')}".strip())


def log_verified(run_id: str, verified_correct: int, test_set_size: int) -> None:
    """The score miners agreed on: `verified_correct` and `verified_accuracy` on the test set."""
    if test_set_size <= 0 or not 0 <= verified_correct <= test_set_size:
        raise TrackingError(
            f"verified_correct must be 0..test_set_size; got {verified_correct} of {test_set_size}"
        )
    now = _now_ms()
    _client().log_batch(
        run_id,
        metrics=[
            Metric("verified_correct", float(verified_correct), now, 0),
            Metric("verified_accuracy", verified_correct / test_set_size, now, 0),
        ],
        tags=[RunTag(TAG_STATUS, "verified")],
    )
    _client().set_terminated(run_id, "FINISHED")


def fail_run(run_id: str, reason: str) -> None:
    """End a run whose submission was lost as FAILED, the reason in its `deml.status` tag."""
    client = _client()
    client.set_tag(run_id, TAG_STATUS, "lost")
    client.set_tag(run_id, TAG_LOST, reason)
    client.set_terminated(run_id, "FAILED")


def end_killed_runs(competition: str) -> list[str]:
    """End as KILLED, with the reason, the runs of this competition that a process on this
    machine started and left unsubmitted (training or trained) when it died; return their
    names. A submitted run stays open: it is finished when its score is verified."""
    exp_id = find_experiment(competition)
    if exp_id is None:
        return []
    client = _client()
    host = socket.gethostname()
    killed = []
    for run in client.search_runs([exp_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        if tags.get(TAG_HOST) != host or tags.get(TAG_STATUS) not in ("training", "trained"):
            continue
        pid = int(tags.get(TAG_PID, "0"))
        if pid and str(start_time(pid)) == tags.get(TAG_PID_START):
            continue  # its process is still at work
        reason = (
            f"its process ({pid} on {host}) ended while the model was {tags[TAG_STATUS]}:"
            " it was never submitted"
        )
        client.set_tag(run.info.run_id, TAG_STATUS, "killed")
        client.set_tag(run.info.run_id, TAG_LOST, reason)
        client.set_terminated(run.info.run_id, "KILLED")
        killed.append(run.info.run_name)
    return killed


def runs_for_competition(competition: str) -> list[dict[str, Any]]:
    """Every submission run of a competition, oldest first, as plain dicts."""
    exp_id = find_experiment(competition)
    if exp_id is None:
        return []
    runs = _client().search_runs([exp_id], order_by=["attributes.start_time ASC"])
    return [_summary(run) for run in runs]


# -- helpers ---------------------------------------------------------------------------------


def _client() -> MlflowClient:
    return MlflowClient(tracking_uri())


def _get_run(client: MlflowClient, run_id: str) -> Any:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        raise TrackingError(
            f"no MLflow run {run_id!r} in {tracking_uri()}: {exc.message}; is the tracking URI"
            " (DEML_MLFLOW_TRACKING_URI) the one the run was started with?"
        ) from exc


@contextmanager
def _global_uri() -> Iterator[None]:
    # MLflow's model logging reads the global tracking URI; point it at ours for the call only.
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri())
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def _summary(run: Any) -> dict[str, Any]:
    tags, metrics = run.data.tags, run.data.metrics
    submission = tags.get(TAG_SUBMISSION)
    return {
        "run_id": run.info.run_id,
        "model": tags.get(TAG_MODEL),
        "submission_id": int(submission) if submission is not None else None,
        "codec": tags.get(TAG_CODEC),
        "status": tags.get(TAG_STATUS),
        "val_accuracy": metrics.get("val_accuracy"),
        "verified_correct": _maybe_int(metrics.get("verified_correct")),
        "verified_accuracy": metrics.get("verified_accuracy"),
    }


def _signature(proto: Any, spec: ModelSpec) -> Any:
    import numpy as np
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    inputs = Schema([TensorSpec(np.dtype(np.float32), (-1, *spec.input_shape), _io_name(proto))])
    outputs = Schema(
        [TensorSpec(np.dtype(np.float32), (-1, spec.num_classes), _io_name(proto, output=True))]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _io_name(proto: Any, *, output: bool = False) -> str | None:
    values = proto.graph.output if output else proto.graph.input
    return values[0].name if len(values) == 1 else None


def _artifact_location(name: str) -> str | None:
    # Beside the sqlite db, not in ./mlruns of whatever folder the process started in.
    db = _sqlite_path(tracking_uri())
    if db is None:
        return None  # a tracking server chooses its own artifact store
    return (db.parent / "mlflow-artifacts" / name).resolve().as_uri()


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///"):
        return None
    # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy reads them.
    path = unquote(uri.removeprefix("sqlite:///").partition("?")[0])
    return None if path in ("", ":memory:") else Path(path)


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def _hex(value: str | bytes) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value if value.startswith("0x") else "0x" + value


def _maybe_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _now_ms() -> int:
    return int(time.time() * 1000)
