"""A miner's part in the dispute game (docs/disputes.md, contracts/Disputes.sol).

After a root is decided and its bitmaps are out, each miner holds the jury's bitmap of every
submission against its own scoring. Where they differ on a sample and the model is disputable,
it proves what the model predicts there on the architecture's circuit and, when the proof shows
the jury wrong by more than the architecture's margin, challenges the root with it (binding the
submission first if nobody has). A challenge whose submission's commitment is not yet computed
stands at the end of its contest unless someone computes it: a miner who agrees with the jury
on that sample does (`contest_if_false`), and wins the liar's bond. Every step is idempotent,
run on each pass of the miner flow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from eth_account.signers.local import LocalAccount

from deml.contracts.bindings import Competition
from deml.contracts.sample_tree import SampleTree
from deml.contracts.score_tree import Score, ScoreTree, unpack
from deml.contracts.types import HOST_FAULT, Phase, RevealMode, Round
from deml.exceptions import ContractRevert, ProofError, custom_error_class
from deml.roles import miner
from deml.roles.architectures import Catalogue
from deml.zk import architecture, binding
from deml.zk import circuit as zk

# Samples proven per disagreeing submission (seconds each) before moving on: a disagreement
# inside the architecture's margin (a near-tie of two logits) cannot be proven either way, and
# one sample shown is enough to overturn the whole root.
MAX_TRIES = 3


@dataclass(frozen=True)
class Decided:
    """The current round's decided root with the jury's bitmaps, as published."""

    round: int
    vector: ScoreTree
    window_end: int  # challenges are taken until then


def decided(comp: Competition) -> Decided | None:
    """The decided root of the current round, its leaves and bitmaps all published, or None
    (no majority yet, HOST_FAULT, overturned, finalized, or not all of it out)."""
    current = _decided_round(comp)
    if current is None or comp.phase() == Phase.FINALIZED or comp.overturned(current[0]):
        return None
    r, rnd = current
    verdict = comp.verdict(rnd.leader)
    size = (comp.params().test_set_size + 7) // 8
    leaves: dict[int, Score] = {}
    for first, (packed, bitmaps) in comp.disputes().bitmaps_published(comp.address, r).items():
        for i, score in enumerate(unpack(packed)):
            bits = bitmaps[i * size : (i + 1) * size]
            leaves[first + i] = replace(score, bitmap=bits)
    scores = [leaves[i] for i in range(verdict.count) if i in leaves and leaves[i].bitmap]
    if len(scores) != verdict.count:
        return None
    vector = ScoreTree(scores)
    if vector.root != verdict.root:
        return None
    return Decided(r, vector, rnd.reveal_deadline + comp.params().tally_duration)


def _decided_round(comp: Competition) -> tuple[int, Round] | None:
    """The current round, if its votes are in and a majority decided a root (not HOST_FAULT)."""
    r = comp.summary().round
    rnd = comp.round(r)
    if not rnd.majority or rnd.leader == HOST_FAULT or comp.chain.timestamp() < rnd.reveal_deadline:
        return None
    return r, rnd


def window(comp: Competition) -> dict[str, object] | None:
    """The dispute window of the current round's decided root, JSON-ready (`deml status`):
    its end, the bitmaps out of the vector's leaves, whether it was overturned, and its
    challenges; None while no root is decided by a majority."""
    current = _decided_round(comp)
    if current is None:
        return None
    r, rnd = current
    disputes = comp.disputes()
    size = (comp.params().test_set_size + 7) // 8
    published = disputes.bitmaps_published(comp.address, r)
    return {
        "round": r,
        "ends": rnd.reveal_deadline + comp.params().tally_duration,
        "bitmaps": sum(len(bitmaps) // size for _, bitmaps in published.values()),
        "leaves": comp.verdict(rnd.leader).count,
        "overturned": comp.overturned(r),
        "challenges": [
            {
                "id": c.id,
                "submission": c.submission,
                "sample": c.sample,
                "predicted": c.predicted,
                "challenger": c.challenger,
                "open": c.open,
                "contest_end": c.contest_end,
            }
            for c in disputes.challenges(comp.address)
            if c.round == r
        ],
    }


def disagreements(found: Decided, book: miner.MinerBook, samples: int) -> dict[int, list[int]]:
    """The samples on which this miner's bitmap of each submission differs from the jury's."""
    records = book.load().scores
    out = {}
    for score in found.vector.scores:
        mine = bytes.fromhex(str(records.get(str(score.id), {}).get("bitmap", "")))
        if len(mine) != len(score.bitmap):
            continue  # not scored here
        differ = [i for i in range(samples) if _bit(mine, i) != _bit(score.bitmap, i)]
        if differ:
            out[score.id] = differ
    return out


def to_watch(comp: Competition, book: miner.MinerBook, sources: miner.BlobSourcesFor) -> list[int]:
    """The submissions a miner off the jury scores to check the decided root: the disputable
    ones it has not scored (only those can be challenged); none while no root is out to be
    checked, or once the window is over."""
    if comp.params().reveal_mode != RevealMode.CALLDATA:
        return []  # only a calldata reveal binds (Disputes.bind): nothing here is disputable
    found = decided(comp)
    if found is None or comp.chain.timestamp() >= found.window_end:
        return []
    ids = []
    for submission in miner.unscored_ids(comp, book):
        payload = miner.revealed_model(comp, submission, sources).payload or b""
        if payload.startswith(binding.PAYLOAD_MAGIC):
            ids.append(submission)
    return ids


def _bit(bitmap: bytes, i: int) -> bool:
    return bool(bitmap[i // 8] >> (i % 8) & 1)


def prove_sample(
    local: architecture.Local, values: list[int], features: np.ndarray, folder: Path
) -> zk.Proof:
    """Prove what the model of these weights predicts on one sample, on its architecture's
    circuit, in a limited child (deml.zk.circuit.prove)."""
    compiled = local.compile(values, folder)
    return zk.prove(local.circuit, compiled, features, folder).proof


def lead_ok(proof: zk.Proof, local: architecture.Local) -> bool:
    """Whether the proof's top logit leads by the architecture's margin (else the contract
    refuses it: MarginTooSmall)."""
    top = sorted(proof.logits, reverse=True)
    return top[0] - top[1] >= round(local.architecture.margin * 2**proof.scale)


def evidence(
    found: Decided, submission: int, samples: SampleTree, sample: int, proof: zk.Proof
) -> tuple[object, ...]:
    """What `Disputes.challenge` takes (its Evidence, as a tuple): the submission's leaf in the
    decided vector with its proof and the jury's bitmap, the sample with its proof against the
    samples root, and the zk proof with its public values."""
    position = found.vector.position(submission)
    chunk = found.vector.chunk(0, position)
    presented = samples.proof(sample)
    return (
        position, chunk.leaves, chunk.proof, found.vector.scores[position].bitmap, sample,
        presented.label, presented.features, presented.proof, proof.raw, list(proof.instances),
    )  # fmt: skip


def challenge_if_wrong(
    comp: Competition,
    data: tuple[np.ndarray, np.ndarray, object],
    book: miner.MinerBook,
    who: LocalAccount,
    catalogue: Catalogue,
    sources: miner.BlobSourcesFor,
) -> int | None:
    """Challenge the decided root where this miner's scores prove it wrong; return the
    challenge's id (None: nothing to challenge, or already done this round)."""
    found = decided(comp)
    if found is None or comp.chain.timestamp() >= found.window_end:
        return None
    ledger = book.load()
    if str(found.round) in ledger.disputes:
        return None  # one try a round: a challenge that stands overturns the whole root
    x, y, _ = data
    disputes = comp.disputes()
    tried: list[str] = []
    for submission, differ in disagreements(found, book, len(y)).items():
        revealed = miner.revealed_model(comp, submission, sources)
        payload = revealed.payload or b""
        try:
            architecture_id, values = binding.weights_of(payload)
            local = catalogue.local(architecture_id)
        except ProofError:
            continue  # not disputable: the vote stands for it
        position = found.vector.position(submission)
        jury = found.vector.scores[position].bitmap
        for sample in differ[:MAX_TRIES]:
            folder = book.dir / "disputes" / f"round-{found.round}" / f"{submission}-{sample}"
            name = f"submission {submission}, sample {sample}"
            try:  # a witness outside the circuit's ranges is no proof: the next sample
                proof = prove_sample(local, values, x[sample], folder)
            except ProofError as exc:
                tried.append(f"{name}: {exc}")
                continue
            if (proof.predicted == int(y[sample])) == _bit(jury, sample) or not lead_ok(
                proof, local
            ):
                tried.append(f"{name}: the proof shows the jury right, or within the margin")
                continue
            try:
                _bind(comp, submission, payload, who)
                shown = evidence(found, submission, SampleTree(x, y), sample, proof)
                receipt = disputes.challenge(comp.address, shown, sender=who)
            except ContractRevert as exc:  # the window closed meanwhile, another overturned it
                tried.append(f"{name}: refused on chain: {exc}")
                continue
            (event,) = disputes.contract.events.Challenged().process_receipt(receipt)
            challenge = int(event["args"]["challenge"])
            _record(book, found.round, {"challenge": challenge, "submission": submission,
                                         "sample": sample})  # fmt: skip
            return challenge
    # Nothing provable: not tried again this round (each proof takes seconds).
    _record(book, found.round, {"challenge": None, "tried": tried})
    return None


