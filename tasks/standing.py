"""Publishing a competition's standing: Prefect artifacts, and the demo's summary file."""

from __future__ import annotations

import json
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from deml._fs import write_atomic
from deml.roles import standing
from tasks.common import RETRIES, competition, session

# The artifacts' keys: the kind, then the competition (Prefect keys are lower-case, short).
ARTIFACTS = ("leaderboard", "jury", "payouts")


def artifact_key(kind: str, address: str) -> str:
    """The key of one of a competition's artifacts (`leaderboard-<address prefix>`)."""
    return f"{kind}-{address.lower()[2:12]}"


@task(cache_policy=NO_CACHE, **RETRIES)
def publish(address: str) -> dict[str, Any]:
    """Publish the leaderboard, the jury (burned seats included) and the payouts as Prefect
    table artifacts, as `deml status` and the dashboard show them; return the report."""
    _, chain = session()
    comp = competition(chain, address)
    report = standing.report(comp, comp.balance())
    payouts = report["payouts"]
    tables = {
        "leaderboard": report["leaderboard"],
        "jury": report["jurors"],
        "payouts": payouts["entries"] if payouts else [],
    }
    empty = {
        "leaderboard": "no submissions yet",
        "jury": "no jury drawn yet",
        "payouts": "not finalized yet",
    }
    for kind in ARTIFACTS:
        create_table_artifact(
            table=tables[kind] or [{"status": empty[kind]}],
            key=artifact_key(kind, address),
            description=f"{kind.capitalize()} of competition {address} ({report['phase']})",
        )
    return report


@task(cache_policy=NO_CACHE)
def write_summary(report: dict[str, Any], name: str) -> str:
    """Write a report as JSON into the state dir (the demo's summary); return its path."""
    settings, _ = session()
    target = settings.state_dir / name
    write_atomic(target, [json.dumps(report, indent=2).encode() + b"\n"])
    return str(target)
