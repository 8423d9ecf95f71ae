"""`deml demo`: one whole competition on the digits data, every role a real Prefect flow.

One host, three competitors (PyTorch and Keras, two submitting twice), and a pool of four
miners: three honest, and one that votes a wrong score vector. Models are revealed in EIP-4844
blobs, so a wide model of 160 KB competes. The cheat holds a fifth of the
pool's bond, so the 21-seat jury drawn when submissions close seats it in about 99% of runs
(and would hand it a majority in about 0.06%). The local chain's clock jumps from phase to
phase.
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
# Competitor 3's wide MLP packs to about 160 KB, more than a calldata reveal carries (96 KiB):
# the demo reveals in blobs, and it tends to win.
COMPETITORS = {
    1: ["torch-mlp", "torch-cnn"],
    2: ["keras-cnn"],
    3: ["keras-mlp", "torch-wide-mlp"],
}
HONEST_MINERS = (4, 5, 6)
DISHONEST_MINER = 7
# Seat units each miner bonds: the cheat a fifth of the pool (12 of 60).
BOND_UNITS = {4: 16, 5: 16, 6: 16, 7: 12}
# Short phases: the demo moves the clock itself.
TEMPLATE = {
    "prize_eth": 10,
    "entry_fee_eth": 0.1,
    "seats": 21,
    # Models travel in EIP-4844 blobs (anvil runs Prague): up to 256 KiB each here.
    "reveal_mode": "blob",
    "max_model_bytes": 262_144,
    "durations": {
        "submit": 3600,
        "reveal": 3600,
        "key": 3600,
        "vote_commit": 3600,
        "vote_reveal": 3600,
        "tally": 3600,
    },
}
MINERS = (*HONEST_MINERS, DISHONEST_MINER)


def _miners(address: str | None) -> None:
    for account in MINERS:
        miner_flow(
            competition=address,
            account=account,
            dishonest=account == DISHONEST_MINER,
            bond_units=BOND_UNITS[account],
        )


@flow(name="demo", log_prints=True)
def demo_flow(project: str = ".", epochs: int = 12) -> dict[str, Any]:
    """Play a competition from creation to the last claim; return the summary."""
    started = time.monotonic()
    devchain.require_dev_chain()

    print("[1/7] host: preparing the digits dataset (DVC), publishing it, creating the competition")
    _miners(None)  # bond in the pool first: creation checks it can seat a re-vote
    address = host_flow(account=HOST, project=project, template=TEMPLATE)
    print("[2/7] competitors train, track (MLflow) and commit their models")
    for account, models in COMPETITORS.items():
        competitor_flow(competition=address, account=account, models=models, epochs=epochs)

    print("[3/7] submissions close: the jury is drawn from the pool; competitors reveal")
    devchain.advance_past(address, "submit")
    _miners(address)
    for account in COMPETITORS:
        competitor_flow(competition=address, account=account, models=COMPETITORS[account])

    print("[4/7] key phase: the host reveals the test key, now that no model can change")
    devchain.advance_past(address, "reveal")
    host_flow(competition=address, account=HOST)

    print("[5/7] vote-commit: the jurors score every model in the sandbox and commit a root")
    _miners(address)

    print("[6/7] vote-reveal: the jurors reveal their roots")
    devchain.advance_past(address, "vote_commit")
    _miners(address)

    print("[7/7] settlement: the winning scores and their bitmaps are published; after the")
    print("      dispute window (nobody challenged the root), the competition is finalized")
    devchain.advance_past(address, "vote_reveal")
    _miners(address)
    devchain.advance_past(address, "tally")  # the dispute window of the decided root
    _miners(address)
    host_flow(competition=address, account=HOST)
    for account in COMPETITORS:
        competitor_flow(competition=address, account=account, models=COMPETITORS[account])

    summary = standing.publish(address)
    summary["duration_s"] = round(time.monotonic() - started, 1)
    path = standing.write_summary(summary, "demo-summary.json")
    print(f"summary written to {path}")
    return summary
