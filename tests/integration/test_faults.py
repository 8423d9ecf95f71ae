"""Faults the roles must survive with nothing lost: a killed miner, a node that goes away for
a few seconds, and a node restarted from its state file mid-competition."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode, NodeInfo
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.contracts.commitments import vote_commitment
from deml.contracts.types import MinerStatus, Phase
from deml.roles import miner
from tests.helpers.game import DATASET_CID, TEST_CID, default_params
from tests.helpers.project import ROOT, free_port
from tests.helpers.tcp_proxy import Proxy

KILLED_MINER = """
import os, signal, sys
from pathlib import Path
from deml.chain import accounts
from deml.roles import miner
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.contracts.bindings import Competition
url, address, state, stop_after = sys.argv[1:]
chain = Chain.connect(url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
comp, who = Competition(chain, address), chain.accounts[4]
book = miner.MinerBook(Path(state), address, who.address)
miner.plan_vote(comp, book)
if stop_after == "commit":
    miner.commit_vote_if_due(comp, book, who)
os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no atexit: as a crash or an OOM kill
"""


def open_competition(chain: Chain, host: LocalAccount, key: bytes) -> Competition:
    factory = CompetitionFactory.deploy(chain, sender=host)
    return factory.create(
        default_params(chain, key, quorum=1), DATASET_CID, TEST_CID, prize=10**18, sender=host
    )


def to_vote_commit(chain: Chain, comp: Competition, key: bytes) -> None:
    """One revealed submission, the key out, miner 4 registered; the clock at vote-commit."""
    competitor, who = chain.accounts[1], chain.accounts[4]
    sid, salt = comp.commit_model(b"model", sender=competitor)
    comp.register_miner(sender=who)
    chain.travel_to(comp.params().submit_deadline)
    comp.reveal(sid, b"model", salt, sender=competitor)
    comp.reveal_test_key(key, sender=chain.accounts[0])
    chain.travel_to(comp.params().reveal_deadline)


@pytest.mark.parametrize("killed_after", ["plan", "commit"])
def test_miner_killed_around_its_commit_resumes_and_reveals(
    anvil_chain: Chain, anvil_node: NodeInfo, tmp_path: Path, killed_after: str
) -> None:
    chain, key = anvil_chain, os.urandom(32)
    comp = open_competition(chain, chain.accounts[0], key)
    to_vote_commit(chain, comp, key)
    who = chain.accounts[4]
    book = miner.MinerBook(tmp_path, comp.address, who.address)
    book.save(miner.Ledger(scores={"1": {"correct": 321, "total": 360, "error": None}}))

    proc = subprocess.run(
        [sys.executable, "-c", KILLED_MINER, anvil_node.url, comp.address, str(tmp_path),
         killed_after],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    plan = book.load()
    assert plan.vote_ids == [1] and plan.vote_scores == [321] and plan.vote_salt

    # The next run: it commits only what is not on chain yet, then reveals the same vote.
    assert miner.commit_vote_if_due(comp, book, who)
    expected = vote_commitment([1], [321], bytes.fromhex(plan.vote_salt), who.address, comp.address)
    assert comp.participant(who.address).vote_commitment == expected
    assert miner.plan_vote(comp, book).vote_salt == plan.vote_salt  # never re-planned
    chain.travel_to(comp.params().vote_commit_deadline)
    assert miner.reveal_vote_if_due(comp, book, who)
    assert comp.participant(who.address).miner_status == MinerStatus.REVEALED
    assert comp.votes_for(1, 321) == 1
    # Exactly one commitment reached the chain: no double vote.
    assert len(comp.vote_commits()) == 1


def test_node_down_for_a_few_seconds_mid_task(
    anvil_chain: Chain,
    anvil_node: NodeInfo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_server: str,
) -> None:
    """The miner's node (behind a proxy) goes away; the task retries and registers once."""
    chain, key = anvil_chain, os.urandom(32)
    comp = open_competition(chain, chain.accounts[0], key)
    who = chain.accounts[4]
    proxy = Proxy(anvil_node.port)
    proxy.start()
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "deml.yaml").write_text("network: remote\n")
    (configs / "networks.yaml").write_text(
        f"networks:\n  remote:\n    rpc_url: {proxy.url}\n    chain_id: 31337\n"
    )
    for name in [k for k in os.environ if k.startswith("DEML_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEML_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEML_PRIVATE_KEY", who.key.hex())
    from tasks.miner import register

    proxy.stop()
    threading.Timer(3.0, proxy.start).start()  # back after three seconds
    assert register(comp.address, 0) is True
    assert comp.participant(who.address).miner_status == MinerStatus.REGISTERED
    assert [r.miner for r in comp.registrations()] == [who.address]
    proxy.stop()


def test_anvil_restarted_from_its_state_file_mid_competition(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "node")
    port, state = free_port(), tmp_path / "chain.json"
    info, _ = node.start(port=port, chain_id=31337, mnemonic=DEV_MNEMONIC, state_file=state)
    chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
    key = os.urandom(32)
    try:
        comp = open_competition(chain, chain.accounts[0], key)
        to_vote_commit(chain, comp, key)
        comp.commit_votes([1], [300], b"\x01" * 32, sender=chain.accounts[4])
        before = (comp.summary(), chain.timestamp(), chain.balance(comp.address))

        node.stop()  # writes the state file on the way out
        assert state.is_file()
        info, started = node.start(
            port=port, chain_id=31337, mnemonic=DEV_MNEMONIC, state_file=state
        )
        assert started
        chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
        comp = Competition(chain, comp.address)
        assert (comp.summary(), chain.balance(comp.address)) == (before[0], before[2])
        assert chain.timestamp() >= before[1]
        assert comp.revealed_model(1) == b"model"  # old calldata survived: miners can still read it

        chain.travel_to(comp.params().vote_commit_deadline)
        comp.reveal_votes([1], [300], b"\x01" * 32, sender=chain.accounts[4])
        chain.travel_to(comp.params().vote_reveal_deadline)
        from deml.roles import settlement

        assert settlement.finalize(comp, chain.accounts[9])
        for who in (chain.accounts[0], chain.accounts[1], chain.accounts[4]):
            settlement.claim_if_owed(comp, who)
        assert comp.phase() == Phase.FINALIZED
        assert chain.balance(comp.address) == 0
    finally:
        node.stop()


def test_miner_refuses_a_test_split_of_another_size(role_env: Path) -> None:
    """A host who declares fewer test rows than it publishes cannot make miners vote scores
    that would revert (and cost their stake): the miner stops before committing."""
    from deml.dataset import crypto, datapackage
    from deml.settings import load_settings
    from deml.storage import storage_from_settings

    settings = load_settings()
    manifest = datapackage.prepare(role_env, settings.state_dir)
    cids = datapackage.publish(role_env / datapackage.PACKAGE_DIR, storage_from_settings(settings))
    key = crypto.KeyStore(settings.state_dir).load(manifest["name"], manifest["version"])
    chain = Chain.connect(
        settings.active_network.rpc_url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True
    )
    factory = CompetitionFactory.deploy(chain)
    declared = manifest["counts"]["test"] - 1
    params = default_params(chain, key, test_set_size=declared)
    comp = factory.create(
        params, str(cids["manifest"]), str(cids["test"]), prize=1, sender=chain.accounts[0]
    )
    chain.travel_to(params.submit_deadline)
    comp.reveal_test_key(key, sender=chain.accounts[0])
    book = miner.MinerBook(settings.state_dir, comp.address, chain.accounts[4].address)
    created = factory.created(comp.address)
    with pytest.raises(
        miner.MinerError, match=rf"has {declared + 1} rows but the competition declares {declared}"
    ):
        miner.fetch_test_split(comp, created, storage_from_settings(settings), book)
