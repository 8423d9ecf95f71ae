"""Gas per contract operation, measured on an in-process py-evm chain (Prague rules).

`deml bench gas` runs `measure()` and writes bench/results/gas.json. Per-score figures are
the slope between a call with 1 score and one with `_MANY` scores, so the fixed part
(`*_base`) and the part that grows with the input are reported apart.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from deml import artifacts
from deml.chain.client import Chain
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.contracts.commitments import hash_test_key, model_commitment, new_salt, vote_commitment
from deml.contracts.types import Params

REVEAL_SIZES = (1024, 8 * 1024, 32 * 1024, 96 * 1024)
TARGETS = {
    "create": 300_000,
    "commit": 80_000,
    "reveal_over_floor": 60_000,
    "revealVotes_base": 30_000,
    "revealVotes_per_score": 25_000,
    "finalize": 150_000,
    "claim": 100_000,
    "claim_miner_per_score": 5_000,
    "bytecode": 24_576,
}
_MANY = 33  # submissions scored in the "many" measurements
_FRESH_SLOT = 22_100  # SSTORE of a zero slot (20,000) plus its cold access (2,100)
_MAX_TX_GAS = 16_777_216


@dataclass
class _Setup:
    chain: Chain
    factory: CompetitionFactory
    host: LocalAccount
    players: list[LocalAccount]


def calldata_floor(data: bytes) -> int:
    """EIP-7623's floor for a transaction carrying `data`: 21,000 + 10 per token, where a zero
    byte is one token and any other byte is four."""
    zeros = data.count(0)
    return 21_000 + 10 * (zeros + 4 * (len(data) - zeros))


def calldata_standard(data: bytes) -> int:
    """The pre-floor calldata price: 4 per zero byte, 16 per other byte."""
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def measure() -> dict[str, Any]:
    """Run every operation and return the report (see bench/results/gas.json)."""
    chain = Chain.in_process(count=40)
    host, players = chain.accounts[0], chain.accounts[1:]
    setup = _Setup(chain, CompetitionFactory.deploy(chain, sender=host), host, players)
    ops: dict[str, int] = {}
    reveal_rows = _reveals(setup, ops)
    _lifecycle(setup, ops)
    sizes = {
        name: artifacts.load(name).deployed_size for name in ("Competition", "CompetitionFactory")
    }
    return {"operations": ops, "reveal": reveal_rows, "bytecode_size": sizes, "targets": TARGETS}


def _params(chain: Chain, key: bytes, **overrides: int) -> Params:
    now = chain.timestamp()
    values: dict[str, Any] = {
        "entry_fee": 10**17,
        "miner_stake": 5 * 10**17,
        "submit_deadline": now + 1_000,
        "reveal_deadline": now + 2_000,
        "vote_commit_deadline": now + 3_000,
        "vote_reveal_deadline": now + 4_000,
        "test_set_size": 360,
        "max_model_bytes": 96 * 1024,
        "max_submissions": 100,
        "quorum": 2,
        "winner_bps": 9_000,
        "test_key_hash": hash_test_key(key),
    }
    values.update(overrides)
    return Params(**values)


def _create(s: _Setup, ops: dict[str, int] | None = None) -> tuple[Competition, Params, bytes]:
    key = secrets.token_bytes(32)
    params = _params(s.chain, key)
    fn = s.factory.contract.functions.create(
        params.as_abi(),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq",
    )
    receipt = s.chain.transact(fn, sender=s.host, value=10 * 10**18)
    (event,) = s.factory.contract.events.CompetitionCreated().process_receipt(receipt)
    if ops is not None:
        ops["create"] = receipt["gasUsed"]
    return Competition(s.chain, event["args"]["competition"]), params, key


def _commit(comp: Competition, model: bytes, who: LocalAccount) -> tuple[int, bytes, int]:
    salt = new_salt()
    fn = comp.contract.functions.commit(model_commitment(model, salt, who.address, comp.address))
    receipt = comp.chain.transact(fn, sender=who, value=comp.params().entry_fee)
    (event,) = comp.contract.events.SubmissionCommitted().process_receipt(receipt)
    return int(event["args"]["id"]), salt, receipt["gasUsed"]


def _reveals(s: _Setup, ops: dict[str, int]) -> list[dict[str, Any]]:
    """Reveal gas per model size, against the calldata floor and a store-the-bytes design."""
    comp, params, _ = _create(s, ops)
    models = {size: secrets.token_bytes(size) for size in REVEAL_SIZES}
    committed = {
        size: _commit(comp, models[size], s.players[i]) for i, size in enumerate(REVEAL_SIZES)
    }
    ops["commit"] = max(gas for _, _, gas in committed.values())  # each a competitor's first
    ops["commit_repeat"] = _commit(comp, b"again", s.players[0])[2]
    s.chain.travel_to(params.submit_deadline)
    storage = s.chain.deploy(artifacts.load_fixture("StorageReveal"), sender=s.host)
    per_word = _storage_per_word(s, storage)
    rows = []
    for size in REVEAL_SIZES:
        sid, salt, _ = committed[size]
        fn = comp.contract.functions.reveal(sid, models[size], salt)
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        gas = s.chain.transact(fn, sender=s.players[REVEAL_SIZES.index(size)])["gasUsed"]
        words = -(-size // 32)
        stored = 21_000 + calldata_standard(data) + per_word * words
        rows.append(
            {
                "bytes": size,
                "gas": gas,
                "calldata_floor": calldata_floor(data),
                "storage_design": stored,
                "storage_design_fits_one_tx": stored <= _MAX_TX_GAS,
            }
        )
    return rows


def _storage_per_word(s: _Setup, storage: Any) -> int:
    """Gas per 32-byte word of keeping model bytes in contract storage, measured on chain."""
    small, large = 1024, 8 * 1024
    gas = {}
    for i, size in enumerate((small, large)):
        fn = storage.functions.reveal(i, secrets.token_bytes(size))
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        used = s.chain.transact(fn, sender=s.host)["gasUsed"]
        gas[size] = used - 21_000 - calldata_standard(data)
    per_word = (gas[large] - gas[small]) // ((large - small) // 32)
    assert per_word >= _FRESH_SLOT, "a stored word cannot cost less than a fresh slot"
    return per_word


def _lifecycle(s: _Setup, ops: dict[str, int]) -> None:
    """One competition with _MANY submissions: every operation, with 1 and with _MANY scores."""
    chain = s.chain
    comp, params, key = _create(s)
    competitors, miners = s.players[:3], s.players[10:16]
    ids = [_commit(comp, f"model {i}".encode(), competitors[i % 3]) for i in range(_MANY)]
    chain.travel_to(params.submit_deadline)
    for i, (sid, salt, _) in enumerate(ids):
        comp.reveal(sid, f"model {i}".encode(), salt, sender=competitors[i % 3])
    ops["revealTestKey"] = comp.reveal_test_key(key, sender=s.host)["gasUsed"]
    ops["registerMiner"] = max(comp.register_miner(sender=m)["gasUsed"] for m in miners)
    chain.travel_to(params.reveal_deadline)
    all_ids = [sid for sid, _, _ in ids]
    scores = {sid: 100 + sid for sid in all_ids}
    # miners[0] and [1]: the first two voters (one score / _MANY scores); [2] and [3]: agreeing
    # later voters; [4] and [5]: dissenters whose every score is new to the submission.
    plans = {
        miners[0]: all_ids[:1],
        miners[1]: all_ids,
        miners[2]: all_ids[:1],
        miners[3]: all_ids,
        miners[4]: all_ids[:1],
        miners[5]: all_ids,
    }
    salts = {}
    commit_gas = []
    for i, (m, subset) in enumerate(plans.items()):
        values = [scores[sid] + (7 if i >= 4 else 0) for sid in subset]
        salts[m.address] = (subset, values, new_salt())
        fn = comp.contract.functions.commitVotes(
            vote_commitment(subset, values, salts[m.address][2], m.address, comp.address)
        )
        commit_gas.append(chain.transact(fn, sender=m)["gasUsed"])
    ops["commitVotes"] = max(commit_gas)
    chain.travel_to(params.vote_commit_deadline)
    reveal_gas = {}
    for m in plans:
        subset, values, salt = salts[m.address]
        reveal_gas[m.address] = comp.reveal_votes(subset, values, salt, sender=m)["gasUsed"]
    for label, one, many in (
        ("", miners[2], miners[3]),
        ("_first_voter", miners[0], miners[1]),
        ("_dissent", miners[4], miners[5]),
    ):
        per_score = (reveal_gas[many.address] - reveal_gas[one.address]) // (_MANY - 1)
        ops[f"revealVotes_per_score{label}"] = per_score
        ops[f"revealVotes_base{label}"] = reveal_gas[one.address] - per_score
    chain.travel_to(params.vote_reveal_deadline)
    one = comp.settle(all_ids[:1], sender=s.host)["gasUsed"]
    rest = comp.settle(all_ids[1:], sender=s.host)["gasUsed"]
    ops["settle_per_submission"] = (rest - one) // (_MANY - 2) if _MANY > 2 else rest
    ops["settle_base"] = one - ops["settle_per_submission"]
    settle_miner = {}
    for m in plans:
        subset, values, salt = salts[m.address]
        settle_miner[m.address] = comp.settle_miner(m.address, subset, values, salt, sender=s.host)[
            "gasUsed"
        ]
    ops["settleMiner_per_score"] = (
        settle_miner[miners[3].address] - settle_miner[miners[2].address]
    ) // (_MANY - 1)
    ops["settleMiner_base"] = settle_miner[miners[2].address] - ops["settleMiner_per_score"]
    ops["finalize"] = comp.finalize(sender=s.host)["gasUsed"]
    claims = {m.address: _claim_gas(comp, m) for m in miners[:4]}
    ops["claim_miner_per_score"] = max(
        0, (claims[miners[3].address] - claims[miners[2].address]) // (_MANY - 1)
    )
    ops["claim_miner"] = max(claims.values())
    best = comp.submission(comp.summary().best_id).owner
    winner = next(c for c in competitors if c.address == best)
    ops["claim"] = max(_claim_gas(comp, winner), _claim_gas(comp, s.host))


def _claim_gas(comp: Competition, who: LocalAccount) -> int:
    return int(comp.chain.transact(comp.contract.functions.claim(), sender=who)["gasUsed"])


def check_targets(report: dict[str, Any]) -> list[str]:
    """The targets the report misses; empty when all are met."""
    ops, missed = report["operations"], []
    for name in ("create", "commit", "finalize", "claim", "claim_miner_per_score"):
        if ops[name] > TARGETS[name]:
            missed.append(f"{name}: {ops[name]:,} > {TARGETS[name]:,}")
    # The target bounds a whole reveal of k scores, 30k + 25k * k, checked at both ends of
    # what was measured, for an honest miner (first voter or agreeing with earlier ones).
    for label in ("", "_first_voter"):
        base, slope = ops[f"revealVotes_base{label}"], ops[f"revealVotes_per_score{label}"]
        for k in (1, _MANY):
            bound = TARGETS["revealVotes_base"] + TARGETS["revealVotes_per_score"] * k
            if base + slope * k > bound:
                missed.append(
                    f"revealVotes{label} with {k} scores: {base + slope * k:,} > {bound:,}"
                )
    for row in report["reveal"]:
        if row["gas"] > row["calldata_floor"] + TARGETS["reveal_over_floor"]:
            missed.append(
                f"reveal {row['bytes']} B: {row['gas']:,} > floor {row['calldata_floor']:,} + 60k"
            )
    for name, size in report["bytecode_size"].items():
        if size >= TARGETS["bytecode"]:
            missed.append(f"{name} bytecode: {size:,} >= {TARGETS['bytecode']:,}")
    return missed


def write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
