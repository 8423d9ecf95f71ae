"""The miner's part: bond in the pool once; when drawn, score every revealed model, vote one
hash (the root of its score vector, or HOST_FAULT), reveal it, and publish what the vote
needs published.

Everything a miner must not lose is written to `<state_dir>/miner/` first: the scores as
they are computed, and each vote (its hash, salt and vector) before its commit is sent. A
miner killed at any point resumes on its next run, with no double vote and no lost reveal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from filelock import FileLock

from deml import journal
from deml.chain import blob_sources, blobs
from deml.chain.blob_sources import BlobSource
from deml.chain.blobs import BlobError
from deml.contracts.bindings import Competition, MinerPool
from deml.contracts.commitments import new_salt, vote_commitment
from deml.contracts.sample_tree import samples_root
from deml.contracts.score_tree import (
    VECTOR_CHUNK_LEVEL,
    Score,
    ScoreTree,
    unpack,
    vote_hash,
    winner_of,
)
from deml.contracts.types import HOST_FAULT, CreatedCompetition, Phase, RevealMode, VoteState
from deml.dataset import datapackage
from deml.dataset.npz import read_npz
from deml.exceptions import (
    BindingError,
    DatasetError,
    DecryptionError,
    KeyFormatError,
    ManifestError,
    MinerError,
    custom_error_class,
)
from deml.model.spec import ModelSpec
from deml.roles.architectures import Catalogue
from deml.scoring.sandbox import Sandbox, ScoreResult
from deml.storage.base import Storage


@dataclass
class Ballot:
    """A vote as the miner keeps it: enough to reveal it and to publish its vector."""

    vote: str  # hex of the vote hash (HOST_FAULT, or a vector's)
    salt: str
    leaves: str = ""  # hex of the packed vector (empty for HOST_FAULT)
    reason: str = ""  # why HOST_FAULT


@dataclass
class Ledger:
    """What a miner has done in one competition, as kept on disk."""

    scores: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> score record
    host_fault: str = ""  # why the test split cannot be scored, once found
    ballots: dict[str, dict[str, str]] = field(default_factory=dict)  # round -> Ballot
    # round -> what this miner tried against that round's decided root (deml.roles.dispute)
    disputes: dict[str, dict[str, object]] = field(default_factory=dict)


class MinerBook:
    """A miner's ledger for one competition, and its working folder."""

    def __init__(self, state_dir: Path, competition: str, miner: str) -> None:
        self.dir = Path(state_dir) / "miner" / competition / miner
        self.path = self.dir / "ledger.json"

    def load(self) -> Ledger:
        return Ledger(**(journal.load(self.path) or {}))

    def save(self, ledger: Ledger) -> None:
        journal.save(self.path, asdict(ledger))

    def update(self, change: Callable[[Ledger], object]) -> Ledger:
        """Apply `change(ledger)` under a file lock (parallel scoring tasks write here too)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(self.dir / "ledger.lock"):
            ledger = self.load()
            change(ledger)
            self.save(ledger)
            return ledger

    def record_score(self, submission_id: int, score: dict[str, object]) -> None:
        self.update(lambda ledger: ledger.scores.__setitem__(str(submission_id), score))

    def ballot(self, r: int) -> Ballot | None:
        found = self.load().ballots.get(str(r))
        return Ballot(**found) if found else None


# -- the pool --------------------------------------------------------------------------------


def ensure_bonded(pool: MinerPool, who: LocalAccount, units: int) -> int:
    """Bond up to `units` seats' worth in the pool (counting what waits for a draw); return the
    units added now."""
    juror = pool.juror(who.address)
    missing = units - juror.units - juror.pending_units
    if missing <= 0:
        return 0
    pool.bond(missing, sender=who)
    return missing


def drafted(comp: Competition, who: LocalAccount) -> int:
    """The backed seats `who` holds in the current vote (0: not drafted, or not drawn yet)."""
    return comp.seat(comp.summary().round, who.address).backed


# -- scoring -----------------------------------------------------------------------------------


def unscored_ids(comp: Competition, book: MinerBook) -> list[int]:
    """Revealed submissions this miner has not scored yet."""
    done = book.load().scores
    return [i for i in comp.revealed_ids() if str(i) not in done]


def fetch_test_split(
    comp: Competition, created: CreatedCompetition, storage: Storage, book: MinerBook
) -> tuple[np.ndarray, np.ndarray, ModelSpec] | None:
    """Download the dataset (verified against its CIDs) and decrypt the test split with the
    revealed key. None when the host is at fault (the key does not open the split, or the
    split is not what the competition declares): the reason goes into the ledger."""
    key = comp.test_key()
    if key is None:
        raise MinerError("the host has not revealed the test key yet")
    folder = book.dir / "dataset"
    plain = folder / "test.npz"
    if plain.is_file() and (folder / "manifest.json").is_file():
        # Fetched, verified and decrypted by an earlier run or task: our own disk, trusted.
        manifest = datapackage.check_manifest((folder / "manifest.json").read_bytes(), str(folder))
        x, y = read_npz(plain, str(plain))
        return x, y, ModelSpec.from_manifest(manifest)
    fault = book.load().host_fault
    if fault:
        return None
    # A missing block or a dead store raises: that is ours to retry, not the host's fault.
    manifest = datapackage.fetch(created.dataset_cid, storage, folder)
    try:
        if manifest["files"]["test"]["cid"] != created.test_cid:
            raise ManifestError("the manifest's test split is not the one the competition names")
        datapackage.decrypt_test(folder / manifest["files"]["test"]["path"], key.hex(), plain)
        spec = ModelSpec.from_manifest(manifest)
        # Checked on the headers, before numpy allocates a byte of it.
        params = comp.params()
        shape = (params.test_set_size, *spec.input_shape)
        x, y = read_npz(plain, f"the test split {plain}", shape)
        if samples_root(x, y) != params.samples_root:
            raise ManifestError(
                "the decrypted test split is not the one the host committed at creation (its"
                " samples root differs): a dispute could not present its samples"
            )
    except (DecryptionError, KeyFormatError, ManifestError, DatasetError) as exc:
        plain.unlink(missing_ok=True)
        reason = str(exc)
        book.update(lambda ledger: setattr(ledger, "host_fault", reason))
        return None
    return x, y, spec


# Where a blob reveal's blobs are asked for, given the CID of its stored copy: the node, a
# beacon API, the content store (`blob_sources_for`).
BlobSourcesFor = Callable[[str], list[BlobSource]]


@dataclass(frozen=True)
class RevealedModel:
    """A revealed submission's bytes, as scored: `payload` is None when the committed bytes are
    not a payload at all (`refused` says why; it scores 0 on every honest miner alike)."""

    payload: bytes | None
    model_hash: bytes  # what the commitment bound: the payload's hash, or its blobs'
    refused: str | None = None


def blob_sources_for(
    comp: Competition, storage: Storage, beacon_url: str | None = None
) -> BlobSourcesFor:
    """The sources a blob reveal is fetched from, in order: the node's RPC (anvil keeps every
    blob), the beacon API when one is configured, the content store's copy by CID."""

    def sources(cid: str) -> list[BlobSource]:
        found: list[BlobSource] = [blob_sources.NodeBlobs(comp.chain)]
        if beacon_url:
            found.append(blob_sources.BeaconBlobs(beacon_url, comp.chain))
        return [*found, blob_sources.StoredCopy(storage, cid)]

    return sources


