"""Typed bindings for the Competition and CompetitionFactory contracts.

One class per contract, each over `.contract`: actions send transactions, views return the
dataclasses of deml.contracts.types, and typed event readers return the events. Nothing else
in DeML touches `.contract` or web3's event API. A revert raises the custom error's own class
(see deml.exceptions.custom_error_class) with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import TxReceipt

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.commitments import model_commitment, new_salt, vote_commitment
from deml.contracts.errors import readable
from deml.contracts.types import (
    Claimed,
    CreatedCompetition,
    Finalized,
    Log,
    MinerRegistered,
    MinerSettled,
    MinerStatus,
    ModelRevealed,
    Outcome,
    Params,
    Participant,
    Phase,
    Status,
    Submission,
    SubmissionCommitted,
    SubmissionSettled,
    Summary,
    VotesCommitted,
    VotesRevealed,
    decode_event,
)
from deml.exceptions import BindingError, ContractCustomError

E = TypeVar("E")
Block = int | str  # a block number, or "latest"


class CompetitionFactory:
    """The registry that creates competitions as clones and announces them."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract: Contract = chain.contract(artifacts.load("CompetitionFactory"), address)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @classmethod
    def deploy(cls, chain: Chain, sender: LocalAccount | None = None) -> CompetitionFactory:
        """Deploy a factory (and with it the Competition implementation)."""
        deployed = chain.deploy(artifacts.load("CompetitionFactory"), sender=sender)
        return cls(chain, deployed.address)

    def create(
        self,
        params: Params,
        dataset_cid: str,
        test_cid: str,
        *,
        prize: int,
        sender: LocalAccount | None = None,
    ) -> Competition:
        """Create and fund a competition; the sender becomes its host."""
        receipt = _send(
            self.chain,
            self.contract.functions.create(params.as_abi(), dataset_cid, test_cid),
            sender,
            prize,
        )
        (event,) = self.contract.events.CompetitionCreated().process_receipt(receipt)
        return Competition(self.chain, event["args"]["competition"])

    def created(self, competition: str) -> CreatedCompetition:
        """The creation record of one competition of this factory."""
        found = self.competitions(competition=competition)
        if not found:
            raise BindingError(
                f"{competition} was not created by the factory at {self.address}; set"
                " DEML_FACTORY to the factory that created it"
            )
        return found[0]

    def competitions(
        self,
        from_block: int = 0,
        competition: str | None = None,
        to_block: Block = "latest",
    ) -> list[CreatedCompetition]:
        """Every competition this factory created (or just `competition`), oldest first."""
        logs = self.contract.events.CompetitionCreated().get_logs(
            from_block=from_block,
            to_block=to_block,
            argument_filters=_filters({"competition": competition}),
        )
        return [
            CreatedCompetition(
                address=log["args"]["competition"],
                host=log["args"]["host"],
                dataset_cid=log["args"]["datasetCid"],
                test_cid=log["args"]["testCid"],
                prize=log["args"]["prize"],
                params=Params.from_abi(log["args"]["params"]),
                block_number=log["blockNumber"],
            )
            for log in logs
        ]


