"""`deml demo`: one whole competition on the digits data, every role a real Prefect flow.

One host, three competitors (PyTorch and Keras, one submitting twice), three honest miners
and one that votes wrong scores. The local chain's clock jumps from phase to phase.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow

from flows.competitor import competitor_flow
from flows.host import host_flow
from flows.miner import miner_flow
from tasks import devchain, standing

HOST = 0
COMPETITORS = {1: ["torch-mlp", "torch-cnn"], 2: ["keras-cnn"], 3: ["keras-mlp"]}
HONEST_MINERS = (4, 5, 6)
DISHONEST_MINER = 7
# Short phases: the demo moves the clock itself.
TEMPLATE = {
    "prize_eth": 10,
    "entry_fee_eth": 0.1,
    "miner_stake_eth": 0.5,
    "quorum": 3,
    "durations": {"submit": 3600, "reveal": 3600, "vote_commit": 3600, "vote_reveal": 3600},
}


@flow(name="demo", log_prints=True)
def demo_flow(project: str = ".", epochs: int = 12) -> dict[str, Any]:
    """Play a competition from creation to the last claim; return the summary."""
    started = time.monotonic()
    devchain.require_dev_chain()

    print("[1/6] host: preparing the digits dataset (DVC), publishing it, creating the competition")
    address = host_flow(account=HOST, project=project, template=TEMPLATE)
    print("[2/6] miners register; competitors train, track (MLflow) and commit their models")
    for miner in (*HONEST_MINERS, DISHONEST_MINER):
        miner_flow(competition=address, account=miner)
    for account, models in COMPETITORS.items():
        competitor_flow(competition=address, account=account, models=models, epochs=epochs)

    print("[3/6] reveal phase: the host reveals the test key, competitors reveal their models")
    devchain.advance_past(address, "submit")
    host_flow(competition=address, account=HOST)
    for account in COMPETITORS:
        competitor_flow(competition=address, account=account, models=COMPETITORS[account])

    print("[4/6] vote-commit phase: miners score every model in the sandbox and commit")
    devchain.advance_past(address, "reveal")
    for miner in (*HONEST_MINERS, DISHONEST_MINER):
        miner_flow(competition=address, account=miner, dishonest=miner == DISHONEST_MINER)

    print("[5/6] vote-reveal phase: miners reveal their scores")
    devchain.advance_past(address, "vote_commit")
    for miner in (*HONEST_MINERS, DISHONEST_MINER):
        miner_flow(competition=address, account=miner)

    print("[6/6] settlement: the host settles and finalizes; everyone claims")
    devchain.advance_past(address, "vote_reveal")
    host_flow(competition=address, account=HOST)
    for miner in (*HONEST_MINERS, DISHONEST_MINER):
        miner_flow(competition=address, account=miner)
    for account in COMPETITORS:
        competitor_flow(competition=address, account=account, models=COMPETITORS[account])

    summary = standing.publish(address)
    summary["duration_s"] = round(time.monotonic() - started, 1)
    path = standing.write_summary(summary, "demo-summary.json")
    print(f"summary written to {path}")
    return summary
