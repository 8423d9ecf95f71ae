"""Bookkeeping tasks any role runs: finalize, settle the jurors, claim."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.roles import settlement
from tasks.common import RETRIES, competition, session


@task(cache_policy=NO_CACHE, **RETRIES)
def finalize(address: str, account: int) -> bool:
    """Finalize once the clock and the votes allow it; then release or burn every juror's
    seats. Return whether it is final."""
    _, chain = session()
    comp = competition(chain, address)
    who = chain.signer(account)
    if not settlement.finalize(comp, who):
        return False
    settlement.settle_jurors(comp, who)
    return True


@task(cache_policy=NO_CACHE, **RETRIES)
def claim(address: str, account: int) -> int:
    """Claim what the account is owed; return the wei paid."""
    _, chain = session()
    return settlement.claim_if_owed(competition(chain, address), chain.signer(account))
