"""The miner's tasks: bond in the pool, draw juries, score the revealed models, vote, publish."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml.contracts.types import Phase
from deml.roles import architectures, challenger, miner, settlement
from deml.scoring.sandbox import default_sandbox
from deml.storage import storage_from_settings
from tasks.common import RETRIES, claim_records, competition, factory, session


def _book(address: str, account: int) -> tuple[Any, Any, Any, miner.MinerBook]:
    settings, chain = session()
    who = chain.signer(account)
    claim_records("miner", address)
    return settings, chain, who, miner.MinerBook(settings.state_dir, address, who.address)


@task(cache_policy=NO_CACHE, **RETRIES)
def bond(account: int, units: int | None = None) -> int:
    """Keep `units` (default: the `miner_bond_units` setting) seats' worth bonded in the
    factory's pool; return the units added."""
    settings, chain = session()
    pool = factory(settings, chain).pool()
    target = units or settings.miner_bond_units
    added = miner.ensure_bonded(pool, chain.signer(account), target)
    if added:
        print(f"bonded {added} more seat units in the pool {pool.address}")
    return added


@task(cache_policy=NO_CACHE)
def open_competitions(account: int) -> list[str]:
    """Competitions of this network's factory with work left for this miner: not finalized,
    or something left to claim."""
    settings, chain = session()
    who = chain.signer(account).address
    found = []
    for created in factory(settings, chain).competitions():
        comp = competition(chain, created.address)
        if comp.phase() != Phase.FINALIZED or comp.claimable(who) > 0:
            found.append(created.address)
    return found


@task(cache_policy=NO_CACHE, **RETRIES)
def draw_jury(address: str, account: int) -> bool:
    """Draw the current vote's jury if due (the bounty pays for it); return whether drawn."""
    _, chain = session()
    return settlement.draw_jury_if_due(competition(chain, address), chain.signer(account))


@task(cache_policy=NO_CACHE)
def drafted(address: str, account: int) -> int:
    """This miner's backed seats in the current vote (0: not on the jury)."""
    _, chain = session()
    return miner.drafted(competition(chain, address), chain.signer(account))


@task(cache_policy=NO_CACHE, **RETRIES)
def check_test_split(address: str, account: int) -> bool:
    """Fetch and decrypt the test split once the key is out; False when the host is at fault
    (the miner then votes HOST_FAULT) or the key is not out yet."""
    settings, chain, _, book = _book(address, account)
    comp = competition(chain, address)
    if comp.test_key() is None:
        return False
    created = factory(settings, chain).created(address)
    data = miner.fetch_test_split(comp, created, storage_from_settings(settings), book)
    if data is None:
        print(f"the host is at fault: {book.load().host_fault}")
    return data is not None


@task(cache_policy=NO_CACHE, **RETRIES)
def models_to_score(address: str, account: int) -> list[int]:
    """Revealed models this juror has not scored yet."""
    _, chain, _, book = _book(address, account)
    return miner.unscored_ids(competition(chain, address), book)


@task(cache_policy=NO_CACHE, **RETRIES)
def score_model(address: str, account: int, submission_id: int) -> int:
    """Score one model in its own sandboxed child process; return how many it got right."""
    settings, chain, _, book = _book(address, account)
    comp = competition(chain, address)
    created = factory(settings, chain).created(address)
    storage = storage_from_settings(settings)
    data = miner.fetch_test_split(comp, created, storage, book)
    if data is None:
        return 0  # the host is at fault: the vote says so, no score is needed
    sandbox = default_sandbox(settings.scoring_spares, settings.scoring_workers)
    sources = miner.blob_sources_for(comp, storage, settings.active_network.beacon_url)
    catalogue = architectures.catalogue_for(comp, storage, settings.state_dir)
    results = miner.score_models(comp, [submission_id], data, book, sandbox, sources, catalogue)
    return results[submission_id].correct


@task(cache_policy=NO_CACHE, **RETRIES)
def commit_vote(address: str, account: int, dishonest: bool = False) -> bool:
    """Fix the vote on disk, then commit its hash, in the vote-commit window."""
    _, chain, who, book = _book(address, account)
    comp = competition(chain, address)
    if comp.phase() != Phase.VOTE_COMMIT or not miner.drafted(comp, who):
        return False
    miner.plan_vote(comp, book, dishonest=dishonest)
    return miner.commit_vote_if_due(comp, book, who)


@task(cache_policy=NO_CACHE, **RETRIES)
def reveal_vote(address: str, account: int) -> bool:
    """Reveal the committed vote in the vote-reveal window."""
    _, chain, who, book = _book(address, account)
    return miner.reveal_vote_if_due(competition(chain, address), book, who)


@task(cache_policy=NO_CACHE, **RETRIES)
def publish(address: str, account: int) -> int:
    """Publish what this juror's vote needs published: its winning vector's scores (for the
    bounty), or its vector into an open tally; return the chunks sent."""
    _, chain, who, book = _book(address, account)
    comp = competition(chain, address)
    return miner.publish_scores_if_due(comp, book, who) + miner.publish_vector_if_due(
        comp, book, who
    )


@task(cache_policy=NO_CACHE, **RETRIES)
def settle_tally(address: str, account: int) -> int:
    """After a tally's deadline: settle its submissions, then prove any juror whose vector
    disagrees with a validated score; return the submissions settled."""
    _, chain = session()
    comp = competition(chain, address)
    who = chain.signer(account)
    settled = settlement.settle_tally_if_due(comp, who)
    if proven := miner.prove_dissents(comp, who):
        print(f"proved dissent of {', '.join(proven)}")
    return settled


@task(cache_policy=NO_CACHE, **RETRIES)
def to_watch(address: str, account: int) -> list[int]:
    """Off the jury, with `watch_disputes` on: the disputable submissions of a decided root
    this miner has not scored yet (each then scored like a juror's, to check the root)."""
    settings, chain, _, book = _book(address, account)
    if not settings.watch_disputes:
        return []
    comp = competition(chain, address)
    storage = storage_from_settings(settings)
    sources = miner.blob_sources_for(comp, storage, settings.active_network.beacon_url)
    return challenger.to_watch(comp, book, sources)


@task(cache_policy=NO_CACHE, **RETRIES)
def dispute(address: str, account: int) -> int | None:
    """In the dispute window: challenge the decided root where this miner's scores prove it
    wrong (one zk proof), contest challenges its scores prove false, resolve those that are
    due and claim what was won; return the challenge sent, if any."""
    settings, chain, who, book = _book(address, account)
    comp = competition(chain, address)
    storage = storage_from_settings(settings)
    catalogue = architectures.catalogue_for(comp, storage, settings.state_dir)
    sources = miner.blob_sources_for(comp, storage, settings.active_network.beacon_url)
    sent = None
    if book.load().scores and challenger.decided(comp) is not None:
        created = factory(settings, chain).created(address)
        data = miner.fetch_test_split(comp, created, storage, book)
        if data is not None:
            sent = challenger.challenge_if_wrong(comp, data, book, who, catalogue, sources)
        if sent is not None:
            print(f"challenged the decided root of {address}: challenge {sent}")
        if steps := challenger.contest_if_false(comp, book, who, catalogue, sources):
            print(f"contested a false challenge: {steps} commitment steps sent")
    if resolved := challenger.resolve_due(comp, who):
        print(f"resolved challenges {resolved}")
    if got := challenger.claim(comp, who):
        print(f"claimed {got} wei of dispute bonds and slashed stakes")
    return sent
