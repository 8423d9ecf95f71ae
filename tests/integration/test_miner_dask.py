"""A miner scoring on a Dask cluster (prefect-dask): each worker process has its own sandbox,
and the scores land in one ledger and one vote."""

from __future__ import annotations

from pathlib import Path

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import connect
from deml.contracts.bindings import Competition
from deml.contracts.types import MinerStatus
from deml.roles import miner
from deml.settings import load_settings
from flows.competitor import competitor_flow
from flows.host import host_flow
from flows.miner import with_dask
from tasks import devchain

TEMPLATE = {
    "quorum": 1,
    "durations": {"submit": 600, "reveal": 600, "vote_commit": 600, "vote_reveal": 600},
}


def test_miner_scores_on_a_local_dask_cluster(role_env: Path) -> None:
    address = host_flow(account=0, project=str(role_env), template=TEMPLATE)
    competitor_flow(competition=address, account=1, models=["torch-mlp", "torch-cnn"], epochs=3)
    devchain.advance_past(address, "submit")
    host_flow(competition=address, account=0)
    competitor_flow(competition=address, account=1)
    miner_account = accounts.from_mnemonic(DEV_MNEMONIC)[4]
    chain = connect(load_settings())
    Competition(chain, address).register_miner(sender=miner_account)
    devchain.advance_past(address, "reveal")

    scored = with_dask("local")(competition=address, account=4)

    assert scored == {address: 2}
    book = miner.MinerBook(load_settings().state_dir, address, miner_account.address)
    ledger = book.load()
    assert sorted(ledger.scores) == ["1", "2"]
    assert all(s["error"] is None and s["correct"] > 300 for s in ledger.scores.values())
    comp = Competition(chain, address)
    assert comp.participant(miner_account.address).miner_status == MinerStatus.COMMITTED
    assert ledger.vote_ids == [1, 2]
