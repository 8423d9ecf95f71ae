"""The README's benchmark tables are the ones rendered from bench/results/*.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import readme
from deml.exceptions import DemlError


def test_committed_readme_tables_match_committed_results():
    text = readme.README.read_text()
    assert readme.rendered(text) == text, "run `deml bench readme` and commit the README"


def test_a_new_measurement_rewrites_only_its_table(tmp_path: Path):
    results = tmp_path / "results"
    shutil.copytree(readme.RESULTS, results)
    report = json.loads((results / "gas.json").read_text())
    report["operations"]["finalize"] = 149_999
    report["bytecode_size"]["MinerPool"] = 7_001
    (results / "gas.json").write_text(json.dumps(report))
    copy = tmp_path / "README.md"
    original = readme.README.read_text()
    copy.write_text(original)

    assert readme.update(copy, results) is True
    updated = copy.read_text()
    assert "| finalize | 149,999 | ≤ 150,000 |" in updated
    assert "| deployed code of MinerPool | 7,001 B | < 24,576 B |" in updated
    before, _, _ = original.partition("<!-- bench:gas -->")
    assert updated.startswith(before), "text above the table is the author's and stays"
    assert readme.update(copy, results) is False, "a second run changes nothing"


def test_missed_targets_are_listed_under_the_table():
    report = json.loads((readme.RESULTS / "gas.json").read_text())
    report["targets_missed"] = ["create: 310,000 > 300,000"]
    assert readme.gas_table(report).endswith("Targets missed: create: 310,000 > 300,000.")


def test_a_readme_without_the_markers_is_a_clear_error(tmp_path: Path):
    copy = tmp_path / "README.md"
    copy.write_text("# no tables here\n")
    with pytest.raises(DemlError, match="bench:gas"):
        readme.update(copy)


def test_unreadable_results_name_the_file(tmp_path: Path):
    copy = tmp_path / "README.md"
    copy.write_text(readme.README.read_text())
    (tmp_path / "results").mkdir()
    with pytest.raises(DemlError, match=r"gas\.json"):
        readme.update(copy, tmp_path / "results")


def test_a_model_that_cannot_be_disputed_says_why_in_the_zk_table():
    report = json.loads((readme.RESULTS / "zk.json").read_text())
    report["models"].append(
        {"name": "torch-huge", "params": 9_000_000, "logrows": 23,
         "not_disputable": "DemlError: its circuit needs 2^23 rows, past 2^18"}
    )  # fmt: skip
    table = readme.zk_table(report)
    assert "| torch-huge | 9,000,000 | 2^23 | not disputable: its circuit needs 2^23 rows" in table
    assert table.count("\n") == len(report["models"]) + 1  # header, rule, one row a model
