"""Faults the roles must survive with nothing lost: a killed miner, a node that goes away for
a few seconds, a node restarted from its state file mid-competition, a host whose test
split is not what it declared, and a competition the miner cannot work on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode, NodeInfo
from deml.contracts.bindings import Competition
from deml.contracts.commitments import vote_commitment
from deml.contracts.types import HOST_FAULT, Outcome, Phase, VoteState
from deml.roles import miner, settlement
from tests.helpers.game import (
    PRIZE,
    Game,
    bond_all,
    create_game,
    default_params,
    deploy_factory,
)
from tests.helpers.project import ROOT, free_port
from tests.helpers.tcp_proxy import Proxy

KILLED_MINER = """
import os, signal, sys
from pathlib import Path
from deml.chain import accounts
from deml.roles import miner
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.contracts.bindings import Competition
url, address, state, juror, stop_after = sys.argv[1:]
chain = Chain.connect(url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
comp = Competition(chain, address)
who = next(a for a in chain.accounts if a.address == juror)
book = miner.MinerBook(Path(state), address, who.address)
miner.plan_vote(comp, book)
if stop_after == "commit":
    miner.commit_vote_if_due(comp, book, who)
os.kill(os.getpid(), signal.SIGKILL)  # no clean-up, no atexit: as a crash or an OOM kill
"""


def voting(chain: Chain) -> tuple[Game, str]:
    """One revealed submission, the key out, and a three-seat jury drawn from a pool of one
    miner (accounts[4]): the clock in the vote-commit window. Returns the game and juror."""
    host, juror = chain.accounts[0], chain.accounts[4]
    factory = deploy_factory(chain, host)
    bond_all(factory.pool(), [juror])
    game = create_game(chain, factory, host)
    game.open_with(chain.accounts[1])
    return game, juror.address


@pytest.mark.parametrize("killed_after", ["plan", "commit"])
def test_miner_killed_around_its_commit_resumes_and_reveals(
    anvil_chain: Chain, anvil_node: NodeInfo, tmp_path: Path, killed_after: str
) -> None:
    chain = anvil_chain
    game, juror = voting(chain)
    comp, who = game.competition, chain.accounts[4]
    book = miner.MinerBook(tmp_path, comp.address, juror)
    book.record_score(1, {"correct": 321, "total": 360, "error": None, "correctness": "00" * 32})

    proc = subprocess.run(
        [sys.executable, "-c", KILLED_MINER, anvil_node.url, comp.address, str(tmp_path),
         juror, killed_after],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    planned = book.ballot(1)
    assert planned is not None and planned.leaves  # the vote was on disk before the kill

    # The next run: it commits only what is not on chain yet, then reveals the same vote.
    assert miner.commit_vote_if_due(comp, book, who)
    vote, salt = bytes.fromhex(planned.vote), bytes.fromhex(planned.salt)
    assert comp.seat(1, juror).hash == vote_commitment(vote, salt, juror, comp.address)
    assert miner.plan_vote(comp, book).salt == planned.salt  # never re-planned
    game.to_vote_reveal()
    assert miner.reveal_vote_if_due(comp, book, who)
    assert comp.seat(1, juror).state == VoteState.REVEALED
    assert comp.votes_for(1, vote) == 3  # its three seats
    # Exactly one commitment reached the chain: no double vote.
    assert len(comp.vote_commits()) == 1


def test_node_down_for_a_few_seconds_mid_task(
    anvil_chain: Chain,
    anvil_node: NodeInfo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prefect_server: str,
) -> None:
    """The miner's node (behind a proxy) goes away; the task retries and bonds once."""
    chain = anvil_chain
    factory = deploy_factory(chain, chain.accounts[0])
    who = chain.accounts[4]
    proxy = Proxy(anvil_node.port)
    proxy.start()
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "deml.yaml").write_text("network: remote\n")
    # A network of its own, not a dev chain; its node (anvil) mines only on demand, so no
    # confirmations are waited for.
    (configs / "networks.yaml").write_text(
        f"networks:\n  remote:\n    rpc_url: {proxy.url}\n    chain_id: 31337\n"
        "    confirmations: 0\n"
    )
    (configs / "deployments.yaml").write_text(f'remote:\n  factory: "{factory.address}"\n')
    for name in [k for k in os.environ if k.startswith("DEML_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEML_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEML_PRIVATE_KEY", who.key.hex())
    from tasks.miner import bond

    proxy.stop()
    threading.Timer(3.0, proxy.start).start()  # back after three seconds
    assert bond(0, 5) == 5
    assert factory.pool().juror(who.address).units == 5  # bonded once, not twice
    proxy.stop()


def test_anvil_restarted_from_its_state_file_mid_competition(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "node")
    port, state = free_port(), tmp_path / "chain.json"
    info, _ = node.start(port=port, chain_id=31337, mnemonic=DEV_MNEMONIC, state_file=state)
    chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
    try:
        game, juror = voting(chain)
        game.commit(juror, {1: 300})
        comp = game.competition
        before = (comp.summary(), chain.timestamp(), chain.balance(comp.address))

        node.stop()  # writes the state file on the way out
        assert state.is_file()
        info, started = node.start(
            port=port, chain_id=31337, mnemonic=DEV_MNEMONIC, state_file=state
        )
        assert started
        chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
        comp = Competition(chain, comp.address)
        game.chain, game.competition = chain, comp
        assert (comp.summary(), chain.balance(comp.address)) == (before[0], before[2])
        assert chain.timestamp() >= before[1]
        assert comp.revealed_model(1) == game.models[1]  # old logs survived: miners read them

        game.to_vote_reveal()
        game.reveal_vote(juror)
        game.to_tally()
        game.publish_all()
        game.clear_disputes()  # the bitmaps out, the dispute window over
        assert settlement.finalize(comp, chain.accounts[9])
        settlement.settle_jurors(comp, chain.accounts[9])
        for who in chain.accounts:
            settlement.claim_if_owed(comp, who)
        assert comp.phase() == Phase.FINALIZED
        assert chain.balance(comp.address) == 0
    finally:
        node.stop()


@pytest.mark.parametrize("fault", ["size", "samples"])
def test_a_test_split_other_than_declared_is_a_host_fault(role_env: Path, fault: str) -> None:
    """A host who declares fewer test rows than it publishes, or commits the root of other
    samples (another label for one of them), gets a HOST_FAULT vote from an honest miner, not
    a crash (and not scores that disagree with the declared split)."""
    from deml.contracts.sample_tree import samples_root
    from deml.dataset import crypto, datapackage
    from deml.dataset.npz import read_npz
    from deml.settings import load_settings
    from deml.storage import storage_from_settings

    settings = load_settings()
    storage = storage_from_settings(settings)
    manifest = datapackage.prepare(role_env, settings.state_dir)
    cids = datapackage.publish(role_env / datapackage.PACKAGE_DIR, storage)
    key = crypto.KeyStore(settings.state_dir).load(manifest["name"], manifest["version"])
    chain = Chain.connect(
        settings.active_network.rpc_url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True
    )
    host, juror = chain.accounts[0], chain.accounts[4]
    factory = deploy_factory(chain, host)
    bond_all(factory.pool(), [juror])
    x, y = read_npz(crypto.decrypt(storage.get(cids["test"]), key))
    if fault == "size":
        declared, root = len(x) - 1, samples_root(x, y)
        expected = f"X has {len(x)} rows of (64,); the competition declares {declared} rows"
    else:
        y[0] = (y[0] + 1) % 10
        declared, root = len(x), samples_root(x, y)
        expected = "not the one the host committed at creation (its samples root differs)"
    params = default_params(chain, key, test_set_size=declared, samples_root=root)
    comp = factory.create(
        params, str(cids["manifest"]), str(cids["test"]), prize=10**18, sender=host
    )
    game = Game(chain, comp, params, key, host, 10**18)
    game.open_with(chain.accounts[1])
    book = miner.MinerBook(settings.state_dir, comp.address, juror.address)
    created = factory.created(comp.address)
    assert miner.fetch_test_split(comp, created, storage, book) is None
    assert expected in book.load().host_fault
    assert miner.plan_vote(comp, book).vote == HOST_FAULT.hex()
    assert miner.commit_vote_if_due(comp, book, juror)
    game.to_vote_reveal()
    assert miner.reveal_vote_if_due(comp, book, juror)
    game.to_tally()
    assert settlement.finalize(comp, chain.accounts[9])
    assert comp.summary().outcome == Outcome.HOST_FAULT


def test_a_competition_the_miner_cannot_work_on_does_not_stop_its_vote_on_another(
    role_env: Path,
) -> None:
    """A competition whose dataset no store serves fails the miner's pass on it (and the
    flow names it), but the same pass still commits the miner's vote on the next one."""
    from deml.dataset import crypto, datapackage
    from deml.exceptions import MinerError
    from deml.settings import load_settings
    from deml.storage import storage_from_settings
    from flows.miner import miner_flow
    from tasks import common

    settings = load_settings()
    chain = Chain.from_settings(settings)
    host, juror = chain.accounts[0], chain.accounts[4]
    factory = common.factory(settings, chain)
    bond_all(factory.pool(), [juror])
    # Created first, so the pass meets it first: its dataset is in no store.
    stuck = create_game(chain, factory, host)
    manifest = datapackage.prepare(role_env, settings.state_dir)
    storage = storage_from_settings(settings)
    cids = datapackage.publish(role_env / datapackage.PACKAGE_DIR, storage)
    key = crypto.KeyStore(settings.state_dir).load(manifest["name"], manifest["version"])
    root = datapackage.published_samples_root(manifest, storage, key)
    params = default_params(chain, key, test_set_size=manifest["counts"]["test"], samples_root=root)
    comp = factory.create(
        params, str(cids["manifest"]), str(cids["test"]), prize=PRIZE, sender=host
    )
    served = Game(chain, comp, params, key, host, PRIZE)
    # Both: a model submitted, the jury drawn, the model and the key revealed.
    players = ((stuck, chain.accounts[1]), (served, chain.accounts[2]))
    submitted = [game.submit(owner) for game, owner in players]
    served.to_reveal()  # created last: its deadlines are the later ones
    for (game, owner), sid in zip(players, submitted, strict=True):
        assert game.draw() == {juror.address: 3}
        game.reveal(sid, owner)
    served.to_key()
    for game in (stuck, served):
        game.reveal_key()
        assert game.competition.phase() == Phase.VOTE_COMMIT

    failed = f"could not work on 1 of 2 competitions: {stuck.competition.address}: BlockNotFound"
    with pytest.raises(MinerError, match=failed):
        miner_flow(account=4)
    assert comp.seat(1, juror.address).state == VoteState.COMMITTED
    assert stuck.competition.seat(1, juror.address).state == VoteState.NONE


def test_a_vote_commit_or_reveal_reorged_out_is_sent_again_by_the_next_pass(
    anvil_chain: Chain, tmp_path: Path
) -> None:
    """A reorg that drops the block holding the miner's commit (then its reveal) leaves the
    chain without it; the next pass sees that on chain, not in its own records, and sends the
    same vote again, so the miner neither loses its vote nor votes twice."""
    chain = anvil_chain
    game, juror = voting(chain)
    comp, who = game.competition, chain.accounts[4]
    book = miner.MinerBook(tmp_path, comp.address, juror)
    book.record_score(1, {"correct": 321, "total": 360, "error": None, "correctness": "00" * 32})
    planned = miner.plan_vote(comp, book)
    vote, salt = bytes.fromhex(planned.vote), bytes.fromhex(planned.salt)

    before = chain.snapshot()
    assert miner.commit_vote_if_due(comp, book, who)
    chain.revert(before)  # the block with the commit is gone
    assert comp.seat(1, juror).state == VoteState.NONE
    assert miner.commit_vote_if_due(comp, book, who)
    assert comp.seat(1, juror).hash == vote_commitment(vote, salt, juror, comp.address)

    game.to_vote_reveal()
    before = chain.snapshot()
    assert miner.reveal_vote_if_due(comp, book, who)
    chain.revert(before)  # and now the block with the reveal
    assert comp.seat(1, juror).state == VoteState.COMMITTED
    assert miner.reveal_vote_if_due(comp, book, who)
    assert comp.seat(1, juror).state == VoteState.REVEALED
    assert comp.votes_for(1, vote) == 3
    assert len(comp.vote_commits()) == 1 and len(comp.vote_reveals()) == 1
