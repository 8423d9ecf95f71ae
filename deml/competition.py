"""Typed bindings for the Competition and CompetitionFactory contracts.

One class per contract, each over `.contract`; views return dataclasses; the commitment
helpers hash exactly as the contract does. A revert raises the custom error's own class
(see deml.exceptions.custom_error_class) with a message that says what to do.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import TxReceipt

from deml.chain import Chain
from deml.exceptions import ContractCustomError, DemlError

BPS = 10_000


class BindingError(DemlError, LookupError):
    """Chain data the binding needs is missing or does not match what the contract recorded."""


class Phase(IntEnum):
    SUBMIT = 0
    REVEAL = 1
    VOTE_COMMIT = 2
    VOTE_REVEAL = 3
    SETTLE = 4
    FINALIZED = 5


class Outcome(IntEnum):
    PENDING = 0
    WINNER = 1
    NO_WINNER = 2
    KEY_WITHHELD = 3


class Status(IntEnum):
    NONE = 0
    COMMITTED = 1
    REVEALED = 2
    REJECTED = 3
    VALIDATED = 4


class MinerStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    COMMITTED = 2
    REVEALED = 3
    SETTLED = 4
    SLASHED = 5


@dataclass(frozen=True)
class Params:
    """A competition's parameters, as ICompetition.Params (amounts in wei, times in seconds)."""

    entry_fee: int
    miner_stake: int
    submit_deadline: int
    reveal_deadline: int
    vote_commit_deadline: int
    vote_reveal_deadline: int
    test_set_size: int
    max_model_bytes: int
    max_submissions: int
    quorum: int
    winner_bps: int
    test_key_hash: bytes

    @property
    def miner_bps(self) -> int:
        return BPS - self.winner_bps

    def as_abi(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Submission:
    id: int
    owner: str | None
    status: Status
    size: int
    votes: int
    top_votes: int
    top_score: int
    hash: bytes  # the commitment until revealed, then keccak256 of the model bytes


@dataclass(frozen=True)
class Participant:
    commits: int
    reveals: int
    claimed: bool
    miner_status: MinerStatus
    agreeing_votes: int
    vote_commitment: bytes


@dataclass(frozen=True)
class Summary:
    phase: Phase
    outcome: Outcome
    test_key_revealed: bool
    submissions: int
    revealed: int
    settled: int
    miners: int
    miners_revealed: int
    miners_settled: int
    miners_slashed: int
    best_id: int
    prize: int
    pool: int
    winner_amount: int
    reward_per_vote: int
    host_amount: int


@dataclass(frozen=True)
class CreatedCompetition:
    """One CompetitionCreated event: what a miner or dashboard needs to find a competition."""

    address: str
    host: str
    dataset_cid: str
    test_cid: str
    prize: int
    params: Params
    block_number: int


# -- commitments: byte for byte what the contract computes ------------------------------------


def new_salt() -> bytes:
    """32 random bytes for a commitment."""
    return secrets.token_bytes(32)


def model_commitment(model: bytes, salt: bytes, sender: str, competition: str) -> bytes:
    """keccak256(abi.encode(keccak256(model), salt, sender, competition))."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "address", "address"], [keccak(model), salt, sender, competition]
        )
    )


def vote_commitment(
    ids: Sequence[int], scores: Sequence[int], salt: bytes, miner: str, competition: str
) -> bytes:
    """keccak256(abi.encode(ids, scores, salt, miner, competition))."""
    return keccak(
        encode(
            ["uint256[]", "uint32[]", "bytes32", "address", "address"],
            [list(ids), list(scores), salt, miner, competition],
        )
    )


def hash_test_key(key: bytes) -> bytes:
    """keccak256 of the 32-byte test-split key, as fixed at creation."""
    if len(key) != 32:
        raise ValueError(f"a test key is 32 bytes, got {len(key)}")
    return keccak(key)


# -- readable errors -------------------------------------------------------------------------


def _when(timestamp: int, now: int) -> str:
    at = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = timestamp - now
    span = f"{abs(delta) // 3600}h {abs(delta) % 3600 // 60}m {abs(delta) % 60}s"
    return f"{at} ({'in ' + span if delta > 0 else span + ' ago'})"


_HINTS = {
    "CommitTooLate": lambda a: f"submissions closed at {_when(a['deadline'], a['now'])}",
    "RevealTooEarly": lambda a: f"the reveal window opens at {_when(a['opensAt'], a['now'])}",
    "RevealTooLate": lambda a: f"the reveal window closed at {_when(a['deadline'], a['now'])}",
    "RegistrationTooLate": lambda a: (
        f"miner registration closed at {_when(a['deadline'], a['now'])}"
    ),
    "VoteCommitTooEarly": lambda a: f"vote commits open at {_when(a['opensAt'], a['now'])}",
    "VoteCommitTooLate": lambda a: f"vote commits closed at {_when(a['deadline'], a['now'])}",
    "VoteRevealTooEarly": lambda a: f"vote reveals open at {_when(a['opensAt'], a['now'])}",
    "VoteRevealTooLate": lambda a: f"vote reveals closed at {_when(a['deadline'], a['now'])}",
    "SettlementTooEarly": lambda a: f"settlement opens at {_when(a['opensAt'], a['now'])}",
    "EntryFeeMismatch": lambda a: f"the entry fee is exactly {a['required']} wei, not {a['sent']}",
    "StakeMismatch": lambda a: f"the miner stake is exactly {a['required']} wei, not {a['sent']}",
    "ModelTooLarge": lambda a: f"the model is {a['size']:,} bytes; the cap is {a['limit']:,}",
    "SubmissionLimitReached": lambda a: f"{a['competitor']} used all {a['limit']} submissions",
    "CommitmentMismatch": lambda a: (
        f"model and salt do not match submission {a['id']}'s commitment from {a['caller']}"
    ),
    "TestKeyMismatch": lambda a: "that key does not hash to the test key hash fixed at creation",
    "TestKeyWithheld": lambda a: "the host never revealed the test key; finalize to pay out",
    "SettlementIncomplete": lambda a: (
        f"{a['submissionsLeft']} submissions and {a['minersLeft']} miners still need settling"
    ),
    "NothingToClaim": lambda a: f"{a['account']} has nothing to claim",
    "AlreadyClaimed": lambda a: f"{a['account']} has already claimed",
}


def _readable(err: ContractCustomError) -> ContractCustomError:
    hint = _HINTS.get(err.name)
    if hint is not None:
        err.args = (f"{err.name}: {hint(err.arguments)}",)
    return err


# -- bindings --------------------------------------------------------------------------------


class CompetitionFactory:
    """The registry that creates competitions as clones and announces them."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract: Contract = chain.contract("CompetitionFactory", address)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @classmethod
    def deploy(cls, chain: Chain, sender: LocalAccount | None = None) -> CompetitionFactory:
        """Deploy a factory (and with it the Competition implementation)."""
        return cls(chain, chain.deploy("CompetitionFactory", sender=sender).address)

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
        to_block: int | str = "latest",
    ) -> list[CreatedCompetition]:
        """Every competition this factory created (or just `competition`), oldest first."""
        filters = {} if competition is None else {"competition": to_checksum_address(competition)}
        logs = self.contract.events.CompetitionCreated().get_logs(
            from_block=from_block, to_block=to_block, argument_filters=filters
        )
        return [
            CreatedCompetition(
                address=log["args"]["competition"],
                host=log["args"]["host"],
                dataset_cid=log["args"]["datasetCid"],
                test_cid=log["args"]["testCid"],
                prize=log["args"]["prize"],
                params=_params(log["args"]["params"]),
                block_number=log["blockNumber"],
            )
            for log in logs
        ]


