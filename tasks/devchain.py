"""Tasks that only a local dev chain allows: moving its clock to the next phase."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.common import competition, session

DEADLINES = ("submit", "reveal", "vote_commit", "vote_reveal")


@task(cache_policy=NO_CACHE)
def advance_past(address: str, deadline: str) -> int:
    """Move the dev chain's clock to the given deadline of the competition; return the time."""
    if deadline not in DEADLINES:
        raise ValueError(f"deadline must be one of {', '.join(DEADLINES)}, not {deadline!r}")
    _, chain = session()
    target = getattr(competition(chain, address).params(), f"{deadline}_deadline")
    if chain.timestamp() < target:
        chain.travel_to(target)
    return chain.timestamp()
