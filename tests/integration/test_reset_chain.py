"""A dev chain reset and replayed deploys the same addresses again: the competitor's records
of the earlier competition at an address are moved aside, not taken for the new one's (it
used to skip training: "already submitted")."""

from __future__ import annotations

from pathlib import Path

from deml.chain.client import Chain
from deml.settings import load_settings
from flows.competitor import competitor_flow
from flows.host import host_flow
from flows.miner import miner_flow

TEMPLATE = {"seats": 3, "durations": dict.fromkeys(
    ("submit", "reveal", "key", "vote_commit", "vote_reveal", "tally"), 600
)}  # fmt: skip


def test_a_reset_chain_reusing_an_address_gets_fresh_records(role_env: Path) -> None:
    settings = load_settings()
    chain = Chain.from_settings(settings)
    miner_flow(account=4)  # bonds: the pool must seat a jury before a competition opens
    before = chain.snapshot()
    first = host_flow(account=0, project=str(role_env), template=TEMPLATE)
    assert competitor_flow(competition=first, account=1, models=["torch-mlp"], epochs=1) == [1]

    chain.revert(before)  # the chain forgets the competition; the state dirs do not
    second = host_flow(account=0, project=str(role_env), template=TEMPLATE)
    assert second == first  # the same factory nonce: the same address
    # The competitor trains and submits again: submission 1 of the new competition.
    assert competitor_flow(competition=second, account=1, models=["torch-mlp"], epochs=1) == [1]
    earlier = settings.state_dir / "competitor" / f"{first}.earlier-1"
    assert (earlier / "owner.json").is_file()  # the first competition's records, kept aside
