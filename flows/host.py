"""The host's flow: publish a dataset and open a competition, then do whatever is due."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks import host, settlement


@flow(name="host", log_prints=True)
def host_flow(
    competition: str | None = None,
    account: int = 0,
    project: str = ".",
    template: dict[str, Any] | None = None,
) -> str:
    """Without `competition`: prepare (DVC) and publish the dataset, create and fund a
    competition. Then, on every run: reveal the key once submissions close, settle and
    finalize when voting is over, and claim what the host is owed. Returns the address."""
    if competition is None:
        manifest = host.prepare_dataset(project)
        manifest_cid = host.publish_dataset(project)
        competition = host.create_competition(manifest, manifest_cid, account, template or {})
        print(f"competition {competition} created on dataset {manifest_cid}")
    host.reveal_key(competition, account)
    if settlement.finalize(competition, account):
        settlement.claim(competition, account)
    return competition
