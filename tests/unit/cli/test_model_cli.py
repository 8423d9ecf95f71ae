"""`deml model …` and `deml bench …` as a user runs them, and the published benchmark shapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from bench.cli import RESULTS, bench_app
from deml.cli.model import model_app
from deml.exceptions import PickleRefused
from tests.helpers.models import digits, onnx_model, reference

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = digits()
    paths = {
        "model": tmp_path / "model.onnx",
        "manifest": tmp_path / "manifest.json",
        "val": tmp_path / "val.npz",
        "test": tmp_path / "test.npz",
        "payload": tmp_path / "model.deml",
    }
    paths["model"].write_bytes(onnx_model("torch-cnn"))
    paths["manifest"].write_text(json.dumps({"input_shape": [64], "classes": list(range(10))}))
    np.savez(paths["val"], X=data.x_train, y=data.y_train)
    np.savez(paths["test"], X=data.x_test, y=data.y_test)
    return paths


def test_pack_inspect_and_score_a_model(files: dict[str, Path]) -> None:
    spec = ["--spec", str(files["manifest"])]
    model, payload = str(files["model"]), str(files["payload"])
    val = ["--val", str(files["val"])]
    packed = runner.invoke(model_app, ["pack", model, *spec, *val, "-o", payload])
    assert packed.exit_code == 0, packed.output
    size = files["payload"].stat().st_size
    assert f"wrote {files['payload']}: {size:,} bytes" in packed.output

    shown = runner.invoke(
        model_app, ["inspect", str(files["payload"]), "--spec", str(files["manifest"])]
    )
    assert shown.exit_code == 0, shown.output
    # The CNN's 6,090 weights, plus one quantization scale per output channel if lossy.
    params = int(re.search(r"parameters:\s+([\d,]+)", shown.output)[1].replace(",", ""))
    assert 6090 <= params <= 6090 + 16 + 32 + 10
    assert "input:         0: float[batch, 64]" in shown.output
    assert "Conv" in shown.output and "passes every check miners make" in shown.output
    # What it costs a sample, and how large a test split the operation budget scores with it.
    per_sample = int(
        re.search(r"operations:\s+([\d,]+) a sample", shown.output)[1].replace(",", "")
    )
    assert 90_000 < per_sample < 110_000  # two 3x3 convolutions on 8x8: about 93,500
    assert f"up to {20_000_000_000 // per_sample:,} samples" in shown.output

    scored = runner.invoke(
        model_app, ["score", str(files["payload"]), "--data", str(files["test"]), "--json"]
    )
    assert scored.exit_code == 0, scored.output
    result = json.loads(scored.output)
    native = int(
        np.count_nonzero(reference("torch-cnn").predict(digits().x_test) == digits().y_test)
    )
    assert result["error"] is None and result["total"] == 450
    assert abs(result["correct"] - native) <= 2  # lossy codec within half a point
    # Which samples it got right, one bit each: as many set bits as correct answers.
    bitmap = bytes.fromhex(result["bitmap"])
    assert len(bitmap) == (450 + 7) // 8
    assert sum(bin(b).count("1") for b in bitmap) == result["correct"]


def test_pack_refuses_a_model_over_the_operation_budget_for_the_test_split(
    files: dict[str, Path],
) -> None:
    args = ["pack", str(files["model"]), "--spec", str(files["manifest"])]
    refused = runner.invoke(
        model_app, [*args, "-o", str(files["payload"]), "--test-samples", "1000000"]
    )
    assert refused.exit_code != 0
    assert "scoring 1,000,000 samples takes" in str(refused.exception)
    assert not files["payload"].exists()  # nothing written for a model no miner would run


def test_pack_refuses_a_pickled_checkpoint(files: dict[str, Path], tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.pth"
    torch.save(reference("torch-mlp").model.state_dict(), checkpoint)
    result = runner.invoke(
        model_app, ["pack", str(checkpoint), "--spec", str(files["manifest"]), "-o", "x.deml"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, PickleRefused)
    assert "never loads pickled files" in str(result.exception)


def test_score_of_a_garbled_file_reports_zero_and_the_reason(files: dict[str, Path]) -> None:
    files["payload"].write_bytes(b"DeML\x01\x01\x00\x00\x10\x00garbage")
    result = runner.invoke(
        model_app, ["score", str(files["payload"]), "--data", str(files["test"])]
    )
    assert result.exit_code == 0, result.output
    assert "0/450 correct" in result.output and "corrupt zlib stream" in result.output


def test_published_benchmark_results_have_the_agreed_shape() -> None:
    codec_results = json.loads((RESULTS / "codec.json").read_text())
    assert set(codec_results) == {"models"}
    model_keys = {
        "name",
        "framework",
        "params",
        "onnx_bytes",
        "seed_bytes",
        "reference_accuracy",
        "codecs",
    }
    names = []
    for model in codec_results["models"]:
        assert set(model) == model_keys
        assert all(set(c) == {"codec", "bytes", "accuracy"} for c in model["codecs"])
        names.append(model["name"])
        # Done-when: some codec at most 1/8 of the seed's size, losing at most half a point.
        assert any(
            8 * c["bytes"] <= model["seed_bytes"]
            and model["reference_accuracy"] - c["accuracy"] <= 0.005
            for c in model["codecs"]
        ), model["name"]
    assert names == ["torch-mlp", "torch-cnn", "keras-mlp", "keras-cnn"]
    scoring_results = json.loads((RESULTS / "scoring.json").read_text())
    assert set(scoring_results) == {"models", "samples", "sandboxed_s", "in_process_s", "native_s"}
    assert scoring_results["models"] == 20


def test_bench_app_lists_its_commands() -> None:
    result = runner.invoke(bench_app, ["--help"])
    assert result.exit_code == 0
    assert "codec" in result.output and "scoring" in result.output