def revealed_model(comp: Competition, submission_id: int, sources: BlobSourcesFor) -> RevealedModel:
    """The bytes a submission revealed: from its reveal event, or from its blobs (each source's
    answer checked against the versioned hashes on chain). Blobs that no source gives raise
    `BlobUnavailable` (retried: consensus keeps them for 18 days, so that is an outage here)."""
    if comp.params().reveal_mode != RevealMode.BLOB:
        payload = comp.revealed_model(submission_id)
        return RevealedModel(payload, keccak(payload))
    found = comp.blob_reveals(submission_id=submission_id)
    if not found:
        raise BindingError(f"submission {submission_id} has not been revealed")
    event = found[0]
    carried = blob_sources.fetch(sources(event.cid), event.versioned_hashes, event.log.block_number)
    try:
        payload = blobs.decode(carried)
    except BlobError as exc:
        return RevealedModel(None, event.model_hash, f"its blobs are not a payload: {exc}")
    if len(payload) != event.size:
        return RevealedModel(
            None,
            event.model_hash,
            f"its blobs hold {len(payload):,} bytes; its reveal declares {event.size:,}",
        )
    return RevealedModel(payload, event.model_hash)


def score_models(
    comp: Competition,
    ids: list[int],
    data: tuple[np.ndarray, np.ndarray, ModelSpec],
    book: MinerBook,
    sandbox: Sandbox,
    sources: BlobSourcesFor,
    catalogue: Catalogue,
) -> dict[int, ScoreResult]:
    """Score each model in its own sandboxed child (a disputable payload as its architecture's
    model, `catalogue`); record every score as it comes."""
    x, y, spec = data
    results = {}
    for submission_id in ids:
        revealed = revealed_model(comp, submission_id, sources)
        payload, refused = (None, revealed.refused)
        if revealed.payload is not None:
            payload, refused = catalogue.scorable(revealed.payload)
        if payload is None:
            result = ScoreResult(0, len(y), refused, 0.0)
        else:
            (result,) = sandbox.score_all([payload], x, y, spec)
        book.record_score(
            submission_id,
            {
                "correct": result.correct,
                "total": result.total,
                "error": result.error,
                "model_hash": revealed.model_hash.hex(),
                "correctness": keccak(result.correct_bitmap).hex(),
                # The samples it got right: what a dispute compares with the jury's bitmap.
                "bitmap": result.correct_bitmap.hex(),
            },
        )
        results[submission_id] = result
    return results


