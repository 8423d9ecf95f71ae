"""A node that forges receipts is caught by a second node (issue 14: a forged status-1 receipt
was believed). The forging node here is a JSON-RPC proxy in front of anvil that answers every
receipt with success, as a compromised or malicious RPC provider could."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from web3 import Web3

from deml.artifacts import load_fixture
from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode, NodeInfo
from deml.exceptions import TransactionError, WrongChain
from deml.settings import load_settings
from tests.helpers.json_http import QuietHandler
from tests.helpers.project import ROOT, free_port

pytestmark = pytest.mark.anvil


def forging_proxy(upstream: str) -> ThreadingHTTPServer:
    """An RPC endpoint that passes everything to `upstream` and turns failed receipts into
    successful ones."""

    def forge(answer: dict[str, Any]) -> dict[str, Any]:
        result = answer.get("result")
        if isinstance(result, dict) and result.get("status") == "0x0":
            result["status"] = "0x1"
        return answer

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = json.loads(body)
            answer = requests.post(upstream, json=request, timeout=30).json()
            if isinstance(request, list):
                answer = [forge(a) if r.get("method") == "eth_getTransactionReceipt" else a
                          for r, a in zip(request, answer, strict=False)]  # fmt: skip
            elif request.get("method") == "eth_getTransactionReceipt":
                answer = forge(answer)
            self._json(answer)

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def liar(anvil_node: NodeInfo) -> Iterator[str]:
    server = forging_proxy(anvil_node.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def payment_to_a_contract_that_refuses_it(chain: Chain) -> dict[str, Any]:
    """Ether sent to a contract with no receive function: it reverts on chain. The gas is
    given, so nothing estimates it first (an estimate would show the revert)."""
    refuser = chain.deploy(load_fixture("Inspector")).address
    sender = chain.accounts[3]
    return {
        "from": sender.address,
        "to": refuser,
        "value": 10**18,
        "gas": 100_000,
        "nonce": chain.w3.eth.get_transaction_count(sender.address, "pending"),
        "chainId": chain.chain_id,
    }


def test_a_forged_receipt_is_believed_without_a_witness_and_caught_with_one(
    anvil_chain: Chain, liar: str
) -> None:
    signers = accounts.from_mnemonic(DEV_MNEMONIC)
    believer = Chain.connect(liar, signers, expected_chain_id=31337, dev=True)
    tx = payment_to_a_contract_that_refuses_it(believer)
    # The attack: the transaction failed, and the node says it succeeded.
    receipt = believer.send_signed(dict(tx), signers[3])
    truth = anvil_chain.w3.eth.get_transaction_receipt(receipt["transactionHash"])
    assert receipt["status"] == 1 and truth["status"] == 0

    checked = Chain.connect(liar, signers, expected_chain_id=31337, dev=True)
    checked.witness = anvil_chain.w3  # another node of the same chain
    tx = payment_to_a_contract_that_refuses_it(checked)
    with pytest.raises(TransactionError, match=r"disagrees with the witness node's on status"):
        checked.send_signed(dict(tx), signers[3])


def test_an_honest_node_passes_the_witness_check(anvil_chain: Chain) -> None:
    signers = accounts.from_mnemonic(DEV_MNEMONIC)
    checked = Chain.connect(anvil_chain.w3.provider.endpoint_uri, signers, dev=True)  # type: ignore[attr-defined]
    checked.witness = Web3(Web3.HTTPProvider(anvil_chain.w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    before = checked.balance(signers[5].address)
    assert checked.transfer(signers[5].address, 7, sender=signers[4])["status"] == 1
    assert checked.balance(signers[5].address) == before + 7


def test_the_witness_comes_from_the_settings_and_must_be_the_same_chain(
    anvil_node: NodeInfo,
    liar: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.setenv("DEML_RPC_URL", liar)
    monkeypatch.setenv("DEML_WITNESS_RPC_URL", anvil_node.url)
    chain = Chain.from_settings(load_settings())
    assert chain.witness is not None
    assert chain.witness.provider.endpoint_uri == anvil_node.url  # type: ignore[attr-defined]
    # A witness on another chain would vouch for nothing: refused at connection.
    other = LocalNode(tmp_path)
    info, _ = other.start(port=free_port(), chain_id=1337, mnemonic=DEV_MNEMONIC, persist=False)
    try:
        monkeypatch.setenv("DEML_WITNESS_RPC_URL", info.url)
        with pytest.raises(WrongChain, match=f"the node at {info.url} is chain 1337"):
            Chain.from_settings(load_settings())
    finally:
        other.stop()
