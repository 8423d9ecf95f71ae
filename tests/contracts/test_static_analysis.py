"""Slither on the shipped contracts: only the findings contracts/README.md accepts remain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deml.contracts import analysis
from tests.helpers.project import ROOT

SLITHER = ROOT / ".slither" / "bin" / "slither"  # installed by `make setup`
# Reviewed in contracts/README.md ("Slither"), each with its reason: a detector and the
# functions where its finding is accepted (None: everywhere). The same detector firing in any
# other function is a new finding, and fails the test until it is reviewed.
ACCEPTED: dict[str, set[str] | None] = {
    "timestamp": None,  # every deadline check
    "weak-prng": {"Competition.finalize", "MinerPool._pick"},
    "incorrect-equality": {
        "Competition._credit",
        "Competition.commitVote",
        "Competition.finalize",
        "Competition.overturn",
        "Competition.settleSubmissions",
        "MinerPool.expireSeal",
    },
    "reentrancy-no-eth": {"Competition._claim", "Competition.drawJury"},
    "reentrancy-benign": {
        "Competition._settleJuror",
        "Competition.drawJury",
        "Disputes.challenge",
    },
    "reentrancy-events": {
        "Competition.drawJury",
        "CompetitionFactory.create",
        "Disputes.challenge",
    },
    "calls-loop": {"Competition._settleJuror"},
    "uninitialized-local": {"Competition._jurorOutcome", "Competition.finalize"},
    "unused-return": {
        "Competition.drawJury",
        "Competition.proveDissent",
        "Competition.publishVector",
        "Disputes.challenge",
        "Disputes.publishBitmaps",
    },
    "cyclomatic-complexity": {
        "Competition.finalize",
        "CompetitionFactory._checkParams",
        "Disputes._checkProof",
    },
    "divide-before-multiply": {"Disputes.publishBitmaps"},
    "assembly": {"ScoreTree._pair", "Architectures._accumulate"},
    "low-level-calls": {"MinerPool._blockHash"},
}


def where(finding: dict[str, Any]) -> str:
    """`Contract.function` of a finding's first element (a local variable: its function's)."""
    element = finding["elements"][0]
    parent = element["type_specific_fields"]["parent"]
    if element["type"] == "variable":
        return f"{parent['type_specific_fields']['parent']['name']}.{parent['name']}"
    return f"{parent['name']}.{element['name']}"


def reviewed(finding: dict[str, Any]) -> bool:
    if finding["check"] not in ACCEPTED:
        return False
    functions = ACCEPTED[finding["check"]]
    return functions is None or where(finding) in functions


@pytest.mark.slow
def test_slither_finds_nothing_unreviewed(tmp_path: Path) -> None:
    project = tmp_path / "slither"
    analysis.write_build_info(ROOT, project)
    findings = analysis.run_slither(project, slither=str(SLITHER))
    unreviewed = [
        f"{f['check']} ({f['impact']}) in {where(f)}: {f['first_markdown_element']}"
        for f in findings
        if not reviewed(f)
    ]
    assert unreviewed == []
    # The pipeline really analysed the contracts: the accepted timestamp checks are seen.
    assert any(f["check"] == "timestamp" for f in findings)