def _bind(comp: Competition, submission: int, payload: bytes, who: LocalAccount) -> None:
    """Bind the submission to its weights, unless someone has (a race is no failure)."""
    disputes = comp.disputes()
    if disputes.binding(comp.address, submission) is None:
        try:
            disputes.bind(comp.address, submission, payload, sender=who)
        except custom_error_class("AlreadyBound"):
            pass


def _record(book: miner.MinerBook, r: int, record: dict[str, object]) -> None:
    book.update(lambda ledger: ledger.disputes.__setitem__(str(r), record))


def contest_if_false(
    comp: Competition,
    book: miner.MinerBook,
    who: LocalAccount,
    catalogue: Catalogue,
    sources: miner.BlobSourcesFor,
) -> int:
    """Compute the commitment of a challenged submission where this miner's own scoring agrees
    with the jury on the challenged sample (so the proof was of another model), so that the
    challenge fails and its bond comes here; return the steps sent (~7.5 M gas each for the zoo
    MLP, paid back by the bond)."""
    found = decided(comp)
    if found is None:
        return 0
    disputes = comp.disputes()
    registry = disputes.architectures()
    records = book.load().scores
    now = comp.chain.timestamp()
    sent = 0
    for c in disputes.challenges(comp.address):
        if not c.open or c.round != found.round or now >= c.contest_end:
            continue
        mine = bytes.fromhex(str(records.get(str(c.submission), {}).get("bitmap", "")))
        jury = found.vector.scores[found.vector.position(c.submission)].bitmap
        if len(mine) != len(jury) or _bit(mine, c.sample) != _bit(jury, c.sample):
            continue  # not scored here, or this miner sides with the challenger
        if registry.commitment_known(c.architecture, c.weights_root):
            continue  # computed already: `resolve_due` decides it
        _, values = binding.weights_of(
            miner.revealed_model(comp, c.submission, sources).payload or b""
        )
        points = binding.point_chunks(catalogue.local(c.architecture).circuit.srs, len(values))
        done, _ = registry.progress(c.architecture, c.weights_root)
        for args in binding.step_args(c.architecture, values, points)[done:]:
            try:
                registry.step(args, sender=who)
            except custom_error_class("ChunkMismatch"):
                break  # another contester sent this chunk first: the next pass goes on
            except custom_error_class("AlreadyComputed"):
                break
            sent += 1
    return sent


def resolve_due(comp: Competition, who: LocalAccount) -> list[int]:
    """Resolve every open challenge of this competition that can be (its commitment known or
    its contest over); return their ids. Anyone may: it unblocks the settlement."""
    disputes = comp.disputes()
    registry = disputes.architectures()
    now = comp.chain.timestamp()
    resolved = []
    for c in disputes.challenges(comp.address):
        if c.open and (
            now >= c.contest_end or registry.commitment_known(c.architecture, c.weights_root)
        ):
            try:
                disputes.resolve(c.id, sender=who)
            except custom_error_class("ChallengeClosed"):
                continue  # resolved by someone else meanwhile
            resolved.append(c.id)
    return resolved


def claim(comp: Competition, who: LocalAccount) -> int:
    """Withdraw the bonds won or returned and the slashed stakes paid to this challenger; return
    the wei received."""
    disputes, pool = comp.disputes(), comp.pool()
    got = 0
    if (credit := disputes.credits(who.address)) > 0:
        disputes.claim(sender=who)
        got += credit
    if (reward := pool.rewards(who.address)) > 0:
        pool.claim_reward(sender=who)
        got += reward
    return got
