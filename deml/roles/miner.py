"""The miner's part: bond a stake, score every revealed model, commit and reveal the scores.

Everything a miner must not lose is written to `<state_dir>/miner/` first: the scores as
they are computed, and the vote (ids, scores, salt) before its commit is sent. A miner
killed at any point resumes on its next run, with no double vote and no lost reveal.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from filelock import FileLock

from deml import journal
from deml.contracts.bindings import Competition
from deml.contracts.commitments import new_salt, vote_commitment
from deml.contracts.types import CreatedCompetition, MinerStatus, Phase
from deml.dataset import datapackage
from deml.dataset.npz import read_npz
from deml.exceptions import MinerError
from deml.model.spec import ModelSpec
from deml.scoring.sandbox import Sandbox, ScoreResult
from deml.storage.base import Storage


@dataclass
class Ledger:
    """What a miner has done in one competition, as kept on disk."""

    scores: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> score record
    vote_ids: list[int] | None = None
    vote_scores: list[int] | None = None
    vote_salt: str | None = None


class MinerBook:
    """A miner's ledger for one competition, and its working folder."""

    def __init__(self, state_dir: Path, competition: str, miner: str) -> None:
        self.dir = Path(state_dir) / "miner" / competition / miner
        self.path = self.dir / "ledger.json"

    def load(self) -> Ledger:
        return Ledger(**(journal.load(self.path) or {}))

    def save(self, ledger: Ledger) -> None:
        journal.save(self.path, asdict(ledger))

    def record_score(self, submission_id: int, score: dict[str, object]) -> None:
        """Add one score; a file lock keeps parallel scoring tasks from losing each other's."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(self.dir / "ledger.lock"):
            ledger = self.load()
            ledger.scores[str(submission_id)] = score
            self.save(ledger)


def register_if_needed(comp: Competition, who: LocalAccount) -> bool:
    """Bond the stake once, while registration is open; return whether registered."""
    if comp.participant(who.address).miner_status != MinerStatus.NONE:
        return True
    if comp.phase() not in (Phase.SUBMIT, Phase.REVEAL, Phase.VOTE_COMMIT):
        return False
    comp.register_miner(sender=who)
    return True


def unscored_ids(comp: Competition, book: MinerBook, who: LocalAccount) -> list[int]:
    """Revealed submissions this miner may score and has not scored yet."""
    done = book.load().scores
    return [
        i
        for i in comp.revealed_ids()
        if str(i) not in done and comp.submission(i).owner != who.address
    ]


def fetch_test_split(
    comp: Competition, created: CreatedCompetition, storage: Storage, book: MinerBook
) -> tuple[np.ndarray, np.ndarray, ModelSpec]:
    """Download the dataset (verified against its CIDs), decrypt the test split with the key."""
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
    manifest = datapackage.fetch(created.dataset_cid, storage, folder)
    if manifest["files"]["test"]["cid"] != created.test_cid:
        raise MinerError("the manifest's test split is not the one the competition names")
    datapackage.decrypt_test(folder / manifest["files"]["test"]["path"], key.hex(), plain)
    x, y = read_npz(plain, str(plain))
    size = comp.params().test_set_size
    if len(y) != size:
        # Scores above the declared size would revert the vote and cost the stake: a miner
        # that has not committed keeps its stake, so it stops here instead.
        plain.unlink()
        raise MinerError(f"the test split has {len(y)} rows but the competition declares {size}")
    return x, y, ModelSpec.from_manifest(manifest)


def score_models(
    comp: Competition,
    ids: list[int],
    data: tuple[np.ndarray, np.ndarray, ModelSpec],
    book: MinerBook,
    sandbox: Sandbox,
) -> dict[int, ScoreResult]:
    """Score each model in its own sandboxed child; record every score as it comes."""
    x, y, spec = data
    results = {}
    for submission_id in ids:
        payload = comp.revealed_model(submission_id)
        (result,) = sandbox.score_all([payload], x, y, spec)
        book.record_score(
            submission_id,
            {
                "correct": result.correct,
                "total": result.total,
                "error": result.error,
                "model_hash": keccak(payload).hex(),
            },
        )
        results[submission_id] = result
    return results


def plan_vote(comp: Competition, book: MinerBook, *, dishonest: bool = False) -> Ledger:
    """Fix the vote (sorted ids, their scores, a fresh salt) on disk, once; return the ledger.

    `dishonest` shifts every score: the demo's cheating miner, which the majority outvotes.
    """
    ledger = book.load()
    if ledger.vote_salt is not None:
        return ledger
    size = comp.params().test_set_size
    ids = sorted(int(i) for i in ledger.scores)
    scores = [int(ledger.scores[str(i)]["correct"]) for i in ids]  # type: ignore[call-overload]
    if dishonest:
        scores = [(s + size // 3) % (size + 1) for s in scores]
    ledger.vote_ids, ledger.vote_scores, ledger.vote_salt = ids, scores, new_salt().hex()
    book.save(ledger)
    return ledger


def commit_vote_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> bool:
    """Commit the planned vote in the vote-commit window unless the chain has it already."""
    ledger = book.load()
    if ledger.vote_salt is None or comp.phase() != Phase.VOTE_COMMIT:
        return False
    ids, scores, salt = (
        ledger.vote_ids or [],
        ledger.vote_scores or [],
        bytes.fromhex(ledger.vote_salt),
    )
    if comp.participant(who.address).vote_commitment == vote_commitment(
        ids, scores, salt, who.address, comp.address
    ):
        return True
    comp.commit_votes(ids, scores, salt, sender=who)
    return True


def reveal_vote_if_due(comp: Competition, book: MinerBook, who: LocalAccount) -> bool:
    """Reveal the committed vote in the vote-reveal window, once."""
    status = comp.participant(who.address).miner_status
    if status != MinerStatus.COMMITTED:
        return status in (MinerStatus.REVEALED, MinerStatus.SETTLED, MinerStatus.SLASHED)
    if comp.phase() != Phase.VOTE_REVEAL:
        return False
    ledger = book.load()
    if ledger.vote_salt is None:
        raise MinerError(f"{book.path} has no vote, but the chain holds a commitment from it")
    salt = bytes.fromhex(ledger.vote_salt)
    comp.reveal_votes(ledger.vote_ids or [], ledger.vote_scores or [], salt, sender=who)
    return True
