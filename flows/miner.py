"""The miner's flow: one idempotent pass over the open competitions, doing what each phase
allows. Deployed on an interval schedule (`deml serve`), it keeps a miner working."""

from __future__ import annotations

from prefect import Flow, flow
from prefect.task_runners import ThreadPoolTaskRunner

from deml.exceptions import MinerError
from tasks import miner, settlement, standing


@flow(name="miner", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def miner_flow(
    competition: str | None = None,
    account: int = 0,
    dishonest: bool = False,
    bond_units: int | None = None,
) -> dict[str, int]:
    """Keep a bond in the pool; in each competition draw the jury when due, and when drafted
    score every model, commit and reveal the vote and publish what it needs; settle, finalize,
    claim; publish the standing. `competition` limits the pass to one; `bond_units` overrides
    the `miner_bond_units` setting; `dishonest` is for demos only."""
    miner.bond(account, bond_units)
    addresses = [competition] if competition else miner.open_competitions(account)
    scored: dict[str, int] = {}
    failed: dict[str, str] = {}
    for address in addresses:
        # One competition this miner cannot work on now (a store that lacks its dataset, a
        # node that stops answering mid-pass) must not cost its votes on the others: each
        # gets its own try, the failures are named at the end, and the next pass retries.
        try:
            count = _work_on(address, account, dishonest)
        except Exception as exc:
            failed[address] = f"{type(exc).__name__}: {exc}"
            print(f"{address}: could not work on it this pass ({failed[address]})")
            continue
        if count is not None:
            scored[address] = count
    if failed:
        raise MinerError(
            f"could not work on {len(failed)} of {len(addresses)} competitions: "
            + "; ".join(f"{a}: {why}" for a, why in failed.items())
        )
    return scored


def _work_on(address: str, account: int, dishonest: bool) -> int | None:
    """This pass's work on one competition; return the models scored (None: not on its jury,
    or its test split is not out or not usable)."""
    count = None
    miner.draw_jury(address, account)
    seats = miner.drafted(address, account)
    if not seats:
        print(f"{address}: not on this vote's jury (or it is not drawn yet): nothing to score")
        # A watcher checks a decided root anyway: a jury can be bought whole.
        if (watched := miner.to_watch(address, account)) and miner.check_test_split(
            address, account
        ):
            count = len([s.result() for s in miner.score_model.map(address, account, watched)])
            print(f"{address}: watching the decided root; scored {count} disputable models")
    elif miner.check_test_split(address, account):
        ids = miner.models_to_score(address, account)
        # One task per model, fanned out by the flow's task runner (threads by default;
        # `deml mine run --dask ADDRESS` runs them on a Dask cluster through prefect-dask).
        scores = miner.score_model.map(address, account, ids)
        count = len([s.result() for s in scores])
        print(f"{address}: on the jury with {seats} seats; scored {count} models")
    miner.commit_vote(address, account, dishonest)
    miner.reveal_vote(address, account)
    miner.publish(address, account)
    miner.dispute(address, account)
    miner.settle_tally(address, account)
    if settlement.finalize(address, account):
        settlement.claim(address, account)
    standing.publish(address)
    return count


def with_dask(address: str) -> Flow[..., dict[str, int]]:
    """The miner flow scoring on a Dask cluster (`local`: a cluster of this machine's cores).

    Each worker process runs its own scoring sandbox; needs the `dask` extra (prefect-dask).
    """
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner() if address == "local" else DaskTaskRunner(address=address)
    return miner_flow.with_options(task_runner=runner)
