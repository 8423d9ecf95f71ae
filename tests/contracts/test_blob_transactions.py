"""Blob transactions on anvil (issue 15's ground floor): the chain client sends a payload's
blobs, the transaction names their versioned hashes, and the blobs come back from the node or
a beacon API, each answer checked against those hashes before it is believed."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from deml.chain import blob_sources, blobs
from deml.chain.blob_sources import BeaconBlobs, BlobUnavailable, NodeBlobs
from deml.chain.client import Chain
from tests.helpers.beacon_standin import BeaconStandin, beacon_standin

pytestmark = pytest.mark.anvil


@dataclass
class Sent:
    payload: bytes
    hashes: list[bytes]
    block: int
    root: str  # the beacon block root that holds the blobs (EIP-4788)


def send_in_blobs(chain: Chain, payload: bytes) -> Sent:
    sender, to = chain.accounts[2], chain.accounts[3].address
    tx = {
        "from": sender.address,
        "to": to,
        "value": 0,
        "gas": 21_000,
        "nonce": chain.w3.eth.get_transaction_count(sender.address, "pending"),
        "chainId": chain.chain_id,
    }
    receipt = chain.send_signed(tx, sender, what="blobs", blobs=blobs.encode(payload))
    assert receipt["status"] == 1
    named = chain.w3.eth.get_transaction(receipt["transactionHash"])["blobVersionedHashes"]
    chain.mine()  # the next block names the beacon root of this one
    child = chain.w3.eth.get_block(receipt["blockNumber"] + 1)
    root = "0x" + bytes(child["parentBeaconBlockRoot"]).hex()
    return Sent(payload, [bytes(h) for h in named], receipt["blockNumber"], root)


@pytest.fixture
def sent(anvil_chain: Chain) -> Sent:
    return send_in_blobs(anvil_chain, os.urandom(blobs.DATA_PER_BLOB + 10_000))  # two blobs


@pytest.fixture
def beacon(anvil_chain: Chain, sent: Sent) -> Iterator[BeaconStandin]:
    with beacon_standin() as standin:
        served = anvil_chain._rpc("anvil_getBlobByHash", ["0x" + sent.hashes[0].hex()])
        assert served
        standin.add(
            sent.root,
            [bytes.fromhex(anvil_chain._rpc("anvil_getBlobByHash", ["0x" + h.hex()])[2:])
             for h in sent.hashes],
        )  # fmt: skip
        yield standin


def test_the_transaction_names_the_blobs_and_pays_blob_gas(anvil_chain: Chain, sent: Sent) -> None:
    assert sent.hashes == blobs.versioned_hashes(blobs.encode(sent.payload))
    receipt = anvil_chain.w3.eth.get_transaction_receipt(
        anvil_chain.w3.eth.get_block(sent.block, full_transactions=True)["transactions"][-1]["hash"]
    )
    assert receipt["blobGasUsed"] == 2 * 131_072


def test_the_node_gives_the_blobs_back(anvil_chain: Chain, sent: Sent) -> None:
    source = NodeBlobs(anvil_chain)
    assert blobs.decode(blob_sources.fetch([source], sent.hashes, sent.block)) == sent.payload


@pytest.mark.parametrize("fulu", [True, False], ids=["blobs-endpoint", "sidecars-only"])
def test_a_beacon_api_gives_the_blobs_of_the_block(
    anvil_chain: Chain, sent: Sent, beacon: BeaconStandin, fulu: bool
) -> None:
    beacon.fulu = fulu
    source = BeaconBlobs(beacon.url, anvil_chain)
    assert blobs.decode(blob_sources.fetch([source], sent.hashes, sent.block)) == sent.payload
    asked = [p.split("/")[4] for p in beacon.requests]
    assert asked == (["blobs"] if fulu else ["blobs", "blob_sidecars"])


def test_a_forged_blob_is_refused_and_the_next_source_asked(
    anvil_chain: Chain, sent: Sent, beacon: BeaconStandin, caplog: pytest.LogCaptureFixture
) -> None:
    beacon.substitute = blobs.encode(b"another model")[0]
    lying = BeaconBlobs(beacon.url, anvil_chain)
    with caplog.at_level(logging.WARNING, logger="deml.chain.blob_sources"):
        with pytest.raises(BlobUnavailable, match="none of the beacon API"):
            blob_sources.fetch([lying], sent.hashes, sent.block)
        assert "not the ones named on chain" in caplog.text
        got = blob_sources.fetch([lying, NodeBlobs(anvil_chain)], sent.hashes, sent.block)
    assert blobs.decode(got) == sent.payload


def test_blobs_that_no_source_has_are_unavailable(anvil_chain: Chain, sent: Sent) -> None:
    with beacon_standin() as empty:  # knows no block: 404, as after the blobs expired
        sources = [BeaconBlobs(empty.url, anvil_chain)]
        with pytest.raises(BlobUnavailable, match=f"of block {sent.block}"):
            blob_sources.fetch(sources, sent.hashes, sent.block)
    unknown = [bytes([1]) + bytes(31)]
    with pytest.raises(BlobUnavailable):
        blob_sources.fetch([NodeBlobs(anvil_chain)], unknown, sent.block)
