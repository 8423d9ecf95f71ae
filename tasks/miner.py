"""The miner's tasks: register, score the revealed models, commit and reveal the vote."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.contracts.types import Phase
from deml.roles import miner
from deml.scoring.sandbox import default_sandbox
from deml.storage import storage_from_settings
from tasks.common import RETRIES, competition, factory, session


def _book(address: str, account: int) -> tuple[Any, Any, Any, miner.MinerBook]:
    settings, chain = session()
    who = chain.signer(account)
    return settings, chain, who, miner.MinerBook(settings.state_dir, address, who.address)


@task(cache_policy=NO_CACHE)
def open_competitions(account: int) -> list[str]:
    """Competitions of this network's factory with work left: not finalized, or unclaimed."""
    settings, chain = session()
    who = chain.signer(account).address
    found = []
    for created in factory(settings, chain).competitions():
        comp = competition(chain, created.address)
        if comp.phase() != Phase.FINALIZED or comp.claimable(who) > 0:
            found.append(created.address)
    return found


@task(cache_policy=NO_CACHE, **RETRIES)
def register(address: str, account: int) -> bool:
    """Bond the stake if not yet done and registration is open."""
    _, chain, who, _ = _book(address, account)
    return miner.register_if_needed(competition(chain, address), who)


@task(cache_policy=NO_CACHE, **RETRIES)
def models_to_score(address: str, account: int) -> list[int]:
    """Revealed models this miner has not scored yet, once the key is out (else none)."""
    _, chain, who, book = _book(address, account)
    comp = competition(chain, address)
    if comp.test_key() is None or comp.phase() not in (Phase.REVEAL, Phase.VOTE_COMMIT):
        return []
    return miner.unscored_ids(comp, book, who)


@task(cache_policy=NO_CACHE, **RETRIES)
def score_model(address: str, account: int, submission_id: int) -> int:
    """Score one model in its own sandboxed child process; return how many it got right."""
    settings, chain, _, book = _book(address, account)
    comp = competition(chain, address)
    created = factory(settings, chain).created(address)
    data = miner.fetch_test_split(comp, created, storage_from_settings(settings), book)
    sandbox = default_sandbox(settings.scoring_spares, settings.scoring_workers)
    results = miner.score_models(comp, [submission_id], data, book, sandbox)
    return results[submission_id].correct


@task(cache_policy=NO_CACHE, **RETRIES)
def commit_vote(address: str, account: int, dishonest: bool = False) -> bool:
    """Fix the vote on disk, then commit it, in the vote-commit window."""
    _, chain, who, book = _book(address, account)
    comp = competition(chain, address)
    if comp.phase() != Phase.VOTE_COMMIT:
        return False
    miner.plan_vote(comp, book, dishonest=dishonest)
    return miner.commit_vote_if_due(comp, book, who)


@task(cache_policy=NO_CACHE, **RETRIES)
def reveal_vote(address: str, account: int) -> bool:
    """Reveal the committed vote in the vote-reveal window."""
    _, chain, who, book = _book(address, account)
    return miner.reveal_vote_if_due(competition(chain, address), book, who)
