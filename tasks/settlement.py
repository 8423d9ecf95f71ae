"""Bookkeeping tasks any role runs: settle and finalize, claim."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.roles import settlement
from tasks.common import RETRIES, competition, session


@task(cache_policy=NO_CACHE, **RETRIES)
def finalize(address: str, account: int) -> bool:
    """Settle what is left and finalize, once the phase allows; return whether it is final."""
    _, chain = session()
    return settlement.finalize(competition(chain, address), chain.signer(account))


@task(cache_policy=NO_CACHE, **RETRIES)
def claim(address: str, account: int) -> int:
    """Claim what the account is owed; return the wei paid."""
    _, chain = session()
    return settlement.claim_if_owed(competition(chain, address), chain.signer(account))
