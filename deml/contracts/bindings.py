"""Typed bindings for the CompetitionFactory, MinerPool and Competition contracts.

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
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from deml import artifacts
from deml.chain import blobs
from deml.chain.client import Chain
from deml.contracts.commitments import (
    blob_model_hash,
    commitment_to,
    new_salt,
    vote_commitment,
)
from deml.contracts.errors import readable
from deml.contracts.score_tree import Chunk
from deml.contracts.types import (
    Challenge,
    Claimed,
    CreatedCompetition,
    Credited,
    DissentProven,
    Finalized,
    JurorSettled,
    JuryDrawn,
    Log,
    ModelRevealed,
    ModelRevealedInBlobs,
    Outcome,
    Params,
    Participant,
    Phase,
    PoolJuror,
    RevealMode,
    Round,
    ScoresPublished,
    Seat,
    Status,
    Submission,
    SubmissionCommitted,
    SubmissionSettled,
    Summary,
    VectorPublished,
    Verdict,
    VoteCommitted,
    VoteRevealed,
    VoteState,
    decode_event,
)
from deml.exceptions import BindingError, ContractCustomError

E = TypeVar("E")
Block = int | str  # a block number, or "latest"


class _Binding:
    """What every binding shares: its contract, calls, sends and event reads."""

    NAME = ""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract: Contract = chain.contract(artifacts.load(self.NAME), address)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _call(self, name: str, *args: Any) -> Any:
        return self.chain.call(getattr(self.contract.functions, name)(*args))

    def _send(
        self, name: str, *args: Any, sender: LocalAccount | None, value: int = 0
    ) -> TxReceipt:
        return _send(self.chain, getattr(self.contract.functions, name)(*args), sender, value)

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


class CompetitionFactory(_Binding):
    """The registry that creates competitions as clones and announces them."""

    NAME = "CompetitionFactory"

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        *,
        seat_stake: int,
        unbonding_delay: int,
        min_units: int,
        min_seats: int,
        min_window: int,
        challenge_bond: int,
        sender: LocalAccount | None = None,
    ) -> CompetitionFactory:
        """Deploy a factory, and with it the Competition implementation and the miner pool;
        first the architecture registry (the sender registers architectures) and the dispute
        contract every competition of the factory answers to."""
        registry = chain.deploy(artifacts.load("Architectures"), sender=sender)
        disputes = chain.deploy(
            artifacts.load("Disputes"), registry.address, challenge_bond, sender=sender
        )
        deployed = chain.deploy(
            artifacts.load(cls.NAME),
            seat_stake,
            unbonding_delay,
            min_units,
            min_seats,
            min_window,
            disputes.address,
            sender=sender,
        )
        return cls(chain, deployed.address)

    def disputes(self) -> Disputes:
        """The dispute contract of this factory's competitions."""
        return Disputes(self.chain, self._call("disputes"))

    def pool(self) -> MinerPool:
        """The miner pool every competition of this factory draws its jury from."""
        return MinerPool(self.chain, self._call("pool"))

    def min_seats(self) -> int:
        return int(self._call("minSeats"))

    def min_window(self) -> int:
        return int(self._call("minWindow"))

    def create(
        self,
        params: Params,
        dataset_cid: str,
        test_cid: str,
        *,
        prize: int,
        sender: LocalAccount | None = None,
    ) -> Competition:
        """Create and fund a competition (prize, host bond, bounties); the sender hosts it."""
        receipt = _send(
            self.chain,
            self.contract.functions.create(params.as_abi(), dataset_cid, test_cid),
            sender,
            params.funding(prize),
        )
        (event,) = self.contract.events.CompetitionCreated().process_receipt(
            receipt, errors=DISCARD
        )
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


