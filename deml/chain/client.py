"""The chain client: one connection, local signers, receipts checked, reverts decoded.

Two backends behave the same: a JSON-RPC node over HTTP (anvil locally, any EVM network for
real) and an in-process py-evm chain through eth-tester (fast, for tests). Transactions are
always signed locally and sent raw, so no node ever holds a key.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import RPCEndpoint, TxParams, TxReceipt

from deml.artifacts import Artifact
from deml.chain import accounts
from deml.chain import blobs as blob_encoding
from deml.chain.revert import ErrorTable, error_table, revert_from_exception, runtime_errors
from deml.exceptions import (
    AccountNotConfigured,
    ChainError,
    ChainUnreachable,
    ContractRevert,
    DevChainRequired,
    TransactionError,
    TransactionTimeout,
    WrongChain,
)

# Every transaction sent, with its hash: Prefect shows this logger in the task logs.
log = logging.getLogger("deml.chain")

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE_WEI = 10_000 * 10**18  # what anvil gives each dev account
RECEIPT_TIMEOUT_S = 120
CONFIRMATION_POLL_S = 0.5
GAS_MARGIN = 1.2  # estimates can fall short by the 63/64 rule on nested calls
# EIP-7825 caps one transaction at 2**24 gas.
MAX_TX_GAS = 16_777_216

Backend = Literal["http", "eth-tester"]


class Provider(HTTPProvider):
    """web3's HTTP provider, raising ChainUnreachable when no node answers (at any call, not
    only the first), so that callers can tell a dead node (retry) from a revert (never)."""

    def make_request(self, method: RPCEndpoint, params: Any) -> Any:
        try:
            return super().make_request(method, params)
        except (RequestException, OSError) as exc:
            raise ChainUnreachable(
                f"no chain answers at {self.endpoint_uri} ({method}): {type(exc).__name__}"
            ) from exc


@dataclass
class Chain:
    """A connection to one chain and the accounts that sign on it."""

    w3: Web3
    accounts: list[LocalAccount]
    backend: Backend
    dev: bool = False
    # Blocks on top of a transaction's own before it counts as sent (0: its receipt is enough).
    confirmations: int = 0
    # A second node every receipt is checked against (none: the first node is believed).
    witness: Web3 | None = None
    _contracts: dict[tuple[str, str], Contract] = field(default_factory=dict, repr=False)
    _chain_id: int | None = field(default=None, repr=False)
    # Custom errors this connection decodes: the runtime contracts', and those of every
    # artifact it has bound or deployed (test fixtures).
    _errors: ErrorTable = field(default_factory=runtime_errors, repr=False)
    # What a revert raises through web3: eth-tester adds its own TransactionFailed. (It is
    # imported only for that backend: eth-tester brings py-evm, 0.2 s on every command.)
    _reverts: tuple[type[Exception], ...] = field(default=(ContractLogicError,), repr=False)

    @classmethod
    def http(
        cls,
        url: str,
        accounts: list[LocalAccount],
        *,
        dev: bool,
        timeout_s: float,
        confirmations: int = 0,
    ) -> Chain:
        """A connection over HTTP that asks the node nothing until it is used."""
        w3 = Web3(Provider(url, request_kwargs={"timeout": timeout_s}))
        return cls(w3=w3, accounts=accounts, backend="http", dev=dev, confirmations=confirmations)

    @classmethod
    def connect(
        cls,
        url: str,
        accounts: list[LocalAccount],
        *,
        expected_chain_id: int | None = None,
        dev: bool = False,
        timeout_s: float = 10,
        confirmations: int = 0,
    ) -> Chain:
        """Connect over HTTP and check the node answers with the expected chain id."""
        chain = cls.http(url, accounts, dev=dev, timeout_s=timeout_s, confirmations=confirmations)
        try:
            chain_id = chain.chain_id
        except (ChainUnreachable, Web3RPCError) as exc:
            hint = " Start it with `deml chain up`." if dev else " Is DEML_RPC_URL right?"
            cause = exc.__cause__ or exc
            raise ChainUnreachable(
                f"no chain answers at {url}: {type(cause).__name__}.{hint}"
            ) from None
        if expected_chain_id is not None and chain_id != expected_chain_id:
            raise WrongChain(
                f"the node at {url} is chain {chain_id}, but the settings expect"
                f" {expected_chain_id}; are you connected to the right network?"
            )
        return chain

    @classmethod
    def from_settings(cls, settings: Any) -> Chain:
        """Connect as the settings say (see deml.settings.Settings)."""
        network = settings.active_network
        chain = cls.connect(
            network.rpc_url,
            accounts.from_settings(settings),
            expected_chain_id=network.chain_id,
            dev=network.dev,
            confirmations=network.required_confirmations,
        )
        if network.witness_rpc_url is not None:
            chain.witness = cls.connect(
                network.witness_rpc_url, [], expected_chain_id=network.chain_id
            ).w3
        return chain

    @classmethod
    def in_process(cls, mnemonic: str = DEV_MNEMONIC, count: int = 10) -> Chain:
        """A fresh py-evm chain in this process, funding the mnemonic's accounts as anvil does."""
        from eth_tester import EthereumTester, PyEVMBackend
        from eth_tester.exceptions import TransactionFailed

        signers = accounts.from_mnemonic(mnemonic, count)
        # eth-tester derives its own accounts on another path; fund exactly anvil's instead.
        genesis = {
            bytes.fromhex(s.address[2:]): {
                "balance": DEV_BALANCE_WEI,
                "nonce": 0,
                "code": b"",
                "storage": {},
            }
            for s in signers
        }
        tester = EthereumTester(PyEVMBackend(genesis_state=genesis))
        return cls(
            w3=Web3(EthereumTesterProvider(tester)),
            accounts=signers,
            backend="eth-tester",
            dev=True,
            _reverts=(ContractLogicError, TransactionFailed),
        )

    # -- reading ---------------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        # A node never changes its chain id; asking once saves a round trip per transaction.
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def signer(self, index: int) -> LocalAccount:
        """The `index`-th configured signer (0 on a real network: the key or keystore)."""
        if not 0 <= index < len(self.accounts):
            raise AccountNotConfigured(
                f"account {index} is not configured; {len(self.accounts)} are (0 to"
                f" {len(self.accounts) - 1})"
            )
        return self.accounts[index]

    def timestamp(self) -> int:
        """The timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))

    def contract(self, artifact: Artifact, address: str) -> Contract:
        """A web3 contract for `artifact` at `address`; its custom errors are decoded from now."""
        key = (artifact.name, address)
        if key not in self._contracts:
            self._errors.update(error_table(artifact.abi))
            self._contracts[key] = self.w3.eth.contract(
                Web3.to_checksum_address(address), abi=artifact.abi
            )
        return self._contracts[key]

    def call(self, fn: ContractFunction, sender: LocalAccount | None = None) -> Any:
        """Call a view or simulate a function, turning a revert into a ContractRevert.

        With `confirmations`, it reads the state of the newest block that has them: what a
        reorg may still undo is not acted on. (What this client sent itself is there already:
        a send returns only once it has as many.)"""
        params: TxParams = {"from": (sender or self.accounts[0]).address}
        try:
            if not self.confirmations:
                return fn.call(params)
            confirmed = max(0, self.w3.eth.block_number - self.confirmations)
            return fn.call(params, block_identifier=confirmed)
        except self._reverts as exc:
            raise self._as_revert(exc) from None

    # -- writing ---------------------------------------------------------------------------

    def deploy(
        self, artifact: Artifact, *args: Any, sender: LocalAccount | None = None, value: int = 0
    ) -> Contract:
        """Deploy `artifact` with constructor `args`; return the deployed contract."""
        self._errors.update(error_table(artifact.abi))
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.transact(factory.constructor(*args), sender=sender, value=value)
        return self.contract(artifact, receipt["contractAddress"])

    def estimate_gas(
        self,
        fn: Any,
        sender: LocalAccount | None = None,
        value: int = 0,
        blobs: list[bytes] | None = None,
    ) -> int:
        """The gas `fn` needs (with `blobs` attached: `blobhash` sees their versioned hashes);
        a revert raises the decoded ContractRevert, sending nothing."""
        params: TxParams = {"from": (sender or self.accounts[0]).address, "value": value}
        if blobs:
            params["blobVersionedHashes"] = blob_encoding.versioned_hashes(blobs)  # type: ignore[typeddict-unknown-key]
            params["maxFeePerBlobGas"] = 2 * max(1, self.w3.eth.blob_base_fee)  # type: ignore[typeddict-unknown-key]
        try:
            return int(fn.estimate_gas(params))
        except self._reverts as exc:
            raise self._as_revert(exc) from None

    def transact(
        self,
        fn: Any,
        *,
        sender: LocalAccount | None = None,
        value: int = 0,
        gas: int | None = None,
        blobs: list[bytes] | None = None,
    ) -> TxReceipt:
        """Sign and send a contract call or constructor (carrying `blobs`, if given); wait for
        and return its receipt.

        Raises the decoded ContractRevert when it would revert (checked by estimating gas
        first, so nothing is sent) or when it reverted on chain.
        """
        sender = sender or self.accounts[0]
        if gas is None:
            estimate = self.estimate_gas(fn, sender, value, blobs)
            gas = min(int(estimate * GAS_MARGIN), MAX_TX_GAS)
        tx = fn.build_transaction(
            {
                "from": sender.address,
                "value": value,
                "gas": gas,
                "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": self.chain_id,
            }
        )
        what = getattr(fn, "fn_name", None) or "deploy"
        return self.send_signed(tx, sender, what=what, blobs=blobs)

    def transfer(self, to: str, value: int, sender: LocalAccount | None = None) -> TxReceipt:
        """Send plain ether."""
        sender = sender or self.accounts[0]
        tx: TxParams = {
            "from": sender.address,
            "to": Web3.to_checksum_address(to),
            "value": value,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
            "chainId": self.chain_id,
        }
        tx["gas"] = self._estimate_raw(tx)
        tx.update(self._fees())
        return self.send_signed(tx, sender, what="transfer")

    def send_signed(
        self,
        tx: TxParams,
        sender: LocalAccount,
        *,
        what: str = "tx",
        blobs: list[bytes] | None = None,
    ) -> TxReceipt:
        """Sign `tx` locally, send it raw and wait for a successful receipt; log what was
        sent (`what`: the function called), its hash and its gas, on the `deml.chain` logger.
        With `blobs`, it goes as an EIP-4844 transaction carrying them (its blob fee cap set
        from the node's blob base fee unless `tx` gives one)."""
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            tx.update(self._fees())
        if blobs:
            if "maxFeePerBlobGas" not in tx:
                # Twice the current price: room for it to rise before the block is built.
                tx["maxFeePerBlobGas"] = 2 * max(1, self.w3.eth.blob_base_fee)
            tx["blobVersionedHashes"] = blob_encoding.versioned_hashes(blobs)
            signed = sender.sign_transaction(dict(tx)).raw_transaction
            raw = blob_encoding.pooled_transaction(signed, blobs)
        else:
            raw = sender.sign_transaction(dict(tx)).raw_transaction
        try:
            tx_hash = self.w3.eth.send_raw_transaction(raw)
        except self._reverts as exc:
            raise self._as_revert(exc) from None
        except Web3RPCError as exc:
            raise TransactionError(f"the node refused the transaction: {exc}") from None
        log.info("sending %s from %s: tx %s", what, sender.address, tx_hash.to_0x_hex())
        receipt = self._wait_for_receipt(tx_hash, raw, what)
        if receipt["status"] == 1 and self.confirmations:
            receipt = self._confirmed(receipt, raw, what)
        if self.witness is not None:
            self._witnessed(receipt)
        if receipt["status"] != 1:
            raise self._failure(tx, receipt)
        log.info(
            "%s landed in block %d (gas %s): tx %s",
            what, receipt["blockNumber"], f"{receipt['gasUsed']:,}", tx_hash.to_0x_hex(),
        )  # fmt: skip
        return receipt

    # -- dev chains: time and snapshots ----------------------------------------------------

    def travel_to(self, timestamp: int) -> None:
        """Mine a block at `timestamp` (dev chains only)."""
        self._require_dev("time travel")
        if timestamp <= (now := self.timestamp()):
            raise ChainError(f"cannot travel to {timestamp}: the chain is already at {now}")
        if self.backend == "eth-tester":
            # py-evm mines the travelled-to block one second early; ask for one more.
            self._rpc("testing_timeTravel", [timestamp + 1])
        else:
            self._rpc("evm_setNextBlockTimestamp", [timestamp])
            self._rpc("evm_mine", [])

    def increase_time(self, seconds: int) -> None:
        """Move the chain's clock forward by `seconds` and mine a block (dev chains only)."""
        self.travel_to(self.timestamp() + seconds)

    def mine(self) -> None:
        """Mine one empty block (dev chains only)."""
        self._require_dev("mining on demand")
        self._rpc("evm_mine", [])

    def snapshot(self) -> Any:
        """Save the chain's state; `revert(id)` goes back to it (dev chains only)."""
        self._require_dev("snapshots")
        return self._rpc("evm_snapshot", [])

    def revert(self, snapshot_id: Any) -> None:
        """Go back to a state saved by `snapshot()`."""
        self._require_dev("snapshots")
        if self._rpc("evm_revert", [snapshot_id]) is False:
            raise ChainError(f"the node has no snapshot {snapshot_id!r}")

    # -- internals -------------------------------------------------------------------------

    def _wait_for_receipt(
        self, tx_hash: HexBytes, raw: bytes | None = None, what: str = "tx"
    ) -> TxReceipt:
        """Poll for the receipt: at once, then backing off from 5 ms to 1 s. (web3's own wait
        sleeps 0.1 s before its second look, which is most of a transaction on a dev chain.)
        Once a look takes a second, a transaction the node no longer knows (dropped, or mined
        and reorged out before we looked) is sent again, its `raw` bytes unchanged."""
        deadline = time.monotonic() + RECEIPT_TIMEOUT_S
        delay = 0.005
        while True:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                if raw is not None and delay >= 1.0:
                    self._resend(raw, tx_hash, what)
            if time.monotonic() > deadline:
                raise TransactionTimeout(
                    f"transaction {tx_hash.hex()} was not mined within {RECEIPT_TIMEOUT_S} s;"
                    " it may still be pending"
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _confirmed(self, receipt: TxReceipt, raw: bytes, what: str) -> TxReceipt:
        """The receipt once `confirmations` blocks sit on its block, which must still be the
        chain's and hold the transaction. One reorged out is waited for again; if the node
        dropped it, the same signed bytes go out again (its nonce lets it land only once)."""
        tx_hash = receipt["transactionHash"]
        deadline = time.monotonic() + RECEIPT_TIMEOUT_S
        current: TxReceipt | None = receipt
        while True:
            if current is not None:
                try:
                    block = self.w3.eth.get_block(current["blockNumber"])
                except BlockNotFound:  # the chain is shorter than it was
                    block = None
                if block is None or block["hash"] != current["blockHash"]:
                    log.warning("%s: tx %s was reorged out; waiting for it again",
                                what, tx_hash.to_0x_hex())  # fmt: skip
                    current = None
                elif tx_hash not in block["transactions"]:
                    raise TransactionError(
                        f"the node's receipt for {tx_hash.to_0x_hex()} names block"
                        f" {current['blockNumber']}, which does not hold it"
                    )
                elif self.w3.eth.block_number >= current["blockNumber"] + self.confirmations:
                    return current
            if current is None:
                try:
                    current = self.w3.eth.get_transaction_receipt(tx_hash)
                except TransactionNotFound:
                    self._resend(raw, tx_hash, what)
            if time.monotonic() > deadline:
                raise TransactionTimeout(
                    f"transaction {tx_hash.to_0x_hex()} did not get {self.confirmations}"
                    f" confirmations within {RECEIPT_TIMEOUT_S} s"
                )
            time.sleep(CONFIRMATION_POLL_S)

    def _witnessed(self, receipt: TxReceipt) -> None:
        """Check the node's receipt against the witness node's, waited for (it may lag): the
        same block, status, gas and events, or `TransactionError` says which differs. One node
        can forge anything it answers; two run by different people would have to collude."""
        assert self.witness is not None
        tx_hash = receipt["transactionHash"]
        deadline = time.monotonic() + RECEIPT_TIMEOUT_S
        while True:
            try:
                theirs = self.witness.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise TransactionError(
                        f"the witness node has no receipt for tx {tx_hash.to_0x_hex()} after"
                        f" {RECEIPT_TIMEOUT_S} s: the node may have made it up"
                    ) from None
                time.sleep(CONFIRMATION_POLL_S)
        for key in ("status", "blockHash", "blockNumber", "gasUsed", "contractAddress"):
            if receipt.get(key) != theirs.get(key):
                raise TransactionError(
                    f"the node's receipt for tx {tx_hash.to_0x_hex()} disagrees with the"
                    f" witness node's on {key}: {receipt.get(key)!r} against"
                    f" {theirs.get(key)!r}; do not trust this node"
                )
        if [_event(e) for e in receipt["logs"]] != [_event(e) for e in theirs["logs"]]:
            raise TransactionError(
                f"the node's receipt for tx {tx_hash.to_0x_hex()} disagrees with the witness"
                " node's on the events it emitted; do not trust this node"
            )

    def _resend(self, raw: bytes, tx_hash: HexBytes, what: str) -> None:
        try:
            self.w3.eth.get_transaction(tx_hash)
            return  # pending again: the node put it back
        except TransactionNotFound:
            pass
        log.warning("%s: tx %s is no longer known to the node; sending it again",
                    what, tx_hash.to_0x_hex())  # fmt: skip
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Web3RPCError as exc:
            # "already known", "nonce too low" (it landed: a node behind a load balancer may
            # not have seen it yet), ...: nothing to do but keep looking for its receipt.
            log.warning("%s: the node refused tx %s again (%s); still waiting for its receipt",
                        what, tx_hash.to_0x_hex(), exc)  # fmt: skip

    def _rpc(self, method: str, params: list[Any]) -> Any:
        return self.w3.manager.request_blocking(RPCEndpoint(method), params)

    def _require_dev(self, what: str) -> None:
        if not self.dev:
            raise DevChainRequired(f"{what} works only on a local dev chain")

    def _fees(self) -> dict[str, int]:
        base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tip = 10**9 if self.backend == "http" else 1
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def _estimate_raw(self, tx: TxParams) -> int:
        try:
            return int(self.w3.eth.estimate_gas(tx))
        except self._reverts as exc:
            raise self._as_revert(exc) from None

    def _failure(self, tx: TxParams, receipt: TxReceipt) -> TransactionError:
        """Why a mined transaction failed: replay it as a call in its own block (its
        timestamp decides time-bound reverts such as KeyTooLate) to get the revert."""
        tx_hash = HexBytes(receipt["transactionHash"]).hex()
        used, limit = receipt["gasUsed"], tx.get("gas")
        replay = {k: tx[k] for k in ("from", "to", "value", "data", "gas") if k in tx}
        try:
            self.w3.eth.call(replay, block_identifier=receipt["blockNumber"])
        except (*self._reverts, Web3RPCError) as exc:
            if "outofgas" not in str(exc).lower().replace(" ", ""):
                reverted = self._as_revert(exc)
                reverted.args = (f"{reverted.args[0]} (transaction {tx_hash})",)
                return reverted
        # 63/64 of the limit gone: the gas ran out; anything less is a revert we could not see.
        why = (
            "it ran out of gas"
            if limit and used * 64 >= limit * 63
            else "replaying it did not reproduce the revert"
        )
        return TransactionError(
            f"transaction {tx_hash} failed after using {used} of {limit} gas; {why}"
        )

    def _as_revert(self, exc: Exception) -> ContractRevert:
        found = revert_from_exception(exc, self._errors)
        if found is None:
            return ContractRevert(f"the call failed: {exc}")
        return found


def _event(log_entry: Any) -> tuple[str, list[bytes], bytes]:
    """What an event says: who emitted it, its topics and its data."""
    return (
        str(log_entry["address"]).lower(),
        [bytes(t) for t in log_entry["topics"]],
        bytes(log_entry["data"]),
    )