class Competition:
    """One competition: typed actions, views and event readers over the Competition contract."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract: Contract = chain.contract(artifacts.load("Competition"), address)
        self._params: Params | None = None

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # -- views ---------------------------------------------------------------------------

    def phase(self) -> Phase:
        return Phase(self._call("phase"))

    def host(self) -> str:
        return str(self._call("host"))

    def params(self) -> Params:
        """The creation parameters (fixed for life, so read once)."""
        if self._params is None:
            self._params = Params.from_abi(self._call("params"))
        return self._params

    def summary(self) -> Summary:
        raw = self._call("summary")
        return Summary(Phase(raw[0]), Outcome(raw[1]), *raw[2:])

    def submission(self, submission_id: int) -> Submission:
        owner, status, size, votes, top_votes, top_score, digest = self._call(
            "submission", submission_id
        )
        is_zero = int(owner, 16) == 0
        return Submission(
            submission_id,
            None if is_zero else owner,
            Status(status),
            size,
            votes,
            top_votes,
            top_score,
            bytes(digest),
        )

    def participant(self, account: str) -> Participant:
        commits, reveals, claimed, miner_status, agreeing, commitment = self._call(
            "participant", to_checksum_address(account)
        )
        return Participant(
            commits, reveals, claimed, MinerStatus(miner_status), agreeing, bytes(commitment)
        )

    def claimable(self, account: str) -> int:
        return int(self._call("claimable", to_checksum_address(account)))

    def liabilities(self) -> int:
        return int(self._call("liabilities"))

    def votes_for(self, submission_id: int, score: int) -> int:
        return int(self._call("votesFor", submission_id, score))

    def test_key(self) -> bytes | None:
        """The revealed test key, or None while the host has not revealed it."""
        return bytes(self._call("testKey")) if self.summary().test_key_revealed else None

    def balance(self) -> int:
        """The wei the contract holds (the ledger, `liabilities()`, is what it owes)."""
        return self.chain.balance(self.address)

    # -- actions -------------------------------------------------------------------------

    def commit(self, commitment: bytes, *, sender: LocalAccount) -> int:
        """Commit with the entry fee; return the submission id."""
        fee = self.params().entry_fee
        receipt = self._send("commit", commitment, sender=sender, value=fee)
        (event,) = self.contract.events.SubmissionCommitted().process_receipt(receipt)
        return int(event["args"]["id"])

    def commit_model(
        self, model: bytes, *, sender: LocalAccount, salt: bytes | None = None
    ) -> tuple[int, bytes]:
        """Commit to `model` under a fresh salt; return the id and the salt (keep it to reveal)."""
        cap = self.params().max_model_bytes
        if len(model) > cap:
            raise BindingError(
                f"the model is {len(model):,} bytes; the cap is {cap:,}: nothing was sent"
            )
        salt = salt or new_salt()
        submission_id = self.commit(
            model_commitment(model, salt, sender.address, self.address), sender=sender
        )
        return submission_id, salt

    def reveal(
        self, submission_id: int, model: bytes, salt: bytes, *, sender: LocalAccount
    ) -> TxReceipt:
        return self._send("reveal", submission_id, model, salt, sender=sender)

    def reveal_test_key(self, key: bytes, *, sender: LocalAccount) -> TxReceipt:
        return self._send("revealTestKey", key, sender=sender)

    def register_miner(self, *, sender: LocalAccount) -> TxReceipt:
        return self._send("registerMiner", sender=sender, value=self.params().miner_stake)

    def commit_votes(
        self, ids: Sequence[int], scores: Sequence[int], salt: bytes, *, sender: LocalAccount
    ) -> TxReceipt:
        """Commit the hash of these scores (sorted by id) under `salt`."""
        commitment = vote_commitment(ids, scores, salt, sender.address, self.address)
        return self._send("commitVotes", commitment, sender=sender)

    def reveal_votes(
        self, ids: Sequence[int], scores: Sequence[int], salt: bytes, *, sender: LocalAccount
    ) -> TxReceipt:
        return self._send("revealVotes", list(ids), list(scores), salt, sender=sender)

    def settle(self, ids: Sequence[int], *, sender: LocalAccount) -> TxReceipt:
        return self._send("settle", list(ids), sender=sender)

    def settle_miner(
        self,
        miner: str,
        ids: Sequence[int],
        scores: Sequence[int],
        salt: bytes,
        *,
        sender: LocalAccount,
    ) -> TxReceipt:
        return self._send("settleMiner", miner, list(ids), list(scores), salt, sender=sender)

    def finalize(self, *, sender: LocalAccount) -> TxReceipt:
        return self._send("finalize", sender=sender)

    def claim(self, *, sender: LocalAccount, to: str | None = None) -> int:
        """Pull everything owed to `sender` (to `to` if given); return the amount paid."""
        if to is None:
            receipt = self._send("claim", sender=sender)
        else:
            receipt = self._send("claimTo", to_checksum_address(to), sender=sender)
        (event,) = self.contract.events.Claimed().process_receipt(receipt)
        return int(event["args"]["amount"])

    # -- events (each reader takes a block range: the dashboard reads only new blocks) ----

    def commits(
        self,
        *,
        committer: str | None = None,
        submission_id: int | None = None,
        from_block: int = 0,
        to_block: Block = "latest",
    ) -> list[SubmissionCommitted]:
        """SubmissionCommitted events, oldest first."""
        filters = {"committer": committer, "id": submission_id}
        return self._events(SubmissionCommitted, from_block, to_block, filters)

    def reveals(
        self, *, submission_id: int | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[ModelRevealed]:
        """ModelRevealed events, oldest first."""
        return self._events(ModelRevealed, from_block, to_block, {"id": submission_id})

    def registrations(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[MinerRegistered]:
        """MinerRegistered events, oldest first."""
        return self._events(MinerRegistered, from_block, to_block)

    def vote_commits(
        self, *, miner: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[VotesCommitted]:
        """VotesCommitted events, in commit order."""
        return self._events(VotesCommitted, from_block, to_block, {"miner": miner})

    def vote_reveals(
        self, *, miner: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[VotesRevealed]:
        """VotesRevealed events, in reveal order."""
        return self._events(VotesRevealed, from_block, to_block, {"miner": miner})

    def submission_settlements(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[SubmissionSettled]:
        """SubmissionSettled events, oldest first."""
        return self._events(SubmissionSettled, from_block, to_block)

    def miner_settlements(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[MinerSettled]:
        """MinerSettled events, oldest first."""
        return self._events(MinerSettled, from_block, to_block)

    def finalizations(self, *, from_block: int = 0, to_block: Block = "latest") -> list[Finalized]:
        """The Finalized event (one at most)."""
        return self._events(Finalized, from_block, to_block)

    def claims(
        self, *, account: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[Claimed]:
        """Claimed events, oldest first."""
        return self._events(Claimed, from_block, to_block, {"account": account})

    # -- data from events and calldata ---------------------------------------------------

    def revealed_ids(self, from_block: int = 0) -> list[int]:
        """Ids of every revealed submission, ascending."""
        return sorted(r.id for r in self.reveals(from_block=from_block))

    def revealed_model(self, submission_id: int, from_block: int = 0) -> bytes:
        """The model bytes of a revealed submission, read from its reveal transaction's calldata
        and checked against the hash the contract stored."""
        found = self.reveals(submission_id=submission_id, from_block=from_block)
        if not found:
            raise BindingError(f"submission {submission_id} has not been revealed")
        args = self._calldata_args(found[0].log.tx_hash, "reveal")
        model = bytes(args["model"])
        if keccak(model) != found[0].model_hash:
            raise BindingError(
                f"the calldata of submission {submission_id}'s reveal does not match its hash"
            )
        return model

    def revealed_votes(self, miner: str, from_block: int = 0) -> tuple[list[int], list[int], bytes]:
        """A miner's revealed (ids, scores, salt), read from its revealVotes calldata."""
        found = self.vote_reveals(miner=miner, from_block=from_block)
        if not found:
            raise BindingError(f"miner {miner} has not revealed votes")
        args = self._calldata_args(found[0].log.tx_hash, "revealVotes")
        return list(args["ids"]), list(args["scores"]), bytes(args["salt"])

    def revealed_miners(self, from_block: int = 0) -> list[str]:
        """Every miner that revealed votes, in reveal order."""
        return [v.miner for v in self.vote_reveals(from_block=from_block)]

    # -- internals -------------------------------------------------------------------------

    def _events(
        self,
        event: type[E],
        from_block: int,
        to_block: Block,
        filters: dict[str, Any] | None = None,
    ) -> list[E]:
        """Every `event` (a dataclass of deml.contracts.types, named as the Solidity event)
        in the block range, matching the non-None `filters`."""
        logs = getattr(self.contract.events, event.__name__)().get_logs(
            from_block=from_block, to_block=to_block, argument_filters=_filters(filters or {})
        )
        return [decode_event(event, log["args"], _log(log)) for log in logs]

    def _calldata_args(self, tx_hash: str, function: str) -> dict[str, Any]:
        tx = self.chain.w3.eth.get_transaction(HexBytes(tx_hash))
        if tx["to"] != self.contract.address:
            raise BindingError(
                f"transaction {tx_hash} called {function} through another contract;"
                " only direct calls can be read from calldata"
            )
        fn, args = self.contract.decode_function_input(tx["input"])
        if fn.fn_name != function:
            raise BindingError(f"transaction {tx_hash} is not a {function} call")
        return dict(args)

    def _call(self, name: str, *args: Any) -> Any:
        return self.chain.call(getattr(self.contract.functions, name)(*args))

    def _send(self, name: str, *args: Any, sender: LocalAccount, value: int = 0) -> TxReceipt:
        return _send(self.chain, getattr(self.contract.functions, name)(*args), sender, value)


def _send(chain: Chain, fn: Any, sender: LocalAccount | None, value: int) -> TxReceipt:
    try:
        return chain.transact(fn, sender=sender, value=value)
    except ContractCustomError as err:
        raise readable(err) from None


def _log(log: Any) -> Log:
    return Log(int(log["blockNumber"]), log["transactionHash"].to_0x_hex())


def _filters(values: dict[str, Any]) -> dict[str, Any]:
    """Event argument filters for the values given (addresses checksummed)."""
    filters = {}
    for name, value in values.items():
        if value is None:
            continue
        filters[name] = to_checksum_address(value) if isinstance(value, str) else value
    return filters
