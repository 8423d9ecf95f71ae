"""The host's tasks: prepare and publish the dataset, create, reveal the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from deml._clock import relative
from deml.dataset import datapackage
from deml.roles import host
from deml.roles.terms import load_template
from deml.storage import storage_from_settings
from tasks.common import RETRIES, competition, factory, session


@task(cache_policy=NO_CACHE)
def prepare_dataset(project: str) -> dict[str, Any]:
    """Run the DVC pipeline; return the dataset manifest."""
    settings, _ = session()
    return datapackage.prepare(Path(project), settings.state_dir)


@task(cache_policy=NO_CACHE, **RETRIES)
def publish_dataset(project: str) -> str:
    """Put the package into content storage; return the manifest's CID."""
    settings, _ = session()
    cids = datapackage.publish(
        Path(project) / datapackage.PACKAGE_DIR, storage_from_settings(settings)
    )
    return str(cids["manifest"])


@task(cache_policy=NO_CACHE, **RETRIES)
def create_competition(
    manifest: dict[str, Any], manifest_cid: str, account: int, template: dict[str, Any]
) -> str:
    """Create and fund the competition (terms: configs/competition.yaml, `template` over it)."""
    settings, chain = session()
    key = host.load_test_key(settings.state_dir, manifest["name"], manifest["version"])
    terms = load_template(**template)
    comp = host.create(
        factory(settings, chain),
        terms,
        manifest,
        manifest_cid,
        key,
        host=chain.signer(account),
        state_dir=settings.state_dir,
        storage=storage_from_settings(settings),
    )
    return comp.address


@task(cache_policy=NO_CACHE, **RETRIES)
def reveal_key(address: str, account: int) -> bool:
    """Reveal the test key if submissions have closed; return whether it is public."""
    settings, chain = session()
    hosted = host.load(settings.state_dir, address)
    key = host.competition_key(settings.state_dir, hosted)
    comp = competition(chain, address)
    already = comp.summary().key_revealed
    public = host.reveal_key_if_due(comp, key, chain.signer(account))
    if public and not already:
        print("revealed the test key: the jurors can score now")
    elif not public:
        params, now = comp.params(), chain.timestamp()
        if now < params.reveal_deadline:
            print(f"the key stays secret: its window opens {relative(params.reveal_deadline, now)}")
        else:
            print(f"the key window closed {relative(params.key_deadline, now)} without the key")
    return public
