"""A stateful property test of protocol v2: random sequences of every action, by every role,
across time, against a model of what the contracts must do.

Each example creates a competition on a factory whose pool five miners bonded in (two more
accounts bond, unbond and compete in the rules), and plays random steps: commits, reveals, the
key (right or wrong), seals and draws, pool bonds, vote commits and reveals (honest, liars,
all-zero and short vectors, HOST_FAULT, contested scores), publications, tallies, dissent
proofs, settlements and claims, with the clock moved in between. Two rules are the honest
parties' next moves, by a plan drawn with the example (how many entries, whether the key
comes, how each juror votes, whether one model is contested); the teardown plays them until
the competition is finalized, then settles every juror and pays every party.

After every step: the balance equals the internal ledger, the ledger equals what came in less
what was paid and burned, phases never go backwards, and once finalized, what everyone can
claim adds up to the ledger. At finalization, the outcome and every amount are checked
against the model, and at the end each account was paid exactly its credits plus its final
amount, each juror kept or lost exactly the seats the model says, and the pool's ether
equals its units. The outcome mix is printed; at least three outcomes must occur, and Winner
in a fifth of the examples or more.

Transactions go straight to anvil from impersonated accounts (`eth_sendTransactionSync`, a
fixed gas limit, the receipt in the answer), and views are decoded with eth_abi alone: one
round trip each, about twenty times faster than the bindings (web3 formats every value and
looks up proxies in the environment on every request). A reverted transaction is simply a
rejected action.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from eth_abi import decode, encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    keccak,
    to_checksum_address,
)
from eth_utils.abi import collapse_if_tuple
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.commitments import hash_test_key, model_commitment, vote_commitment
from deml.contracts.score_tree import ScoreTree, vote_hash, winner_of
from deml.contracts.types import (
    BPS,
    HOST_FAULT,
    Outcome,
    Params,
    Phase,
    PoolJuror,
    RevealMode,
    Round,
)
from tests.helpers.game import SAMPLES_ROOT, SEAT, bond_all, deploy_factory, vector

TEST_SET = 50
STEP = 100  # seconds per phase; the tests' factory allows 60
UNITS = 4  # each of the five miners bonds four seats: 20 units, a re-vote needs 11
STEPS = 30  # random steps per example; the teardown plays out the rest
GAS = 3_000_000
BEHAVIOURS = ["honest", "liar", "zero", "short", "fault", "contested", "silent"]
# The outcome of every example of the run, reported at the end.
OUTCOMES: Counter[str] = Counter()


def true_score(model: bytes) -> int:
    """What an honest miner computes for a model: any fixed function of its bytes."""
    return int.from_bytes(keccak(model)[:2], "big") % (TEST_SET + 1)


class Abi:
    """A contract's functions and events, encoded and decoded with eth_abi alone (web3's
    contract layer recomputes selectors and formats every value, at a cost per call that
    would dominate this test)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions = {
            f["name"]: (
                function_abi_to_4byte_selector(f),
                [collapse_if_tuple(i) for i in f["inputs"]],
                [collapse_if_tuple(o) for o in f["outputs"]],
            )
            for f in abi
            if f.get("type") == "function"
        }
        self.events = {
            event_abi_to_log_topic(e): (
                e["name"],
                [(i["name"], collapse_if_tuple(i)) for i in e["inputs"] if i["indexed"]],
                [(i["name"], collapse_if_tuple(i)) for i in e["inputs"] if not i["indexed"]],
            )
            for e in abi
            if e.get("type") == "event"
        }

    def encode(self, fn: str, *args: Any) -> bytes:
        selector, inputs, _ = self.functions[fn]
        return selector + encode(inputs, list(args))

    def decode(self, fn: str, data: bytes) -> tuple[Any, ...]:
        return decode(self.functions[fn][2], data)

    def event(self, log: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """(name, arguments) of a JSON-RPC log of this contract's, or None for another's."""
        topic = bytes.fromhex(log["topics"][0][2:]) if log["topics"] else b""
        if topic not in self.events:
            return None
        name, indexed, rest = self.events[topic]
        args = {
            n: _checksummed(t, decode([t], bytes.fromhex(raw[2:]))[0])
            for (n, t), raw in zip(indexed, log["topics"][1:], strict=True)
        }
        values = decode([t for _, t in rest], bytes.fromhex(log["data"][2:]))
        args.update({n: _checksummed(t, v) for (n, t), v in zip(rest, values, strict=True)})
        return name, args


def _checksummed(abi_type: str, value: Any) -> Any:
    """Addresses as the accounts spell them (eth_abi gives them in lower case)."""
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type == "address[]":
        return [to_checksum_address(v) for v in value]
    return value


class Node:
    """The JSON-RPC calls the machine makes, straight to anvil. Transactions go out from
    impersonated accounts with `eth_sendTransactionSync`: one round trip, nothing to sign,
    the receipt in the answer; a reverted one is a rejected action."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookup in the environment per request
        # The latest block's timestamp, kept here: every block is one second after the last
        # (anvil_setBlockTimestampInterval) unless travelled to. Checked against the chain
        # at the end of each example.
        self.clock = 0
        self.moved = False  # whether a block was mined since the last invariant check

    def rpc(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = self.session.post(self.url, json=body).json()
        assert "error" not in answer, (method, answer["error"])  # a harness bug, not a revert
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one round trip; their results in order."""
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        answers = sorted(self.session.post(self.url, json=body).json(), key=lambda a: a["id"])
        assert all("error" not in a for a in answers), answers
        return [a["result"] for a in answers]

    def call(self, to: str, data: bytes) -> bytes:
        result = self.rpc("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(result[2:])

    def send(
        self, account: LocalAccount, to: str, data: bytes, value: int = 0
    ) -> list[dict[str, Any]] | None:
        """The receipt's logs, or None if the transaction reverted."""
        tx = {
            "from": account.address,
            "to": to,
            "data": "0x" + data.hex(),
            "value": hex(value),
            "gas": hex(GAS),
            "maxPriorityFeePerGas": "0x0",
        }
        receipt = self.rpc("eth_sendTransactionSync", tx)
        self.tick(1)
        return receipt["logs"] if receipt["status"] == "0x1" else None

    def timestamp(self) -> int:
        """The latest block's timestamp, asked of the chain."""
        return int(self.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    def tick(self, blocks: int) -> None:
        self.clock += blocks
        self.moved = True

    def revert(self, snapshot: Any) -> Any:
        """Back to `snapshot`; a new snapshot of the same state."""
        assert self.rpc("evm_revert", snapshot)
        self.clock = self.timestamp()
        self.moved = True
        return self.rpc("evm_snapshot")

    def balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", address, "latest"), 16)

    def travel(self, timestamp: int) -> None:
        self.rpc("evm_setNextBlockTimestamp", timestamp)
        self.rpc("evm_mine")
        self.clock = timestamp
        self.moved = True

    def mine(self, blocks: int) -> None:
        self.rpc("anvil_mine", hex(blocks))
        self.tick(blocks)


ABI = {
    "Competition": Abi(artifacts.load("Competition").abi),
    "CompetitionFactory": Abi(artifacts.load("CompetitionFactory").abi),
    "MinerPool": Abi(artifacts.load("MinerPool").abi),
    "Disputes": Abi(artifacts.load("Disputes").abi),
    "Inspector": Abi(artifacts.load_fixture("Inspector").abi),
}
COMPETITION, POOL = ABI["Competition"], ABI["MinerPool"]


@dataclass
class World:
    """What lives across examples: the chain, one factory and its pool, the accounts."""

    node: Node
    factory: str
    pool: str
    disputes: str
    inspector: str
    host: LocalAccount
    players: list[LocalAccount]  # competitors (one of them also a pool account)
    jurors: list[LocalAccount]  # pool accounts: five bonded miners, two that bond in the rules
    anyone: LocalAccount
    snapshot: Any = None

    @property
    def everyone(self) -> list[LocalAccount]:
        seen: dict[str, LocalAccount] = {}
        for a in [self.host, *self.players, *self.jurors, self.anyone]:
            seen.setdefault(a.address, a)
        return list(seen.values())


@dataclass
class Plan:
    """How the teardown plays the rest of the example (drawn with it)."""

    entries: int  # models committed if fewer were
    reveal: bool  # competitors reveal what they committed
    key: bool  # the host reveals the key
    fault: bool  # the key does not open the split: honest jurors vote HOST_FAULT
    contested: bool  # the last model scores differently on every machine: no root wins
    behaviours: list[str]  # one per pool account
    publish: bool  # someone publishes the winning vector
    dispute: bool  # someone proves dissent where a juror's vector disagrees


@dataclass
class Sub:
    owner: LocalAccount
    model: bytes
    salt: bytes
    revealed: bool = False


@dataclass
class Ballot:
    vote: bytes
    salt: bytes
    tree: ScoreTree | None  # None: HOST_FAULT
    revealed: bool = False
    cursor: int = 0  # leaves of its vector added to a tally
    dissent: bool = False


@dataclass
class Vote:
    """One round: its jury and what happened to it, as the model sees it."""

    seats: int
    drawn: bool = False  # every seat drawn
    seats_drawn: int = 0
    jury: dict[str, int] = field(default_factory=dict)  # juror -> backed seats
    commit_deadline: int = 0
    reveal_deadline: int = 0
    tally_deadline: int = 0
    ballots: dict[str, Ballot] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)  # jurors the honest player stops voting for
    stuck: set[str] = field(default_factory=set)  # vectors it stops publishing
    counts: dict[int, Counter[int]] = field(default_factory=dict)  # id -> score -> seats
    settled: dict[int, tuple[bool, int]] = field(default_factory=dict)  # id -> validated, score
    juror_settled: set[str] = field(default_factory=set)

    def seats_for(self) -> Counter[bytes]:
        """Seats behind each revealed vote."""
        seats: Counter[bytes] = Counter()
        for juror, b in self.ballots.items():
            if b.revealed:
                seats[b.vote] += self.jury[juror]
        return seats

    def majority(self) -> bytes | None:
        """The vote with a strict majority of all seats, if any."""
        for vote, seats in self.seats_for().items():
            if 2 * seats > self.seats:
                return vote
        return None


class CompetitionMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.address = ""
        self.subs: dict[int, Sub] = {}
        self.commits: Counter[str] = Counter()
        self.reveals: Counter[str] = Counter()
        self.key_revealed = False
        self.votes: dict[int, Vote] = {}
        self.round = 1
        self.sealed = False
        self.finalized: dict[str, Any] | None = None
        self.published: set[int] = set()  # positions of the winning vector published
        self.published_once = False  # whether the honest player published it
        self.bitmaps_out: set[int] = set()  # rounds whose winning bitmaps it published
        self.paid_in = 0
        self.paid_out = 0
        self.burned = 0
        self.credited: Counter[str] = Counter()
        self.credited_for: Counter[tuple[str, str]] = Counter()  # (account, reason)
        self.claimed: Counter[str] = Counter()
        self.rank = (0, 0.0)
        self.salts = 0

    # -- setup ---------------------------------------------------------------------------

    @initialize(
        prize=st.integers(1, 10**18),
        extra_bond=st.sampled_from([0, 0, 1, 10**17]),
        fee=st.integers(1, 10**16),
        bounties=st.sampled_from([(0, 0), (10**15, 10**15 + 1), (7, 3)]),
        seats=st.sampled_from([3, 5]),
        winner_bps=st.sampled_from([9_000, 9_000, 5_000, 9_999]),
        max_submissions=st.integers(1, 3),
        plan=st.builds(
            Plan,
            entries=st.sampled_from([2, 1, 3, 2, 3, 0]),  # hypothesis favours the first
            reveal=st.sampled_from([True] * 7 + [False]),
            key=st.sampled_from([True] * 7 + [False]),
            fault=st.sampled_from([False] * 7 + [True]),
            contested=st.sampled_from([False, False, True]),
            behaviours=st.lists(
                st.sampled_from(["honest"] * 8 + BEHAVIOURS[1:]), min_size=7, max_size=7
            ),
            publish=st.sampled_from([True, True, False]),
            dispute=st.booleans(),
        ),
    )
    def create(
        self,
        prize: int,
        extra_bond: int,
        fee: int,
        bounties: tuple[int, int],
        seats: int,
        winner_bps: int,
        max_submissions: int,
        plan: Plan,
    ) -> None:
        w = self.world
        # Every example starts from the same chain: the factory, the bonded pool, no seal.
        w.snapshot = w.node.revert(w.snapshot)
        self.plan = plan
        now = w.node.clock
        self.key = keccak(b"the test key")
        self.prize = prize
        self.params = Params(
            entry_fee=fee,
            host_bond=prize + extra_bond,
            draw_bounty=bounties[0],
            publish_bounty=bounties[1],
            submit_deadline=now + STEP,
            reveal_deadline=now + 2 * STEP,
            key_deadline=now + 3 * STEP,
            vote_commit_deadline=now + 4 * STEP,
            vote_reveal_deadline=now + 5 * STEP,
            tally_duration=STEP,
            test_set_size=TEST_SET,
            max_model_bytes=64,
            max_submissions=max_submissions,
            seats=seats,
            winner_bps=winner_bps,
            test_key_hash=hash_test_key(self.key),
            reveal_mode=RevealMode.CALLDATA,
            samples_root=SAMPLES_ROOT,
        )
        factory = ABI["CompetitionFactory"]
        create = factory.encode("create", self.params.as_abi(), "bafy-dataset", "bafy-test")
        logs = w.node.send(w.host, w.factory, create, self.params.funding(prize))
        assert logs is not None, "the creation reverted"
        (created,) = [e for e in map(factory.event, logs) if e and e[0] == "CompetitionCreated"]
        self.address = created[1]["competition"]
        self.paid_in = self.params.funding(prize)
        self.votes = {1: Vote(seats), 2: Vote(2 * seats + 1)}

    # -- sending -------------------------------------------------------------------------

    def send(
        self, who: LocalAccount, fn: str, *args: Any, value: int = 0, pool: bool = False
    ) -> list[tuple[str, Any]] | None:
        """Send `fn(*args)` to the competition (or the pool); its events, or None if reverted.
        Credits and claims are booked from the events."""
        abi, to = (POOL, self.world.pool) if pool else (COMPETITION, self.address)
        logs = self.world.node.send(who, to, abi.encode(fn, *args), value)
        if logs is None:
            return None
        events = [
            e
            for log in logs
            if log["address"].lower() == self.address.lower() and (e := COMPETITION.event(log))
        ]
        for name, ev in events:
            if name == "Credited":
                self.credited[ev["account"]] += ev["amount"]
                self.credited_for[(ev["account"], ev["reason"])] += ev["amount"]
            elif name == "Claimed":
                self.paid_out += ev["amount"]
                self.claimed[ev["account"]] += ev["amount"]
            elif name == "JurorSettled":  # its pay is credited without a Credited event
                self.check_juror(ev)
                self.credited[ev["juror"]] += ev["reward"]
                self.credited_for[(ev["juror"], "jury")] += ev["reward"]
        return events

    def salt(self) -> bytes:
        """A fresh salt, the same on every run of the example: hypothesis replays examples,
        and a random salt would change the block hashes, so the juries, so the example."""
        self.salts += 1
        return keccak(b"salt %d" % self.salts)

    def now(self) -> int:
        return self.world.node.clock

    def travel(self, timestamp: int) -> None:
        if self.now() < timestamp:
            self.world.node.travel(timestamp)

    def mine(self, blocks: int) -> None:
        self.world.node.mine(blocks)

    def view(self, fn: str, *args: Any, pool: bool = False) -> tuple[Any, ...]:
        abi, to = (POOL, self.world.pool) if pool else (COMPETITION, self.address)
        return abi.decode(fn, self.world.node.call(to, abi.encode(fn, *args)))

    def claimable(self, account: str) -> int:
        return int(self.view("claimable", account)[0])

    # -- the model's views ---------------------------------------------------------------

    def revealed_ids(self) -> list[int]:
        return sorted(sid for sid, s in self.subs.items() if s.revealed)

    def backed(self, r: int) -> list[str]:
        return sorted(j for j, b in self.votes[r].jury.items() if b)

    def root_decided(self, r: int) -> bool:
        vote = self.votes[r]
        return vote.drawn and self.now() >= vote.reveal_deadline and vote.majority() is not None

    def leader_tree(self) -> ScoreTree | None:
        vote = self.votes[self.round]
        leader = vote.majority()
        for b in vote.ballots.values():
            if b.vote == leader and b.tree is not None:
                return b.tree
        return None

    def account(self, address: str) -> LocalAccount:
        return next(a for a in self.world.everyone if a.address == address)

    # -- actions, each used by the random rules and by the honest player -----------------------

    def commit_as(self, who: LocalAccount, model: bytes) -> None:
        salt = self.salt()
        commitment = model_commitment(model, salt, who.address, self.address)
        events = self.send(who, "commit", commitment, value=self.params.entry_fee)
        if events is not None:
            (sid,) = [ev["id"] for name, ev in events if name == "SubmissionCommitted"]
            self.subs[sid] = Sub(who, model, salt)
            self.commits[who.address] += 1
            self.paid_in += self.params.entry_fee

    def reveal_as(self, sid: int) -> None:
        sub = self.subs[sid]
        if self.send(sub.owner, "reveal", sid, sub.model, sub.salt) is not None:
            assert not sub.revealed, "a model was revealed twice"
            sub.revealed = True
            self.reveals[sub.owner.address] += 1

    def key_as(self, right: bool) -> None:
        key = self.key if right else self.salt()
        if self.send(self.world.host, "revealTestKey", key) is not None:
            assert right and not self.key_revealed
            self.key_revealed = True

    def draw_as(self, who: LocalAccount) -> bool:
        """One drawJury call: it seals, or draws a batch of seats; whether the jury is whole."""
        events = self.send(who, "drawJury")
        if events is None:
            return False
        drawn = [ev for name, ev in events if name == "JuryDrawn"]
        if not drawn:
            assert not self.sealed, "sealed twice"
            self.sealed = True
            return False
        (ev,) = drawn
        r = ev["round"]
        vote = self.votes[r]
        assert r == self.round and not vote.drawn and self.sealed
        first = vote.seats_drawn
        vote.seats_drawn += len(ev["jurors"])
        assert 0 < len(ev["jurors"]) <= 16 and vote.seats_drawn <= vote.seats
        # The draw bounty is paid per seat drawn, the last batch taking the remainder.
        bounty = self.params.draw_bounty
        paid = bounty * vote.seats_drawn // vote.seats - bounty * first // vote.seats
        credits = [e for n, e in events if n == "Credited" and e["reason"] == "draw"]
        assert sum(e["amount"] for e in credits) == paid
        assert all(e["account"] == who.address for e in credits)
        for juror, backed in zip(ev["jurors"], ev["backed"], strict=True):
            vote.jury[juror] = vote.jury.get(juror, 0) + int(backed)
        if vote.seats_drawn < vote.seats:
            return False
        self.sealed = False
        drawn_round = Round(*self.view("round", r)[0])
        vote.drawn = True
        vote.commit_deadline = drawn_round.commit_deadline
        vote.reveal_deadline = drawn_round.reveal_deadline
        vote.tally_deadline = drawn_round.tally_deadline
        assert drawn_round.backed_seats == sum(vote.jury.values())
        return True

    def full_draw(self) -> bool:
        """Seal if needed, let the sealed block pass, draw every batch; whether it is whole."""
        if not self.sealed:
            self.draw_as(self.world.anyone)
        if self.sealed:
            self.mine(3)
        vote = self.votes[self.round]
        while True:
            before = vote.seats_drawn
            if self.draw_as(self.world.anyone):
                return True
            if vote.seats_drawn == before:
                return False  # refused: a draw that cannot happen

    def expire_seal(self) -> None:
        """Let a seal that cannot be drawn expire (its block leaves the hash window)."""
        window = self.view("drawWindow", pool=True)[0]
        self.mine(window + 3)
        if self.send(self.world.anyone, "expireSeal", self.address, pool=True) is not None:
            self.sealed = False

    def ballot_for(self, juror: str, behaviour: str) -> tuple[bytes, ScoreTree | None] | None:
        ids = self.revealed_ids()
        if behaviour == "silent":
            return None
        if behaviour == "fault" or (behaviour == "honest" and self.plan.fault) or not ids:
            return HOST_FAULT, None
        scores = {sid: true_score(self.subs[sid].model) for sid in ids}
        if behaviour == "liar":
            scores[ids[0]] = (scores[ids[0]] + 1) % (TEST_SET + 1)
        elif behaviour == "zero":
            scores = dict.fromkeys(ids, 0)
        elif behaviour == "short" and len(ids) > 1:
            del scores[ids[-1]]  # a vector that leaves a model out: its root names no winner
        if behaviour == "contested" or (self.plan.contested and behaviour in ("honest", "liar")):
            # The last model scores differently on every machine (near a time limit, say).
            k = [j.address for j in self.world.jurors].index(juror)
            scores[ids[-1]] = (scores[ids[-1]] + 1 + k) % (TEST_SET + 1)
        tree = vector(scores, TEST_SET)
        winner_id, winner_score = winner_of(tree.scores)
        return vote_hash(tree.root, tree.count, winner_id, winner_score), tree

    def commit_vote_as(self, juror: str, behaviour: str) -> None:
        vote = self.votes[self.round]
        ballot = self.ballot_for(juror, behaviour)
        if ballot is None:
            vote.silent.add(juror)
            return
        choice, tree = ballot
        salt = self.salt()
        commitment = vote_commitment(choice, salt, juror, self.address)
        if self.send(self.account(juror), "commitVote", commitment) is not None:
            assert vote.jury.get(juror), "a juror without a backed seat committed"
            assert juror not in vote.ballots or not vote.ballots[juror].revealed
            vote.ballots[juror] = Ballot(choice, salt, tree)

    def reveal_vote_as(self, juror: str) -> None:
        ballot = self.votes[self.round].ballots[juror]
        if ballot.tree is None:
            events = self.send(self.account(juror), "revealHostFault", ballot.salt)
        else:
            winner_id, winner_score = winner_of(ballot.tree.scores)
            events = self.send(
                self.account(juror),
                "revealVote",
                ballot.tree.root,
                ballot.tree.count,
                winner_id,
                winner_score,
                ballot.salt,
            )
        if events is not None:
            assert not ballot.revealed
            ballot.revealed = True

    def publish_scores_as(self, who: LocalAccount, level: int, index: int) -> None:
        tree = self.leader_tree()
        if tree is None:
            return
        level = min(level, tree.depth)
        index %= (tree.count + (1 << level) - 1) >> level
        chunk = tree.chunk(level, index)
        args = (chunk.level, chunk.index, chunk.leaves, chunk.proof)
        if self.send(who, "publishScores", *args) is not None:
            fresh = set(range(chunk.first, chunk.first + chunk.count)) - self.published
            assert fresh, "a chunk already published was paid again"
            self.published |= fresh

    def publish_vector_as(self, juror: str, whole: bool) -> None:
        vote = self.votes[self.round]
        ballot = vote.ballots[juror]
        assert ballot.tree is not None
        tree = ballot.tree
        if whole and ballot.cursor == 0:
            chunk = tree.chunk(tree.depth, 0)
        else:
            chunk = tree.chunk(0, min(ballot.cursor, tree.count - 1))
        args = (juror, chunk.level, chunk.index, chunk.leaves, chunk.proof)
        if self.send(self.world.anyone, "publishVector", *args) is not None:
            assert chunk.first == ballot.cursor and not vote.settled
            for score in tree.scores[chunk.first : chunk.first + chunk.count]:
                vote.counts.setdefault(score.id, Counter())[score.score] += vote.jury[juror]
            ballot.cursor += chunk.count

    def settle_as(self, ids: list[int]) -> None:
        vote = self.votes[self.round]
        events = self.send(self.world.anyone, "settleSubmissions", ids)
        if events is None:
            return
        for name, ev in events:
            if name == "SubmissionSettled":
                sid = ev["id"]
                counts = vote.counts.get(sid, Counter())
                top = max(counts.values(), default=0)
                validated = 2 * top > vote.seats
                score = next(s for s, n in counts.items() if n == top) if validated else 0
                assert (ev["validated"], ev["score"]) == (validated, score), (sid, counts)
                assert sid not in vote.settled
                vote.settled[sid] = (validated, score)
            elif name == "RevoteStarted":
                assert self.round == 1 and self.tally_winner() is None
                assert set(vote.settled) == set(self.revealed_ids())
                self.round = 2

    def tally_winner(self) -> tuple[int, int] | None:
        """The best validated score above 0 (a tie: the lower id), over the current tally."""
        best = None
        for sid, (validated, score) in sorted(self.votes[self.round].settled.items()):
            if validated and score > 0 and (best is None or score > best[1]):
                best = (sid, score)
        return best

    def dissent_as(self, juror: str, position: int) -> None:
        vote = self.votes[self.round]
        ballot = vote.ballots[juror]
        assert ballot.tree is not None
        position %= ballot.tree.count
        leaf = ballot.tree.chunk(0, position)
        args = (juror, position, leaf.leaves, leaf.proof)
        if self.send(self.world.anyone, "proveDissent", *args) is not None:
            score = ballot.tree.scores[position]
            validated, settled = vote.settled[score.id]
            assert validated and settled != score.score and not ballot.dissent
            ballot.dissent = True

    def finalize_as(self) -> bool:
        events = self.send(self.world.anyone, "finalize")
        if events is None:
            return False
        ((_, ev),) = [(n, e) for n, e in events if n == "Finalized"]
        self.finalized = dict(ev)
        self.burned += ev["burned"]
        self.check_finalization()
        return True

    def settle_jurors_as(self, r: int, jurors: list[str]) -> None:
        self.send(self.world.anyone, "settleJurors", r, jurors)

    def claim_as(self, who: LocalAccount, to: LocalAccount | None) -> None:
        owed = self.claimable(who.address)
        before = self.claimed[who.address]
        call = ("claim",) if to is None else ("claimTo", to.address)
        events = self.send(who, *call)
        if events is None:
            assert owed == 0, "a claim of what claimable() shows reverted"
            return
        assert self.claimed[who.address] - before == owed, "claim paid other than claimable()"
        assert self.claimable(who.address) == 0, "claimable again right after claiming"

    # -- the honest player -----------------------------------------------------------------

    def honest_step(self) -> None:
        """Do what honest parties would do now (by the plan), or let time pass. Everything due
        in the phase is done in one step: honest parties are not slower than the clock."""
        p, w = self.params, self.world
        now = self.now()
        if self.finalized is not None:
            return
        if now < p.submit_deadline:
            before = len(self.subs)
            for who in w.players[:3] * p.max_submissions:
                wanted = len(self.subs) < self.plan.entries
                if wanted and self.now() < p.submit_deadline - 1:
                    self.commit_as(who, b"honest %d" % len(self.subs))
            if len(self.subs) == before:  # nothing more to commit (or nobody may)
                self.travel(p.submit_deadline)
            return
        if now < p.reveal_deadline:
            pending = [s for s, sub in sorted(self.subs.items()) if not sub.revealed]
            if (not self.subs or self.votes[1].drawn) and not (self.plan.reveal and pending):
                self.travel(p.reveal_deadline)
            if self.subs and not self.votes[1].drawn:
                self.full_draw()
            for sid in pending if self.plan.reveal else []:
                self.reveal_as(sid)
            return
        if self.sealed:  # a draw sealed (by anyone): finalize waits until it is drawn
            if not self.full_draw():
                self.expire_seal()
            return
        if not self.revealed_ids() or not self.key_revealed:
            if self.revealed_ids() and now < p.key_deadline and self.plan.key:
                self.key_as(True)
            elif not self.finalize_as():
                self.travel(now + STEP)
            return
        vote = self.votes[self.round]
        if not vote.drawn:
            if not self.full_draw() and not self.finalize_as():
                self.travel(now + STEP)
            return
        if now < vote.commit_deadline:
            todo = [
                j for j in self.backed(self.round) if j not in vote.ballots and j not in vote.silent
            ]
            if not todo:
                self.travel(vote.commit_deadline)
            for juror in todo:
                k = [a.address for a in w.jurors].index(juror)
                self.commit_vote_as(juror, self.plan.behaviours[k])
                if juror not in vote.ballots:
                    vote.silent.add(juror)
            return
        if now < vote.reveal_deadline:
            todo = [j for j, b in sorted(vote.ballots.items()) if not b.revealed]
            todo = [j for j in todo if j not in vote.silent]
            if not todo:
                self.travel(vote.reveal_deadline)
            for juror in todo:
                self.reveal_vote_as(juror)
                if not vote.ballots[juror].revealed:
                    vote.silent.add(juror)  # too late by a second: not retried
            return
        if self.root_decided(self.round):
            tree = self.leader_tree()
            if self.plan.publish and tree is not None and not self.published_once:
                self.published_once = True
                self.publish_scores_as(w.anyone, tree.depth, 0)  # the whole vector at once
            elif tree is not None and self.round not in self.bitmaps_out:
                # The majority's bitmaps, for disputes: the root settles only once they are out
                # and its dispute window (the tally deadline) is over.
                self.bitmaps_out.add(self.round)
                chunk = tree.chunk(tree.depth, 0)
                call = ABI["Disputes"].encode(
                    "publishBitmaps", self.address, chunk.level, chunk.index, chunk.leaves,
                    tree.bitmaps(chunk), chunk.proof,
                )  # fmt: skip
                assert w.node.send(w.anyone, w.disputes, call) is not None
            elif not self.finalize_as():
                self.travel(max(now + STEP, vote.tally_deadline))
            return
        if now < vote.tally_deadline:
            todo = [
                j
                for j, b in sorted(vote.ballots.items())
                if b.revealed
                and b.tree is not None
                and b.cursor < b.tree.count
                and j not in vote.stuck
            ]
            if not todo:
                self.travel(vote.tally_deadline)
            for juror in todo:
                before = vote.ballots[juror].cursor
                self.publish_vector_as(juror, whole=True)
                if vote.ballots[juror].cursor == before:
                    vote.stuck.add(juror)  # refused (a short vector's tail): not retried
            return
        unsettled = [s for s in self.revealed_ids() if s not in vote.settled]
        if unsettled:
            self.settle_as(unsettled)
            return
        if self.plan.dispute and now < vote.tally_deadline + p.tally_duration:
            for juror, b in sorted(vote.ballots.items()):
                if b.revealed and b.tree is not None and not b.dissent:
                    for i, s in enumerate(b.tree.scores):
                        validated, score = vote.settled.get(s.id, (False, 0))
                        if validated and score != s.score:
                            self.dissent_as(juror, i)
                            break
        if not self.finalize_as():
            self.travel(max(now + 1, vote.tally_deadline + p.tally_duration))

    # -- rules -----------------------------------------------------------------------------

    @rule()
    def progress(self) -> None:
        self.honest_step()

    @rule()
    def progress_again(self) -> None:
        """The honest player moves twice as often as any one kind of attacker."""
        self.honest_step()

    @rule(who=st.integers(0, 3), model=st.binary(min_size=1, max_size=16))
    def commit(self, who: int, model: bytes) -> None:
        self.commit_as(self.world.players[who], model)

    @rule(data=st.data())
    def reveal(self, data: st.DataObject) -> None:
        if self.subs:
            self.reveal_as(data.draw(st.sampled_from(sorted(self.subs))))

    @rule(right=st.booleans())
    def reveal_key(self, right: bool) -> None:
        self.key_as(right)

    @rule(who=st.integers(0, 11), blocks=st.integers(0, 3))
    def draw(self, who: int, blocks: int) -> None:
        everyone = self.world.everyone
        self.draw_as(everyone[who % len(everyone)])
        if blocks:
            self.mine(blocks)

    @rule(
        kind=st.sampled_from(["bond", "unbond", "apply"]),
        who=st.integers(0, 6),
        units=st.integers(1, 3),
    )
    def pool_change(self, kind: str, who: int, units: int) -> None:
        w = self.world
        account = w.jurors[who]
        if kind == "bond":
            self.send(account, "bond", value=units * SEAT, pool=True)
        elif kind == "unbond":
            # The pool must still seat a re-vote: fewer units are a liveness test, not this one.
            if self.view("totalUnits", pool=True)[0] - units >= 2 * self.params.seats + 1:
                self.send(account, "requestUnbond", units, pool=True)
        else:
            self.send(account, "applyPending", account.address, pool=True)
        self.check_pool()

    @rule(data=st.data(), behaviour=st.sampled_from(BEHAVIOURS[:-1]), reveal=st.booleans())
    def vote(self, data: st.DataObject, behaviour: str, reveal: bool) -> None:
        vote = self.votes[self.round]
        if reveal:
            waiting = [j for j, b in sorted(vote.ballots.items()) if not b.revealed]
            if waiting:
                self.reveal_vote_as(data.draw(st.sampled_from(waiting)))
        elif vote.jury:
            self.commit_vote_as(data.draw(st.sampled_from(sorted(vote.jury))), behaviour)

    @rule(
        data=st.data(),
        kind=st.sampled_from(["scores", "vector", "settle", "dissent"]),
        level=st.integers(0, 3),
        index=st.integers(0, 7),
    )
    def tally(self, data: st.DataObject, kind: str, level: int, index: int) -> None:
        vote = self.votes[self.round]
        with_tree = sorted(j for j, b in vote.ballots.items() if b.revealed and b.tree)
        if kind == "scores":
            self.publish_scores_as(self.world.anyone, level, index)
        elif kind == "vector" and with_tree:
            self.publish_vector_as(data.draw(st.sampled_from(with_tree)), whole=level == 0)
        elif kind == "settle":
            ids = data.draw(st.lists(st.sampled_from([*self.revealed_ids(), 99]), max_size=4))
            self.settle_as(ids)
        elif kind == "dissent" and with_tree:
            self.dissent_as(data.draw(st.sampled_from(with_tree)), index)

    @rule(kind=st.sampled_from(["tick", "tick", "half", "half", "step", "deadline"]))
    def clock(self, kind: str) -> None:
        now = self.now()
        if kind == "tick":
            self.mine(1)
        elif kind in ("half", "step"):
            self.world.node.travel(now + (STEP // 2 if kind == "half" else STEP))
        else:
            p, vote = self.params, self.votes[self.round]
            ends = [
                p.submit_deadline,
                p.reveal_deadline,
                p.key_deadline,
                vote.commit_deadline,
                vote.reveal_deadline,
                vote.tally_deadline,
                vote.tally_deadline + p.tally_duration,
            ]
            later = [t for t in ends if t > now]
            if later:
                self.world.node.travel(min(later))

    @rule(data=st.data(), finalize=st.booleans())
    def settle(self, data: st.DataObject, finalize: bool) -> None:
        if finalize:
            self.finalize_as()
            return
        drawn = [r for r in (1, 2) if self.votes[r].drawn]
        if drawn:
            r = data.draw(st.sampled_from(drawn))
            jurors = data.draw(st.lists(st.sampled_from(sorted(self.votes[r].jury)), max_size=3))
            self.settle_jurors_as(r, jurors)
            self.check_pool()

    @rule(who=st.integers(0, 11), to_other=st.booleans())
    def claim(self, who: int, to_other: bool) -> None:
        everyone = self.world.everyone
        account = everyone[who % len(everyone)]
        settled = sum(len(v.juror_settled) for v in self.votes.values())
        self.claim_as(account, self.world.anyone if to_other else None)
        if sum(len(v.juror_settled) for v in self.votes.values()) != settled:
            self.check_pool()  # the claim settled the claimant's seats

    # -- what must always hold ---------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        if not self.address or not self.world.node.moved:
            return  # nothing was mined since the last check
        self.world.node.moved = False
        balance, liabilities, phase, claimable = self.inspect()
        assert balance == liabilities, "the balance left the internal ledger"
        assert liabilities == self.paid_in - self.paid_out - self.burned
        assert self.paid_out <= self.paid_in
        phase = Phase(phase)
        rank = (
            (9, 0.0)
            if phase == Phase.FINALIZED
            else (self.round, 2.5 if phase == Phase.REVOTE else float(phase))
        )
        assert rank >= self.rank, f"the phase went back: {self.rank} -> {rank}"
        self.rank = rank
        if self.finalized is not None:
            assert sum(claimable) + self.unpublished_bounty() == liabilities, "funds stranded"

    def inspect(self) -> tuple[int, int, int, list[int]]:
        """The competition's balance, ledger, phase, and what each account can claim."""
        w, inspector = self.world, ABI["Inspector"]
        accounts = [a.address for a in w.everyone]
        answer = w.node.call(w.inspector, inspector.encode("inspect", self.address, accounts))
        return inspector.decode("inspect", answer)  # type: ignore[return-value]

    def publishable(self) -> bool:
        vote = self.votes[self.round]
        return self.root_decided(self.round) and vote.majority() != HOST_FAULT

    def unpublished_bounty(self) -> int:
        """What the publication bounty still holds for whoever publishes the rest."""
        if not self.publishable():
            return 0
        return self.params.publish_bounty - sum(
            v for (_, reason), v in self.credited_for.items() if reason == "publish"
        )

    def check_pool(self) -> None:
        """The pool's ether is its units: bonded, waiting, unbonding, less slashes in waiting."""
        w = self.world
        calls = [
            ("eth_call", [{"to": w.pool, "data": "0x" + POOL.encode(fn, *args).hex()}, "latest"])
            for fn, args in [("totalUnits", ()), *(("juror", (a.address,)) for a in w.jurors)]
        ]
        total, *answers, balance = w.node.batch([*calls, ("eth_getBalance", [w.pool, "latest"])])
        jurors = [PoolJuror(*POOL.decode("juror", bytes.fromhex(a[2:]))[0]) for a in answers]
        units = sum(j.units + j.pending_units - j.pending_slash + j.unbonding for j in jurors)
        assert int(balance, 16) == units * SEAT
        assert POOL.decode("totalUnits", bytes.fromhex(total[2:]))[0] == sum(
            j.units for j in jurors
        )
        assert all(j.locked <= j.units for j in jurors)

    # -- the model of the outcome -------------------------------------------------------------

    def earning_seats(self, outcome: Outcome) -> tuple[int, int]:
        """The seats the jury's amount is divided by, and of those the ones whose share is
        burned (proven dissenters: proving a dissent must pay nobody)."""
        vote = self.votes[self.round]
        if outcome == Outcome.KEY_WITHHELD:
            return sum(self.votes[1].jury.values()), 0
        if self.root_decided(self.round):
            return vote.seats_for()[vote.majority()], 0  # type: ignore[index]
        complete = [j for j, b in vote.ballots.items() if self.complete(b)]
        dissent = [j for j in complete if vote.ballots[j].dissent]
        return sum(vote.jury[j] for j in complete), sum(vote.jury[j] for j in dissent)

    def complete(self, ballot: Ballot) -> bool:
        """A revealed vector every leaf of which was added to the tally."""
        return (
            ballot.revealed
            and ballot.tree is not None
            and ballot.cursor == len(self.revealed_ids())
        )

    def expected_outcome(self) -> Outcome:
        r, vote = self.round, self.votes[self.round]
        if not self.revealed_ids():
            return Outcome.NO_ENTRIES
        if not self.key_revealed:
            return Outcome.KEY_WITHHELD
        if self.root_decided(r):
            leader = vote.majority()
            if leader == HOST_FAULT:
                return Outcome.HOST_FAULT
            tree = next(b.tree for b in vote.ballots.values() if b.vote == leader)
            assert tree is not None
            winner_id, winner_score = winner_of(tree.scores)
            valid = tree.count == len(self.revealed_ids()) and winner_score > 0
            return Outcome.WINNER if valid and winner_id in self.subs else Outcome.VOID
        if vote.drawn:
            assert set(vote.settled) == set(self.revealed_ids()), "finalized before the tally"
            return Outcome.WINNER if self.tally_winner() else Outcome.VOID
        return Outcome.VOID  # nobody drew this vote in time

    def check_finalization(self) -> None:
        """The outcome and every amount, against the model."""
        f, p = self.finalized, self.params
        assert f is not None
        outcome = self.expected_outcome()
        assert Outcome(f["outcome"]) == outcome
        fees = p.entry_fee * sum(self.commits.values())
        earning, unpaid = self.earning_seats(outcome)
        winner_amount, jury, per_reveal, burned = 0, 0, 0, 0
        if outcome == Outcome.WINNER:
            cap = self.prize * (BPS - p.winner_bps) // p.winner_bps
            winner_amount = (self.prize + min(fees, cap)) * p.winner_bps // BPS
            jury = self.prize + fees - winner_amount
            if self.root_decided(self.round):
                leader = self.votes[self.round].majority()
                tree = next(
                    b.tree for b in self.votes[self.round].ballots.values() if b.vote == leader
                )
                assert tree is not None
                self.winner = winner_of(tree.scores)
            else:
                self.winner = self.tally_winner()  # type: ignore[assignment]
            assert f["winnerId"] == self.winner[0]
        elif outcome != Outcome.NO_ENTRIES:
            jury = self.prize * (BPS - p.winner_bps) // BPS if earning else 0
            split = self.prize - jury
            per_reveal = split // len(self.revealed_ids())
            burned += split % len(self.revealed_ids())
        per_seat = 0
        if jury and not earning:
            burned += jury
        elif jury:
            per_seat = jury // earning
            burned += jury % earning + per_seat * unpaid
        if outcome in (Outcome.HOST_FAULT, Outcome.KEY_WITHHELD):
            burned += p.host_bond
        assert (
            f["winnerAmount"],
            f["juryAmount"],
            f["perSeat"],
            f["prizePerReveal"],
            f["burned"],
        ) == (winner_amount, jury, per_seat, per_reveal, burned)
        self.paid_seats = earning - unpaid

    def juror_outcome(self, r: int, juror: str) -> tuple[int, int, int]:
        """(kept, burned, reward) of a juror's backed seats in round r, by the model."""
        f = self.finalized
        assert f is not None
        outcome = Outcome(f["outcome"])
        vote = self.votes[r]
        backed = vote.jury[juror]
        ballot = vote.ballots.get(juror)
        revealed = ballot is not None and ballot.revealed
        earns = False
        if outcome in (Outcome.NO_ENTRIES, Outcome.KEY_WITHHELD):
            kept, earns = backed, outcome == Outcome.KEY_WITHHELD
        elif r != self.round:
            kept = backed if revealed else 0
        elif self.root_decided(r):
            earns = revealed and ballot.vote == vote.majority()  # type: ignore[union-attr]
            kept = backed if earns else 0
        elif vote.drawn:
            earns = ballot is not None and self.complete(ballot) and not ballot.dissent
            excused = revealed and ballot.tree is None and outcome != Outcome.WINNER  # type: ignore[union-attr]
            kept = backed if earns or excused else 0
        else:
            kept = 0
        return kept, backed - kept, f["perSeat"] * backed if earns else 0

    def check_juror(self, ev: Any) -> None:
        r, juror = ev["round"], ev["juror"]
        assert juror not in self.votes[r].juror_settled, "a juror was settled twice"
        self.votes[r].juror_settled.add(juror)
        assert (ev["kept"], ev["burned"], ev["reward"]) == self.juror_outcome(r, juror)

    def final_amount(self, account: str) -> int:
        """What an account's own claim pays besides its credits, by the model."""
        f, p = self.finalized, self.params
        assert f is not None
        outcome = Outcome(f["outcome"])
        amount = 0
        if outcome == Outcome.WINNER:
            if self.subs[f["winnerId"]].owner.address == account:
                amount += f["winnerAmount"]
        else:
            amount += p.entry_fee * self.commits[account]
            amount += f["prizePerReveal"] * self.reveals[account]
        if account == self.world.host.address:
            if outcome in (Outcome.WINNER, Outcome.VOID, Outcome.NO_ENTRIES):
                amount += p.host_bond
            if outcome == Outcome.NO_ENTRIES:
                amount += self.prize
            drawn = sum(v for (_, reason), v in self.credited_for.items() if reason == "draw")
            amount += 2 * p.draw_bounty - drawn
            if not self.publishable():
                amount += p.publish_bounty
        return amount

    # -- the end of an example ----------------------------------------------------------------

    def teardown(self) -> None:
        """Play the rest honestly, settle and pay everyone, and check every account's total."""
        if not self.address:
            return
        w = self.world
        for _ in range(300):
            if self.finalized is not None:
                break
            self.honest_step()
        assert self.finalized is not None, "the competition never finalized"
        if self.publishable():
            tree = self.leader_tree()
            assert tree is not None
            for position in sorted(set(range(tree.count)) - self.published):
                self.publish_scores_as(w.anyone, 0, position)
        for r in (1, 2):
            left = [j for j, b in self.votes[r].jury.items() if b]
            left = [j for j in left if j not in self.votes[r].juror_settled]
            if left:
                self.settle_jurors_as(r, sorted(left))
        for account, owed in zip(w.everyone, self.inspect()[3], strict=True):
            if owed:
                self.claim_as(account, None)
        w.node.moved = True
        self.books_balance()
        assert w.node.clock == w.node.timestamp(), "the harness lost track of the clock"
        assert w.node.balance(self.address) == 0, "ether left after every party claimed"
        for account in w.everyone:
            a = account.address
            expected = self.credited[a] + self.final_amount(a)
            assert self.claimed[a] == expected, f"{a} was paid {self.claimed[a]}, not {expected}"
            for r in (1, 2):
                if self.votes[r].jury.get(a):
                    assert a in self.votes[r].juror_settled
        jury_pay = sum(v for (_, reason), v in self.credited_for.items() if reason == "jury")
        assert jury_pay == self.finalized["perSeat"] * self.paid_seats
        self.check_pool()
        OUTCOMES[Outcome(self.finalized["outcome"]).label] += 1


@pytest.mark.anvil
@pytest.mark.slow
@pytest.mark.timeout(1_800)  # the ci profile: 1,000 examples
def test_competition_state_machine(anvil_chain: Chain) -> None:
    chain = anvil_chain
    host, anyone = chain.accounts[0], chain.accounts[9]
    # Fixed keys, and every block one second after the last (unless travelled to): each
    # example plays the same on every run, as hypothesis requires to replay and shrink it.
    sybils = [Account.from_key(keccak(b"sybil %d" % i)) for i in range(2)]
    for sybil in sybils:
        chain.transfer(sybil.address, 100 * 10**18, sender=anyone)
    factory = deploy_factory(chain, host)
    pool = factory.pool()
    miners = chain.accounts[4:9]
    bond_all(pool, miners, UNITS)
    node = Node(chain.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    world = World(
        node=node,
        factory=factory.address,
        pool=pool.address,
        disputes=factory.disputes().address,
        inspector=chain.deploy(artifacts.load_fixture("Inspector")).address,
        host=host,
        players=[*chain.accounts[1:4], sybils[0]],
        jurors=[*miners, *sybils],
        anyone=anyone,
    )
    CompetitionMachine.world = world
    OUTCOMES.clear()
    node.rpc("anvil_setBlockTimestampInterval", 1)
    node.rpc("anvil_autoImpersonateAccount", True)
    world.snapshot = node.rpc("evm_snapshot")
    try:
        run_state_machine_as_test(
            CompetitionMachine,
            settings=settings(
                settings(),  # the profile's example count (tests/conftest.py)
                stateful_step_count=STEPS,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:  # the session's anvil node is shared with other tests
        node.rpc("anvil_removeBlockTimestampInterval")
        node.rpc("anvil_autoImpersonateAccount", False)
    total = sum(OUTCOMES.values())
    mix = ", ".join(f"{label} {n} ({n / total:.0%})" for label, n in OUTCOMES.most_common())
    print(f"\noutcomes of {total} examples ({os.environ.get('HYPOTHESIS_PROFILE', 'dev')}): {mix}")
    assert OUTCOMES["winner"] >= 0.2 * total, mix
    assert len(OUTCOMES) >= 3, mix
