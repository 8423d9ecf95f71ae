"""Slither on the shipped contracts: only the findings contracts/README.md accepts remain."""

from __future__ import annotations

from pathlib import Path

from deml.contracts import analysis
from tests.helpers.project import ROOT

SLITHER = ROOT / ".slither" / "bin" / "slither"  # installed by `make setup`
# Reviewed in contracts/README.md ("Slither"): deadlines are the protocol's design, and
# revealVotes' branches are one revert check each.
ACCEPTED = {"timestamp", "cyclomatic-complexity"}


def test_slither_finds_nothing_unreviewed(tmp_path: Path) -> None:
    project = tmp_path / "slither"
    analysis.write_build_info(ROOT, project)
    findings = analysis.run_slither(project, slither=str(SLITHER))
    unreviewed = [
        f"{f['check']} ({f['impact']}): {f['first_markdown_element']}"
        for f in findings
        if f["check"] not in ACCEPTED
    ]
    assert unreviewed == []
    # The pipeline really analysed the contracts: the accepted timestamp checks are seen.
    assert any(f["check"] == "timestamp" for f in findings)