class MinerPool(_Binding):
    """The shared pool miners bond in, whole seat units, and juries are drawn from."""

    NAME = "MinerPool"

    def rewards(self, account: str) -> int:
        """Slashed stakes a challenger won (half of a root's majority it proved wrong)."""
        return int(self._call("rewards", account))

    def claim_reward(self, *, sender: LocalAccount) -> TxReceipt:
        return self._send("claimReward", sender=sender)

    def seat_stake(self) -> int:
        return int(self._call("seatStake"))

    def unbonding_delay(self) -> int:
        return int(self._call("unbondingDelay"))

    def min_units(self) -> int:
        return int(self._call("minUnits"))

    def total_units(self) -> int:
        return int(self._call("totalUnits"))

    def open_seals(self) -> int:
        return int(self._call("openSeals"))

    def juror(self, account: str) -> PoolJuror:
        return PoolJuror(*self._call("juror", to_checksum_address(account)))

    def sealed_target(self, competition: str) -> int:
        return int(self._call("sealedTarget", to_checksum_address(competition)))

    def draw_window(self) -> int:
        return int(self._call("drawWindow"))

    def drawn_for(self, competition: str) -> int:
        """Seats drawn so far under a competition's open seal."""
        return int(self._call("drawnFor", to_checksum_address(competition)))

    def juror_count(self) -> int:
        return int(self._call("jurorCount"))

    def juror_at(self, index: int) -> str:
        """The miner at tree position `index` (from 1)."""
        return str(self._call("jurorAt", index))

    def is_competition(self, address: str) -> bool:
        return bool(self._call("isCompetition", to_checksum_address(address)))

    def locked_for(self, competition: str, account: str) -> int:
        return int(
            self._call("lockedFor", to_checksum_address(competition), to_checksum_address(account))
        )

    def preview(self, seed: bytes, seats: int) -> list[str]:
        """The jury a draw would pick with this seed from the pool as it is (locks nothing)."""
        return [str(a) for a in self._call("preview", seed, seats)]

    def bond(self, units: int, *, sender: LocalAccount) -> TxReceipt:
        """Bond `units` seats' worth of stake."""
        return self._send("bond", sender=sender, value=units * self.seat_stake())

    def request_unbond(self, units: int, *, sender: LocalAccount) -> TxReceipt:
        return self._send("requestUnbond", units, sender=sender)

    def withdraw(self, *, sender: LocalAccount) -> TxReceipt:
        return self._send("withdraw", sender=sender)

    def apply_pending(self, account: str, *, sender: LocalAccount) -> TxReceipt:
        return self._send("applyPending", to_checksum_address(account), sender=sender)

    def expire_seal(self, competition: str, *, sender: LocalAccount) -> TxReceipt:
        return self._send("expireSeal", to_checksum_address(competition), sender=sender)


