"""The model spec read from a dataset manifest: input shape and number of classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deml.exceptions import SpecError
from deml.model.spec import ModelSpec


def test_spec_reads_the_dataset_manifest_classes_as_list_or_count(tmp_path: Path) -> None:
    manifest = {"name": "digits", "input_shape": [64], "classes": list(range(10)), "counts": {}}
    assert ModelSpec.from_manifest(manifest) == ModelSpec((64,), 10)
    assert ModelSpec.from_manifest({"input_shape": [3, 32, 32], "classes": 100}).num_classes == 100
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert ModelSpec.from_file(path).describe_input() == "[batch, 64]"


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"classes": 10}, "no input_shape"),
        ({"input_shape": [64]}, "no classes"),
        ({"input_shape": 64, "classes": 10}, "must be a list"),
        ({"input_shape": [], "classes": 10}, "non-empty list of integers"),
        ({"input_shape": [8, 0], "classes": 10}, "positive sizes"),
        ({"input_shape": [1 << 12, 1 << 12], "classes": 10}, "at most 4,194,304 elements"),
        ({"input_shape": [8.5], "classes": 10}, "list of integers"),
        ({"input_shape": [64], "classes": 1}, "num_classes must be 2"),
        ({"input_shape": [64], "classes": ["a", "a"]}, "duplicate"),
        ({"input_shape": [64], "classes": True}, "must be an integer"),
    ],
)
def test_malformed_manifest_is_a_spec_error(manifest: dict, reason: str) -> None:
    with pytest.raises(SpecError, match=reason):
        ModelSpec.from_manifest(manifest)


def test_unreadable_manifest_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the dataset manifest"):
        ModelSpec.from_file(tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(SpecError, match="not a JSON object"):
        ModelSpec.from_file(tmp_path / "list.json")
