"""A competitor that comes back after the reveal window is told what it lost, and its MLflow
run ends FAILED with the reason (issue 13: a missed reveal used to report success)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.roles import competitor, tracking
from deml.settings import load_settings
from flows.competitor import competitor_flow
from flows.host import host_flow
from flows.miner import miner_flow
from tasks import devchain

COMPETITOR = 1
TEMPLATE = {"seats": 3, "durations": dict.fromkeys(
    ("submit", "reveal", "key", "vote_commit", "vote_reveal", "tally"), 600
)}  # fmt: skip


def test_a_missed_reveal_is_reported_and_its_run_fails(
    role_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    miner_flow(account=4)  # bonds: the pool must seat a jury before a competition opens
    address = host_flow(account=0, project=str(role_env), template=TEMPLATE)
    (sid,) = competitor_flow(
        competition=address, account=COMPETITOR, models=["torch-mlp"], epochs=2
    )
    caplog.set_level(logging.INFO)
    competitor_flow(competition=address, account=COMPETITOR)  # too early: it says when
    assert re.search(r"nothing to reveal yet: the reveal window opens in \d+ (s|min)", caplog.text)

    devchain.advance_past(address, "reveal")  # the competitor was away all window long
    caplog.clear()
    competitor_flow(competition=address, account=COMPETITOR)
    lost = rf"lost: the reveal window closed \d+ s ago: submission {sid} forfeits its buy-in"
    assert re.search(lost, caplog.text), caplog.text

    settings = load_settings()
    who = accounts.from_mnemonic(DEV_MNEMONIC)[COMPETITOR]
    (entry,) = competitor.Entries(settings.state_dir, address, who.address).all()
    assert entry.lost is not None and not entry.revealed
    run = MlflowClient(settings.resolved_mlflow_uri).get_run(entry.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[tracking.TAG_STATUS] == "lost"
    assert f"submission {sid} forfeits its buy-in" in run.data.tags[tracking.TAG_LOST]

    caplog.clear()
    competitor_flow(competition=address, account=COMPETITOR)
    assert "forfeits" not in caplog.text  # said once, not on every run
