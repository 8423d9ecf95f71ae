"""MLflow tracking: one experiment per competition, one run per submission, claimed vs verified."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.onnx
import numpy as np
import pytest
from mlflow import MlflowClient
from onnx import TensorProto, helper, numpy_helper

from deml.model.spec import ModelSpec
from deml.roles import tracking

SPEC = ModelSpec((64,), 10)
COMPETITION = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
CHECKSUMMED = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"


@pytest.fixture
def store(
    migrated_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MlflowClient]:
    """A fresh copy of the migrated db, configured for deml.tracking; a client on it."""
    path = tmp_path / "mlflow.db"
    shutil.copy(migrated_db, path)
    previous = mlflow.get_tracking_uri()
    monkeypatch.setattr(tracking, "_tracking_uri", None)
    uri = tracking.configure(f"sqlite:///{path}")
    yield MlflowClient(uri)
    mlflow.set_tracking_uri(previous)


def tiny_onnx() -> bytes:
    """A linear digits classifier built by hand: input x [batch, 64], output y [batch, 10]."""
    weights = numpy_helper.from_array(np.full((64, 10), 0.01, np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_submission_run_records_training_model_submission_and_verification(
    store: MlflowClient, tmp_path: Path
) -> None:
    run_id = tracking.start_submission_run(
        COMPETITION, "torch-mlp", {"model": "torch-mlp", "epochs": 3, "seed": 0}
    )
    for epoch, accuracy in enumerate((0.80, 0.90, 0.95), start=1):
        tracking.log_epoch(run_id, epoch, {"loss": 1 / epoch, "val_accuracy": accuracy})
    model_uri = tracking.log_model(run_id, tiny_onnx(), SPEC)
    payload = b"DeML\x01\x11" + bytes(range(200))
    commit_tx, reveal_tx = "0x" + "aa" * 32, bytes.fromhex("bb" * 32)
    tracking.log_submission(run_id, payload, "int8+lzma", 3, commit_tx, reveal_tx, COMPETITION)
    tracking.log_verified(run_id, verified_correct=441, test_set_size=450)

    run = store.get_run(run_id)
    assert run.data.params == {"model": "torch-mlp", "epochs": "3", "seed": "0"}
    history = store.get_metric_history(run_id, "val_accuracy")
    assert [(m.step, m.value) for m in history] == [(1, 0.80), (2, 0.90), (3, 0.95)]
    assert run.data.metrics["verified_correct"] == 441
    assert run.data.metrics["verified_accuracy"] == pytest.approx(441 / 450)
    assert run.data.metrics["payload_bytes"] == len(payload)
    assert run.data.tags[tracking.TAG_SUBMISSION] == "3"
    assert run.data.tags[tracking.TAG_CODEC] == "int8+lzma"
    assert run.data.tags[tracking.TAG_COMMIT_TX] == commit_tx
    assert run.data.tags[tracking.TAG_REVEAL_TX] == "0x" + "bb" * 32
    assert run.data.tags[tracking.TAG_PAYLOAD_HASH].startswith("0x")
    assert run.data.tags[tracking.TAG_STATUS] == "verified"
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "#3 torch-mlp"

    model = mlflow.onnx.load_model(model_uri)
    (graph_input,) = model.graph.input
    assert graph_input.name == "x"
    assert [d.dim_value or d.dim_param for d in graph_input.type.tensor_type.shape.dim] == [
        "batch",
        64,
    ]
    signature = mlflow.models.get_model_info(model_uri).signature
    assert signature.inputs.inputs[0].shape == (-1, 64)
    assert signature.outputs.inputs[0].shape == (-1, 10)
    saved = store.download_artifacts(run_id, "submission/submission-3.deml", str(tmp_path))
    assert Path(saved).read_bytes() == payload

    (summary,) = tracking.runs_for_competition(COMPETITION)
    assert summary == {
        "run_id": run_id,
        "model": "torch-mlp",
        "submission_id": 3,
        "codec": "int8+lzma",
        "status": "verified",
        "val_accuracy": 0.95,
        "verified_correct": 441,
        "verified_accuracy": pytest.approx(441 / 450),
    }


def test_one_experiment_per_competition(store: MlflowClient) -> None:
    # The same contract spelled two ways is one competition.
    first = tracking.start_submission_run(COMPETITION, "torch-mlp", {})
    second = tracking.start_submission_run(CHECKSUMMED, "keras-cnn", {})
    elsewhere = tracking.start_submission_run(OTHER, "torch-cnn", {})

    names = {e.name for e in store.search_experiments()} - {"Default"}
    assert names == {f"deml-{CHECKSUMMED}", tracking.experiment_name(OTHER)}
    assert [r["run_id"] for r in tracking.runs_for_competition(COMPETITION)] == [first, second]
    assert [r["model"] for r in tracking.runs_for_competition(CHECKSUMMED)] == [
        "torch-mlp",
        "keras-cnn",
    ]
    (only,) = tracking.runs_for_competition(OTHER)
    assert only["run_id"] == elsewhere
    assert only["submission_id"] is None and only["verified_accuracy"] is None
    assert tracking.runs_for_competition("0x" + "00" * 20) == []


def test_artifacts_live_beside_the_database(store: MlflowClient, tmp_path: Path) -> None:
    run_id = tracking.start_submission_run(COMPETITION, "torch-mlp", {})
    tracking.log_model(run_id, tiny_onnx())
    assert list((tmp_path / "mlflow-artifacts").rglob("model.onnx"))
    # Not filed under the Default experiment (whose artifacts go to ./mlruns of the cwd).
    assert store.search_logged_models(experiment_ids=["0"]) == []


def test_submission_for_another_competition_is_refused(store: MlflowClient) -> None:
    run_id = tracking.start_submission_run(COMPETITION, "torch-mlp", {})
    with pytest.raises(tracking.TrackingError, match="belongs to competition"):
        tracking.log_submission(run_id, b"payload", "zlib", 1, "0x01", None, OTHER)


def test_impossible_verified_score_is_refused(store: MlflowClient) -> None:
    run_id = tracking.start_submission_run(COMPETITION, "torch-mlp", {})
    with pytest.raises(tracking.TrackingError, match=r"0\.\.test_set_size"):
        tracking.log_verified(run_id, verified_correct=451, test_set_size=450)


def test_unknown_run_is_explained(store: MlflowClient) -> None:
    with pytest.raises(tracking.TrackingError, match="no MLflow run 'f00'"):
        tracking.log_model("f00", tiny_onnx())


def test_zoo_training_is_tracked_per_epoch(store: MlflowClient) -> None:
    from sklearn.datasets import load_digits

    from deml.model import export, zoo

    X, y = load_digits(return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.int64)
    run_id = tracking.start_submission_run(COMPETITION, "torch-mlp", {"epochs": 2})

    trained = zoo.train(
        "torch-mlp",
        X[:1200],
        y[:1200],
        X[1200:],
        y[1200:],
        epochs=2,
        on_epoch=lambda epoch, metrics: tracking.log_epoch(run_id, epoch, metrics),
    )
    tracking.log_model(run_id, export.to_onnx(trained.model, trained.spec), trained.spec)

    (summary,) = tracking.runs_for_competition(COMPETITION)
    assert summary["val_accuracy"] == pytest.approx(trained.val_accuracy)
    assert {m.step for m in store.get_metric_history(run_id, "train_accuracy")} == {1, 2}


def test_configure_defaults_to_the_settings_sqlite_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DEML_MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(tracking, "_tracking_uri", None)
    try:
        uri = tracking.configure()
    finally:
        mlflow.set_tracking_uri(previous)
    assert uri == f"sqlite:///{(tmp_path / 'state' / 'mlflow.db').resolve()}"
    assert (tmp_path / "state").is_dir()


def test_the_runs_a_dead_process_left_unsubmitted_end_killed(store: MlflowClient) -> None:
    """A competitor killed while training leaves its run RUNNING: the next competitor command
    on the machine ends it KILLED with the reason. A run of a live process, and a submitted
    run (its score is recorded later, from any process), stay open."""
    uri = tracking.tracking_uri()

    def run_in_a_process_that_dies(model: str, status: str) -> None:
        script = (
            "import os\nfrom deml.roles import tracking\n"
            f"tracking.configure({uri!r})\n"
            f"run = tracking.start_submission_run({COMPETITION!r}, {model!r}, {{}})\n"
            f"tracking._client().set_tag(run, tracking.TAG_STATUS, {status!r})\n"
            "os._exit(9)  # killed: nothing ends the run\n"
        )
        subprocess.run([sys.executable, "-c", script], check=False, timeout=120)

    run_in_a_process_that_dies("torch-mlp", "training")
    run_in_a_process_that_dies("torch-cnn", "committed")
    live = tracking.start_submission_run(COMPETITION, "keras-mlp", {})  # this process's
    assert tracking.end_killed_runs(COMPETITION) == ["torch-mlp"]
    runs = {r.info.run_name: r for r in store.search_runs([tracking.find_experiment(COMPETITION)])}
    killed = runs["torch-mlp"]
    assert killed.info.status == "KILLED"
    assert killed.data.tags[tracking.TAG_STATUS] == "killed"
    assert "ended while the model was training" in killed.data.tags[tracking.TAG_LOST]
    assert runs["torch-cnn"].info.status == "RUNNING"  # submitted: its score comes later
    assert store.get_run(live).info.status == "RUNNING"
    assert tracking.end_killed_runs(COMPETITION) == []  # once