class Competition(_Binding):
    """One competition: typed actions, views and event readers over the Competition contract."""

    NAME = "Competition"

    def __init__(self, chain: Chain, address: str) -> None:
        super().__init__(chain, address)
        self._params: Params | None = None

    # -- views ---------------------------------------------------------------------------

    def phase(self) -> Phase:
        return Phase(self._call("phase"))

    def host(self) -> str:
        return str(self._call("host"))

    def pool(self) -> MinerPool:
        return MinerPool(self.chain, self._call("pool"))

    def prize(self) -> int:
        return int(self._call("prize"))

    def disputes(self) -> Disputes:
        """The dispute contract this competition answers to."""
        return Disputes(self.chain, self._call("disputes"))

    def overturned(self, r: int) -> bool:
        """Whether round r's decided root was overturned (a dispute, or bitmaps unpublished)."""
        return bool(int(self._call("overturned")) >> r & 1)

    def params(self) -> Params:
        """The creation parameters (fixed for life, so read once)."""
        if self._params is None:
            self._params = Params.from_abi(self._call("params"))
        return self._params

    def summary(self) -> Summary:
        raw = self._call("summary")
        return Summary(Phase(raw[0]), Outcome(raw[1]), *raw[2:])

    def submission(self, submission_id: int) -> Submission:
        owner, status, size, digest = self._call("submission", submission_id)
        is_zero = int(owner, 16) == 0
        return Submission(
            submission_id, None if is_zero else owner, Status(status), size, bytes(digest)
        )

    def round(self, r: int) -> Round:
        raw = list(self._call("round", r))
        raw[-1] = bytes(raw[-1])
        return Round(*raw)

    def seat(self, r: int, juror: str) -> Seat:
        seats, backed, state, dissent, cursor, last_id, digest = self._call(
            "seat", r, to_checksum_address(juror)
        )
        return Seat(seats, backed, VoteState(state), dissent, cursor, last_id, bytes(digest))

    def verdict(self, vote: bytes) -> Verdict:
        root, count, winner_id, winner_score = self._call("verdict", vote)
        return Verdict(bytes(root), count, winner_id, winner_score)

    def votes_for(self, r: int, vote: bytes) -> int:
        return int(self._call("votesFor", r, vote))

    def tally(self, r: int, submission_id: int) -> tuple[int, int, bool, bool]:
        """(top score, its seats, settled, validated) of a submission in a tally."""
        top, seats, settled, validated = self._call("tally", r, submission_id)
        return int(top), int(seats), bool(settled), bool(validated)

    def participant(self, account: str) -> Participant:
        return Participant(*self._call("participant", to_checksum_address(account)))

    def claimable(self, account: str) -> int:
        return int(self._call("claimable", to_checksum_address(account)))

    def liabilities(self) -> int:
        return int(self._call("liabilities"))

    def test_key(self) -> bytes | None:
        """The revealed test key, or None while the host has not revealed it."""
        return bytes(self._call("testKey")) if self.summary().key_revealed else None

    def balance(self) -> int:
        """The wei the contract holds (the ledger, `liabilities()`, is what it owes)."""
        return self.chain.balance(self.address)

    # -- actions -------------------------------------------------------------------------

    def commit(self, commitment: bytes, *, sender: LocalAccount) -> int:
        """Commit with the entry fee; return the submission id."""
        fee = self.params().entry_fee
        receipt = self._send("commit", commitment, sender=sender, value=fee)
        (event,) = self.contract.events.SubmissionCommitted().process_receipt(
            receipt, errors=DISCARD
        )
        return int(event["args"]["id"])

    def model_hash(self, model: bytes) -> bytes:
        """What this competition's commitments bind for `model`: keccak256 of its bytes, or in
        blob mode keccak256(abi.encode(size, the versioned hashes of its blobs))."""
        if self.params().reveal_mode == RevealMode.BLOB:
            return blob_model_hash(len(model), blobs.versioned_hashes(blobs.encode(model)))
        return keccak(model)

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
        commitment = commitment_to(self.model_hash(model), salt, sender.address, self.address)
        return self.commit(commitment, sender=sender), salt

    def reveal(
        self, submission_id: int, model: bytes, salt: bytes, *, sender: LocalAccount
    ) -> TxReceipt:
        """Reveal in calldata (a calldata competition)."""
        return self._send("reveal", submission_id, model, salt, sender=sender)

    def reveal_blobs(
        self,
        submission_id: int,
        model: bytes,
        salt: bytes,
        *,
        sender: LocalAccount,
        cid: str = "",
        blob_list: list[bytes] | None = None,
        size: int | None = None,
    ) -> TxReceipt:
        """Reveal in blobs (a blob competition), naming `cid`, a copy in content storage.
        `blob_list` and `size` default to the model's own encoding and length (tests pass
        others, as an attacker would)."""
        fn = self.contract.functions.revealBlobs(
            submission_id, len(model) if size is None else size, salt, cid
        )
        carried = blobs.encode(model) if blob_list is None else blob_list
        return _send(self.chain, fn, sender, 0, carried)

    def reveal_test_key(self, key: bytes, *, sender: LocalAccount) -> TxReceipt:
        return self._send("revealTestKey", key, sender=sender)

    def draw_jury(self, *, sender: LocalAccount) -> bool:
        """Seal the jury's draw, or (once the sealed block is out) draw its next batch of seats;
        return whether the jury is complete."""
        r = self.summary().round
        self._send("drawJury", sender=sender)
        return self.round(r).drawn

    def commit_vote(self, vote: bytes, salt: bytes, *, sender: LocalAccount) -> TxReceipt:
        """Commit the hash of `vote` (a score vector's vote hash, or HOST_FAULT) under `salt`."""
        commitment = vote_commitment(vote, salt, sender.address, self.address)
        return self._send("commitVote", commitment, sender=sender)

    def reveal_vote(
        self,
        root: bytes,
        count: int,
        winner_id: int,
        winner_score: int,
        salt: bytes,
        *,
        sender: LocalAccount,
    ) -> TxReceipt:
        return self._send("revealVote", root, count, winner_id, winner_score, salt, sender=sender)

    def reveal_host_fault(self, salt: bytes, *, sender: LocalAccount) -> TxReceipt:
        return self._send("revealHostFault", salt, sender=sender)

    def publish_scores(self, chunk: Chunk, *, sender: LocalAccount) -> TxReceipt:
        """Publish a chunk of the winning vector (earns its share of the bounty)."""
        return self._send(
            "publishScores", chunk.level, chunk.index, chunk.leaves, chunk.proof, sender=sender
        )

    def publish_vector(self, juror: str, chunk: Chunk, *, sender: LocalAccount) -> TxReceipt:
        """Add the next chunk of a juror's vector to the tally."""
        return self._send(
            "publishVector",
            to_checksum_address(juror),
            chunk.level,
            chunk.index,
            chunk.leaves,
            chunk.proof,
            sender=sender,
        )

    def settle_submissions(self, ids: Sequence[int], *, sender: LocalAccount) -> TxReceipt:
        return self._send("settleSubmissions", list(ids), sender=sender)

    def prove_dissent(self, juror: str, leaf: Chunk, *, sender: LocalAccount) -> TxReceipt:
        """Show a juror's vector disagrees with a validated score (`leaf`: a level-0 chunk)."""
        return self._send(
            "proveDissent",
            to_checksum_address(juror),
            leaf.index,
            leaf.leaves,
            leaf.proof,
            sender=sender,
        )

    def finalize(self, *, sender: LocalAccount) -> TxReceipt:
        return self._send("finalize", sender=sender)

    def settle_jurors(self, r: int, jurors: Sequence[str], *, sender: LocalAccount) -> TxReceipt:
        return self._send(
            "settleJurors", r, [to_checksum_address(j) for j in jurors], sender=sender
        )

    def claim(self, *, sender: LocalAccount, to: str | None = None) -> int:
        """Pull everything owed to `sender` (to `to` if given); return the amount paid."""
        if to is None:
            receipt = self._send("claim", sender=sender)
        else:
            receipt = self._send("claimTo", to_checksum_address(to), sender=sender)
        (event,) = self.contract.events.Claimed().process_receipt(receipt, errors=DISCARD)
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
        """ModelRevealed events (with the model bytes), oldest first."""
        return self._events(ModelRevealed, from_block, to_block, {"id": submission_id})

    def blob_reveals(
        self, *, submission_id: int | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[ModelRevealedInBlobs]:
        """ModelRevealedInBlobs events (versioned hashes, size, CID), oldest first."""
        return self._events(ModelRevealedInBlobs, from_block, to_block, {"id": submission_id})

    def juries(self, *, from_block: int = 0, to_block: Block = "latest") -> list[JuryDrawn]:
        """JuryDrawn events, one per batch of seats (`types.whole_juries` joins a vote's)."""
        return self._events(JuryDrawn, from_block, to_block)

    def vote_commits(
        self, *, juror: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[VoteCommitted]:
        """VoteCommitted events, in commit order."""
        return self._events(VoteCommitted, from_block, to_block, {"juror": juror})

    def vote_reveals(
        self, *, juror: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[VoteRevealed]:
        """VoteRevealed events, in reveal order."""
        return self._events(VoteRevealed, from_block, to_block, {"juror": juror})

    def scores_published(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[ScoresPublished]:
        """ScoresPublished events: chunks of the winning vector."""
        return self._events(ScoresPublished, from_block, to_block)

    def vectors_published(
        self, *, juror: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[VectorPublished]:
        """VectorPublished events: chunks of jurors' vectors added to a tally."""
        return self._events(VectorPublished, from_block, to_block, {"juror": juror})

    def submission_settlements(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[SubmissionSettled]:
        """SubmissionSettled events of the tallies, oldest first."""
        return self._events(SubmissionSettled, from_block, to_block)

    def dissents(self, *, from_block: int = 0, to_block: Block = "latest") -> list[DissentProven]:
        return self._events(DissentProven, from_block, to_block)

    def finalizations(self, *, from_block: int = 0, to_block: Block = "latest") -> list[Finalized]:
        """The Finalized event (one at most)."""
        return self._events(Finalized, from_block, to_block)

    def juror_settlements(
        self, *, from_block: int = 0, to_block: Block = "latest"
    ) -> list[JurorSettled]:
        return self._events(JurorSettled, from_block, to_block)

    def credits(
        self, *, account: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[Credited]:
        return self._events(Credited, from_block, to_block, {"account": account})

    def claims(
        self, *, account: str | None = None, from_block: int = 0, to_block: Block = "latest"
    ) -> list[Claimed]:
        """Claimed events, oldest first."""
        return self._events(Claimed, from_block, to_block, {"account": account})

    # -- data from events ----------------------------------------------------------------

    def revealed_ids(self, from_block: int = 0) -> list[int]:
        """Ids of every revealed submission, ascending (in calldata or in blobs)."""
        revealed = [r.id for r in self.reveals(from_block=from_block)]
        if self.params().reveal_mode == RevealMode.BLOB:
            revealed += [r.id for r in self.blob_reveals(from_block=from_block)]
        return sorted(revealed)

    def revealed_model(self, submission_id: int, from_block: int = 0) -> bytes:
        """The model bytes of a revealed submission, from its reveal event, checked against
        the hash the contract stored (any account, contract wallets too, may have sent it)."""
        found = self.reveals(submission_id=submission_id, from_block=from_block)
        if not found and self.blob_reveals(submission_id=submission_id, from_block=from_block):
            raise BindingError(
                f"submission {submission_id} was revealed in blobs: its bytes are not in an"
                " event, but fetched from a blob source (deml.roles.miner.revealed_model)"
            )
        if not found:
            raise BindingError(f"submission {submission_id} has not been revealed")
        model = found[0].model
        if keccak(model) != found[0].model_hash:
            raise BindingError(f"the reveal event of submission {submission_id} is inconsistent")
        return model

    def jury(self, r: int) -> dict[str, int]:
        """Round `r`'s jurors and their backed seats (empty until drawn)."""
        seats: dict[str, int] = {}
        for drawn in self.juries():
            if drawn.round == r:
                for juror, backed in zip(drawn.jurors, drawn.backed, strict=True):
                    seats[juror] = seats.get(juror, 0) + int(backed)
        return seats


def _send(
    chain: Chain,
    fn: Any,
    sender: LocalAccount | None,
    value: int,
    blobs: list[bytes] | None = None,
) -> TxReceipt:
    try:
        return chain.transact(fn, sender=sender, value=value, blobs=blobs)
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


class Architectures(_Binding):
    """The disputable architectures and their weight commitments (contracts/Architectures.sol)."""

    NAME = "Architectures"

    def registrar(self) -> str:
        return str(self._call("registrar"))

    def weights(self, architecture: bytes) -> int:
        """How many weights a model of `architecture` has (0: not registered)."""
        return int(self._call("architecture", architecture)[1])

    def register(
        self, architecture: bytes, pinned: tuple[Any, ...], *, sender: LocalAccount | None
    ) -> TxReceipt:
        """Pin an architecture (`Registration.as_abi`); the registrar only."""
        return self._send("register", architecture, pinned, sender=sender)

    def commitment_known(self, architecture: bytes, weights_root: bytes) -> bool:
        return bool(self._call("commitmentOf", architecture, weights_root)[0])

    def progress(self, architecture: bytes, weights_root: bytes) -> tuple[int, int]:
        """(chunks computed, chunks in all) of a commitment."""
        done, total = self._call("progress", architecture, weights_root)
        return int(done), int(total)

    def step(
        self, args: tuple[bytes, bytes, list[bytes], bytes, bytes], *, sender: LocalAccount | None
    ) -> TxReceipt:
        """Add one chunk to a commitment (`binding.step_args`)."""
        return self._send("step", *args, sender=sender)


class Disputes(_Binding):
    """The dispute game of a factory's competitions (contracts/Disputes.sol, docs/disputes.md)."""

    NAME = "Disputes"

    def architectures(self) -> Architectures:
        return Architectures(self.chain, self._call("architectures"))

    def bond(self) -> int:
        return int(self._call("bond"))

    def cleared(self, competition: str, r: int) -> bool:
        """Whether round r may settle on its root: bitmaps all out, no challenge open."""
        return bool(self._call("cleared", competition, r))

    def bitmaps_published(self, competition: str, r: int) -> dict[int, tuple[bytes, bytes]]:
        """The chunks of round r's winning vector published with their bitmaps, by first
        position: (packed leaves, bitmaps), as their events carry them."""
        logs = self.contract.events.BitmapsPublished().get_logs(
            from_block=0, argument_filters=_filters({"competition": competition, "round": r})
        )
        return {
            int(log["args"]["first"]): (bytes(log["args"]["leaves"]), bytes(log["args"]["bitmaps"]))
            for log in logs
        }

    def challenges(self, competition: str) -> list[Challenge]:
        """The challenges of a competition, oldest first, each with its state now."""
        logs = self.contract.events.Challenged().get_logs(
            from_block=0, argument_filters=_filters({"competition": competition})
        )
        found = []
        for log in logs:
            args = log["args"]
            _, _, is_open, _, contest_end, architecture, weights_root, _, _ = self._call(
                "challengeOf", args["challenge"]
            )
            numbers = [int(args[k]) for k in ("challenge", "round", "submission", "sample")]
            found.append(
                Challenge(
                    *numbers,
                    predicted=int(args["predicted"]),
                    challenger=str(args["challenger"]),
                    open=bool(is_open),
                    contest_end=int(contest_end),
                    architecture=bytes(architecture),
                    weights_root=bytes(weights_root),
                )
            )
        return found

    def publish_bitmaps(
        self, competition: str, chunk: Chunk, bitmaps: bytes, *, sender: LocalAccount | None
    ) -> TxReceipt:
        """Publish the bitmaps of a chunk of the winning vector."""
        return self._send(
            "publishBitmaps", competition, chunk.level, chunk.index, chunk.leaves, bitmaps,
            chunk.proof, sender=sender,
        )  # fmt: skip

    def annul(self, competition: str, *, sender: LocalAccount | None) -> TxReceipt:
        """Overturn a root whose bitmaps were not all published in the dispute window."""
        return self._send("annul", competition, sender=sender)

    def bind(
        self, competition: str, submission: int, payload: bytes, *, sender: LocalAccount | None
    ) -> TxReceipt:
        """Bind a submission revealed as a disputable payload to its weights root."""
        return self._send("bind", competition, submission, payload, sender=sender)

    def binding(self, competition: str, submission: int) -> tuple[bytes, bytes] | None:
        """(architecture, weights root) of a bound submission, or None."""
        architecture, root = self._call("binding", competition, submission)
        return None if root == b"\0" * 32 else (bytes(architecture), bytes(root))

    def challenge(
        self, competition: str, evidence: tuple[Any, ...], *, sender: LocalAccount | None
    ) -> TxReceipt:
        """Challenge a decided root with `evidence` (Disputes.Evidence, as a tuple), posting
        the bond."""
        return self._send("challenge", competition, evidence, sender=sender, value=self.bond())

    def resolve(self, challenge: int, *, sender: LocalAccount | None) -> TxReceipt:
        return self._send("resolve", challenge, sender=sender)

    def claim(self, *, sender: LocalAccount | None) -> TxReceipt:
        return self._send("claim", sender=sender)

    def credits(self, account: str) -> int:
        return int(self._call("credits", account))
