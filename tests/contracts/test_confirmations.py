"""A transaction counts as sent only under its confirmations, and one that a reorg drops is
sent again and lands once (issue 14: receipts were believed at zero confirmations)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode, NodeInfo
from deml.contracts.bindings import MinerPool
from tests.helpers.game import deploy_factory
from tests.helpers.project import free_port

ETHER = 10**18


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """anvil mining a block every second, as a real network does."""
    node = LocalNode(tmp_path_factory.mktemp("live-anvil"))
    info, _ = node.start(
        port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False, block_time=1
    )
    yield info.url
    node.stop()


def connect(url: str, confirmations: int) -> Chain:
    signers = accounts.from_mnemonic(DEV_MNEMONIC)
    return Chain.connect(url, signers, dev=True, confirmations=confirmations)


def test_a_transaction_counts_as_sent_only_under_its_confirmations(live_url: str) -> None:
    chain = connect(live_url, confirmations=2)
    receipt = chain.transfer(chain.accounts[5].address, ETHER, sender=chain.accounts[1])
    assert chain.w3.eth.block_number >= receipt["blockNumber"] + 2
    assert chain.w3.eth.get_block(receipt["blockNumber"])["hash"] == receipt["blockHash"]


@pytest.mark.parametrize(
    ("blocks_on_top", "said"),
    [
        (0, ["is no longer known to the node; sending it again"]),  # before its receipt was seen
        (2, ["was reorged out", "is no longer known to the node; sending it again"]),
    ],
)
def test_a_transaction_reorged_out_is_sent_again_and_lands_once(
    live_url: str, caplog: pytest.LogCaptureFixture, blocks_on_top: int, said: list[str]
) -> None:
    chain = connect(live_url, confirmations=3)
    sender, to = chain.accounts[2], chain.accounts[6].address
    before = chain.balance(to)
    nonce = chain.w3.eth.get_transaction_count(sender.address)
    dropped: list[int] = []

    def reorg_it_out() -> None:
        # As a competing branch would: once the transfer is mined (and `blocks_on_top` more),
        # replace the blocks from its own on.
        watcher = connect(live_url, confirmations=0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            head = watcher.w3.eth.block_number
            if watcher.w3.eth.get_transaction_count(sender.address, head) > nonce:
                mined = next(
                    n for n in range(head, head - 10, -1)
                    if watcher.w3.eth.get_transaction_count(sender.address, n - 1) == nonce
                )  # fmt: skip
                if head < mined + blocks_on_top:
                    time.sleep(0.01)
                    continue
                watcher._rpc("anvil_reorg", [head - mined + 1, []])
                dropped.append(mined)
                return
            time.sleep(0.01)

    reorg = threading.Thread(target=reorg_it_out)
    reorg.start()
    with caplog.at_level(logging.WARNING, logger="deml.chain"):
        receipt = chain.transfer(to, ETHER, sender=sender)
    reorg.join()
    assert dropped, "the transfer was never mined"
    assert all(line in caplog.text for line in said), caplog.text
    assert chain.w3.eth.get_block(receipt["blockNumber"])["hash"] == receipt["blockHash"]
    assert chain.w3.eth.block_number >= receipt["blockNumber"] + 3
    assert chain.balance(to) - before == ETHER  # landed exactly once
    assert chain.w3.eth.get_transaction_count(sender.address) == nonce + 1


def test_dev_chains_act_at_once_and_public_ones_wait() -> None:
    from deml.settings import Network

    assert Network(chain_id=31337, dev=True).required_confirmations == 0
    assert Network(chain_id=11155111).required_confirmations == 2
    assert Network(chain_id=11155111, confirmations=6).required_confirmations == 6


def test_state_is_read_from_a_confirmed_block(anvil_chain: Chain, anvil_node: NodeInfo) -> None:
    # A bond two blocks deep is not there yet for a client that waits for two confirmations:
    # a reorg may still undo it.
    factory = deploy_factory(anvil_chain, anvil_chain.accounts[0])
    for _ in range(2):
        anvil_chain.mine()  # the pool itself confirmed
    miner = anvil_chain.accounts[3].address
    factory.pool().bond(1, sender=anvil_chain.accounts[3])  # mined at once, by a 0-block client
    careful = MinerPool(connect(anvil_node.url, confirmations=2), factory.pool().address)
    assert factory.pool().juror(miner).units == 1
    assert careful.juror(miner).units == 0
    anvil_chain.mine()
    assert careful.juror(miner).units == 0
    anvil_chain.mine()
    assert careful.juror(miner).units == 1
