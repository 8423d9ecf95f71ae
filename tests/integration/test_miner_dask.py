"""A miner scoring on a Dask cluster (prefect-dask): each worker process has its own sandbox,
and the scores land in one ledger and one vote."""

from __future__ import annotations

from pathlib import Path

import pytest

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import connect
from deml.contracts.bindings import Competition
from deml.contracts.score_tree import unpack
from deml.contracts.types import VoteState
from deml.roles import miner
from deml.settings import load_settings
from flows.competitor import competitor_flow
from flows.host import host_flow
from flows.miner import miner_flow, with_dask
from tasks import devchain

MINER = 4
TEMPLATE = {
    "seats": 3,
    "durations": {
        "submit": 600,
        "reveal": 600,
        "key": 600,
        "vote_commit": 600,
        "vote_reveal": 600,
        "tally": 600,
    },
}


@pytest.mark.slow
def test_miner_scores_on_a_local_dask_cluster(role_env: Path) -> None:
    miner_flow(account=MINER)  # bonds: the pool must seat a jury before a competition opens
    address = host_flow(account=0, project=str(role_env), template=TEMPLATE)
    competitor_flow(competition=address, account=1, models=["torch-mlp", "torch-cnn"], epochs=3)
    devchain.advance_past(address, "submit")
    miner_flow(competition=address, account=MINER)  # the only miner: it draws its own jury
    competitor_flow(competition=address, account=1)
    devchain.advance_past(address, "reveal")
    host_flow(competition=address, account=0)  # the key

    scored = with_dask("local")(competition=address, account=MINER)
    assert scored == {address: 2}
    miner_account = accounts.from_mnemonic(DEV_MNEMONIC)[MINER]
    book = miner.MinerBook(load_settings().state_dir, address, miner_account.address)
    ledger = book.load()
    assert sorted(ledger.scores) == ["1", "2"]
    assert all(s["error"] is None and s["correct"] > 300 for s in ledger.scores.values())
    # One vote over both scores, committed.
    comp = Competition(connect(load_settings()), address)
    assert comp.seat(1, miner_account.address).state == VoteState.COMMITTED
    ballot = book.ballot(1)
    assert ballot is not None
    assert [(s.id, s.score) for s in unpack(bytes.fromhex(ballot.leaves))] == [
        (1, ledger.scores["1"]["correct"]),
        (2, ledger.scores["2"]["correct"]),
    ]