class Competition:
    """One competition: typed actions and views over the Competition contract."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract: Contract = chain.contract("Competition", address)
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
            self._params = _params(self._call("params"))
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

    # -- data from logs and calldata -------------------------------------------------------

    def revealed_ids(self, from_block: int = 0) -> list[int]:
        """Ids of every revealed submission, ascending."""
        logs = self.contract.events.ModelRevealed().get_logs(from_block=from_block)
        return sorted(int(log["args"]["id"]) for log in logs)

    def revealed_model(self, submission_id: int, from_block: int = 0) -> bytes:
        """The model bytes of a revealed submission, read from its reveal transaction's calldata
        and checked against the hash the contract stored."""
        logs = self.contract.events.ModelRevealed().get_logs(
            from_block=from_block, argument_filters={"id": submission_id}
        )
        if not logs:
            raise BindingError(f"submission {submission_id} has not been revealed")
        args = self._calldata_args(logs[0]["transactionHash"], "reveal")
        model = bytes(args["model"])
        if keccak(model) != bytes(logs[0]["args"]["modelHash"]):
            raise BindingError(
                f"the calldata of submission {submission_id}'s reveal does not match its hash"
            )
        return model

    def revealed_votes(self, miner: str, from_block: int = 0) -> tuple[list[int], list[int], bytes]:
        """A miner's revealed (ids, scores, salt), read from its revealVotes calldata."""
        logs = self.contract.events.VotesRevealed().get_logs(
            from_block=from_block, argument_filters={"miner": to_checksum_address(miner)}
        )
        if not logs:
            raise BindingError(f"miner {miner} has not revealed votes")
        args = self._calldata_args(logs[0]["transactionHash"], "revealVotes")
        return list(args["ids"]), list(args["scores"]), bytes(args["salt"])

    def revealed_miners(self, from_block: int = 0) -> list[str]:
        """Every miner that revealed votes, in reveal order."""
        logs = self.contract.events.VotesRevealed().get_logs(from_block=from_block)
        return [str(log["args"]["miner"]) for log in logs]

    # -- internals -------------------------------------------------------------------------

    def _calldata_args(self, tx_hash: HexBytes, function: str) -> dict[str, Any]:
        tx = self.chain.w3.eth.get_transaction(tx_hash)
        if tx["to"] != self.contract.address:
            raise BindingError(
                f"transaction {HexBytes(tx_hash).hex()} called {function} through another contract;"
                " only direct calls can be read from calldata"
            )
        fn, args = self.contract.decode_function_input(tx["input"])
        if fn.fn_name != function:
            raise BindingError(f"transaction {HexBytes(tx_hash).hex()} is not a {function} call")
        return dict(args)

    def _call(self, name: str, *args: Any) -> Any:
        return self.chain.call(getattr(self.contract.functions, name)(*args))

    def _send(self, name: str, *args: Any, sender: LocalAccount, value: int = 0) -> TxReceipt:
        return _send(self.chain, getattr(self.contract.functions, name)(*args), sender, value)


def _send(chain: Chain, fn: Any, sender: LocalAccount | None, value: int) -> TxReceipt:
    try:
        return chain.transact(fn, sender=sender, value=value)
    except ContractCustomError as err:
        raise _readable(err) from None


def _params(raw: Sequence[Any] | Mapping[str, Any]) -> Params:
    # A view returns the struct as a tuple; an event decodes it as a dict in field order.
    values = list(raw.values()) if isinstance(raw, Mapping) else list(raw)
    values[-1] = bytes(values[-1])
    return Params(*values)
