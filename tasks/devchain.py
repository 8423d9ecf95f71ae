"""Tasks that only a local dev chain allows: moving its clock to the next phase."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.contracts.types import Phase
from deml.exceptions import DevChainRequired
from deml.roles import standing
from tasks.common import competition, session


@task(cache_policy=NO_CACHE)
def require_dev_chain() -> None:
    """Fail unless the configured network is a local dev chain (whose clock may be moved)."""
    settings, _ = session()
    if not settings.active_network.dev:
        raise DevChainRequired(
            f"network {settings.network!r} is not a local dev chain: its clock cannot be moved"
        )


@task(cache_policy=NO_CACHE)
def advance_past(address: str, phase: str) -> int:
    """Move the dev chain's clock to the end of `phase` (`submit`, `reveal`, `key`,
    `vote_commit`, `vote_reveal` or `tally`, the votes' of the current round) of the
    competition; return the chain's time."""
    _, chain = session()
    comp = competition(chain, address)
    round_ = comp.round(comp.summary().round)
    deadline = standing.phase_deadline(Phase[phase.upper()], comp.params(), round_)
    if deadline is None:
        raise ValueError(f"phase {phase!r} does not end at a deadline")
    if chain.timestamp() < deadline:
        chain.travel_to(deadline)
    return chain.timestamp()