# -- voting ------------------------------------------------------------------------------------


def vector(comp: Competition, book: MinerBook, *, dishonest: bool = False) -> ScoreTree:
    """This miner's score vector: every revealed submission by ascending id, with its score
    and correctness hash. `dishonest` shifts every score: the demo's cheating miner."""
    scores = book.load().scores
    size = comp.params().test_set_size
    leaves = []
    for i in comp.revealed_ids():
        record = scores.get(str(i))
        if record is None:
            raise MinerError(f"submission {i} is not scored yet; the vector needs every one")
        correct = int(record["correct"])  # type: ignore[call-overload]
        if dishonest:
            correct = (correct + size // 3) % (size + 1)
        leaves.append(Score(i, correct, bytes.fromhex(str(record["correctness"]))))
    return ScoreTree(leaves)


def plan_vote(comp: Competition, book: MinerBook, *, dishonest: bool = False) -> Ballot:
    """Fix this round's vote on disk, once (a retry reuses it): HOST_FAULT if the test split
    could not be scored, else the hash of the score vector; with a fresh salt."""
    r = comp.summary().round
    ballot = book.ballot(r)
    if ballot is not None:
        return ballot
    ledger = book.load()
    if ledger.host_fault:
        ballot = Ballot(HOST_FAULT.hex(), new_salt().hex(), reason=ledger.host_fault)
    else:
        tree = vector(comp, book, dishonest=dishonest)
        winner_id, winner_score = winner_of(tree.scores)
        vote = vote_hash(tree.root, tree.count, winner_id, winner_score)
        leaves = b"".join(s.packed() for s in tree.scores)
        ballot = Ballot(vote.hex(), new_salt().hex(), leaves.hex())
    book.update(lambda ledger: ledger.ballots.__setitem__(str(r), asdict(ballot)))
    return ballot


def commit_vote_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> bool:
    """Commit the planned vote in its window unless the chain has it already."""
    r = comp.summary().round
    ballot = book.ballot(r)
    if ballot is None or comp.phase() != Phase.VOTE_COMMIT:
        return False
    vote, salt = bytes.fromhex(ballot.vote), bytes.fromhex(ballot.salt)
    if comp.seat(r, who.address).hash == vote_commitment(vote, salt, who.address, comp.address):
        return True
    comp.commit_vote(vote, salt, sender=who)
    return True


def reveal_vote_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> bool:
    """Reveal the committed vote in its window, once; return whether it is revealed."""
    r = comp.summary().round
    seat = comp.seat(r, who.address)
    if seat.state != VoteState.COMMITTED:
        return seat.state in (VoteState.REVEALED, VoteState.SETTLED)
    if comp.phase() != Phase.VOTE_REVEAL:
        return False
    ballot = book.ballot(r)
    if ballot is None:
        raise MinerError(f"{book.path} has no vote for round {r}, but the chain holds its commit")
    salt = bytes.fromhex(ballot.salt)
    if ballot.vote == HOST_FAULT.hex():
        comp.reveal_host_fault(salt, sender=who)
    else:
        tree = _tree(ballot)
        winner_id, winner_score = winner_of(tree.scores)
        comp.reveal_vote(tree.root, tree.count, winner_id, winner_score, salt, sender=who)
    return True


def publish_scores_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> int:
    """Once this miner's vote won by a majority, publish its vector's chunks that nobody has
    yet (each earns its share of the bounty); return how many chunks were sent."""
    r = comp.summary().round
    round_ = comp.round(r)
    ballot = book.ballot(r)
    if (
        ballot is None
        or not round_.majority
        or comp.phase() in (Phase.VOTE_COMMIT, Phase.VOTE_REVEAL)
    ):
        return 0
    if round_.leader.hex() != ballot.vote or ballot.vote == HOST_FAULT.hex():
        return 0
    published = {p.first_leaf for p in comp.scores_published()}
    tree = _tree(ballot, book)
    sent = 0
    for chunk in tree.chunks():
        if chunk.first in published:
            continue
        try:
            comp.publish_scores(chunk, sender=who)
            sent += 1
        except custom_error_class("AlreadyPublished"):
            pass  # another juror of the majority was faster: the leaderboard has it
    return sent + publish_bitmaps(comp, tree, r, who)


def publish_bitmaps(comp: Competition, tree: ScoreTree, r: int, who: LocalAccount) -> int:
    """Publish the winning vector's bitmaps to the dispute contract (the root settles only once
    every one is out, and is annulled if they are not by the end of the dispute window, the
    majority's seats burned); return how many chunks were sent."""
    disputes = comp.disputes()
    out = disputes.bitmaps_published(comp.address, r)
    sent = 0
    for chunk in tree.chunks():
        if chunk.first in out:
            continue
        try:
            disputes.publish_bitmaps(comp.address, chunk, tree.bitmaps(chunk), sender=who)
            sent += 1
        except custom_error_class("AlreadyPublished"):
            pass  # another juror of the majority was faster
    return sent


def publish_vector_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> int:
    """While a tally is open, add the rest of this miner's vector to it (in order); a juror
    whose vector is not complete by the deadline is absent. Return the chunks sent."""
    r = comp.summary().round
    ballot = book.ballot(r)
    seat = comp.seat(r, who.address)
    if ballot is None or ballot.vote == HOST_FAULT.hex() or seat.state != VoteState.REVEALED:
        return 0
    if comp.phase() != Phase.TALLY or comp.chain.timestamp() >= comp.round(r).tally_deadline:
        return 0
    sent = 0
    for chunk in _tree(ballot).chunks(VECTOR_CHUNK_LEVEL):
        if chunk.first < seat.cursor:
            continue
        comp.publish_vector(who.address, chunk, sender=who)
        sent += 1
    return sent


def prove_dissents(comp: Competition, who: LocalAccount) -> list[str]:
    """During a tally's dispute window, prove every juror whose published vector disagrees with
    a validated score (its seats are burned; the prover earns nothing: nobody is paid to
    slash). Return the jurors proven."""
    r = comp.summary().round
    if comp.phase() == Phase.FINALIZED:
        return []
    validated = {
        s.id: s.score for s in comp.submission_settlements() if s.round == r and s.validated
    }
    if not validated:
        return []
    vectors: dict[str, bytes] = {}
    for chunk in comp.vectors_published():
        if chunk.round == r:
            vectors[chunk.juror] = vectors.get(chunk.juror, b"") + chunk.leaves
    revealed = comp.summary().revealed
    proven = []
    for juror, leaves in vectors.items():
        seat = comp.seat(r, juror)
        if seat.dissent or seat.cursor != revealed:
            continue  # already proven, or incomplete (absent: burned anyway)
        tree = ScoreTree(unpack(leaves))
        for position, score in enumerate(tree.scores):
            if score.id in validated and score.score != validated[score.id]:
                comp.prove_dissent(juror, tree.chunk(0, position), sender=who)
                proven.append(juror)
                break
    return proven


def _tree(ballot: Ballot, book: MinerBook | None = None) -> ScoreTree:
    """A ballot's vector; with the book, each leaf with the bitmap this miner recorded."""
    scores = unpack(bytes.fromhex(ballot.leaves))
    if book is None:
        return ScoreTree(scores)
    records = book.load().scores
    return ScoreTree(
        [
            replace(s, bitmap=bytes.fromhex(str(records.get(str(s.id), {}).get("bitmap", ""))))
            for s in scores
        ]
    )
