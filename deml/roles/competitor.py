"""The competitor's part: train a model (tracked in MLflow), commit its packed payload,
reveal it in the window, read the verdict.

The salt and the payload are written to `<state_dir>/competitor/` before the commit is sent,
so a competitor killed between its commit and its reveal can still reveal (a lost salt would
lose the buy-in). Before sending, each step checks the chain, so a retry never pays twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml import journal
from deml._clock import relative
from deml.chain import blobs
from deml.contracts.bindings import Competition
from deml.contracts.commitments import commitment_to, new_salt
from deml.contracts.types import Phase, RevealMode, Status
from deml.dataset import datapackage
from deml.dataset.npz import read_npz
from deml.model import export, zoo
from deml.model.spec import ModelSpec
from deml.roles import tracking

# Share of the public training split held out to validate on (and to pick a codec with).
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class TrainingData:
    """The public training split of a fetched package, cut into train and validation."""

    spec: ModelSpec
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class Trained:
    """A trained model, exported: its MLflow run, its ONNX bytes and its claimed accuracy."""

    run_id: str
    onnx: bytes
    val_accuracy: float
    num_parameters: int | None


def training_data(data_dir: Path, seed: int) -> TrainingData:
    """The package in `data_dir` (fetched and verified), split by a seeded, stratified cut."""
    from sklearn.model_selection import train_test_split

    manifest = datapackage.check_manifest((data_dir / "manifest.json").read_bytes(), str(data_dir))
    x, y = read_npz(data_dir / manifest["files"]["train"]["path"])
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=VALIDATION_SHARE, random_state=seed, stratify=y
    )
    return TrainingData(ModelSpec.from_manifest(manifest), x_train, y_train, x_val, y_val)


def train(competition: str, data: TrainingData, model: str, *, epochs: int, seed: int) -> Trained:
    """Train `model` (a zoo name or `module:function`) as an MLflow run of the competition's
    experiment (each epoch logged), and export it to ONNX."""
    run_id = tracking.start_submission_run(
        competition, model, {"model": model, "epochs": epochs, "seed": seed}
    )
    trained = zoo.train(
        model, data.x_train, data.y_train, data.x_val, data.y_val, spec=data.spec,
        epochs=epochs, seed=seed,
        on_epoch=lambda epoch, metrics: tracking.log_epoch(run_id, epoch, metrics),
    )  # fmt: skip
    tracking.log_epoch(run_id, epochs, {"val_accuracy": trained.val_accuracy})
    onnx = export.to_onnx(trained.model, data.spec)
    return Trained(run_id, onnx, trained.val_accuracy, trained.params.get("num_parameters"))


@dataclass(frozen=True)
class Entry:
    """One submission as its competitor keeps it."""

    commitment: str
    salt: str
    payload_file: str
    model_hash: str
    submission_id: int | None = None
    revealed: bool = False
    run_id: str | None = None  # the MLflow run that trained it, if tracked
    codec: str | None = None
    lost: str | None = None  # why it can no longer be revealed, once that is certain


@dataclass(frozen=True)
class RevealReport:
    """What one pass of `reveal_due` did, and what it could not do and why."""

    revealed: list[tuple[int, str]]  # (submission id, reveal transaction hash)
    lost: list[Entry]  # entries found lost on this pass (their `lost` says why)
    waiting: str | None  # why nothing is due yet, when entries wait for the window


class Entries:
    """The competitor's submissions to one competition, kept in the state dir."""

    def __init__(self, state_dir: Path, competition: str, competitor: str) -> None:
        self.dir = Path(state_dir) / "competitor" / competition / competitor
        self.path = self.dir / "entries.json"

    def all(self) -> list[Entry]:
        record = journal.load(self.path) or {"entries": []}
        return [Entry(**e) for e in record["entries"]]

    def put(self, entry: Entry) -> None:
        kept = [e for e in self.all() if e.commitment != entry.commitment]
        journal.save(self.path, {"entries": [*map(asdict, kept), asdict(entry)]})


def commit(comp: Competition, payload: bytes, who: LocalAccount, entries: Entries) -> Entry:
    """Record the payload and a salt, then commit with the buy-in; return the entry."""
    return send_commit(comp, prepare_entry(comp, payload, who, entries), who, entries)


def prepare_entry(
    comp: Competition,
    payload: bytes,
    who: LocalAccount,
    entries: Entries,
    *,
    run_id: str | None = None,
    codec: str | None = None,
) -> Entry:
    """Write the payload and a fresh salt to the state dir, before anything is sent.

    An entry for the same payload that never got its id is reused, so a retry after a crash
    commits (or finds) the same commitment instead of paying for a second one.
    """
    model_hash = keccak(payload).hex()
    for entry in entries.all():
        if entry.model_hash == model_hash and entry.submission_id is None:
            return entry
    salt = new_salt()
    # Calldata mode binds the payload's hash; blob mode its size and its blobs' versioned hashes.
    commitment = commitment_to(comp.model_hash(payload), salt, who.address, comp.address)
    payload_file = entries.dir / f"{model_hash}.payload"
    payload_file.parent.mkdir(parents=True, exist_ok=True)
    payload_file.write_bytes(payload)
    entry = Entry(
        commitment.hex(), salt.hex(), str(payload_file), model_hash, None, False, run_id, codec
    )
    entries.put(entry)
    return entry


def send_commit(comp: Competition, entry: Entry, who: LocalAccount, entries: Entries) -> Entry:
    """Commit a prepared entry with the buy-in, unless the chain already has it."""
    if entry.submission_id is not None:
        return entry
    commitment = bytes.fromhex(entry.commitment)
    submission_id = _committed_id(comp, commitment, who) or comp.commit(commitment, sender=who)
    entry = replace(entry, submission_id=submission_id)
    entries.put(entry)
    return entry


def resume_commits(comp: Competition, who: LocalAccount, entries: Entries) -> list[Entry]:
    """Find the ids of entries whose commit was sent but not recorded (a crash in between)."""
    found = []
    for entry in entries.all():
        if entry.submission_id is None:
            submission_id = _committed_id(comp, bytes.fromhex(entry.commitment), who)
            if submission_id is not None:
                entry = replace(entry, submission_id=submission_id)
                entries.put(entry)
                found.append(entry)
    return found


def reveal_due(
    comp: Competition,
    who: LocalAccount,
    entries: Entries,
    store: Callable[[bytes], str] | None = None,
) -> RevealReport:
    """Reveal every committed, unrevealed entry if the reveal window is open. Once it has
    closed, an entry still unrevealed is lost (its buy-in forfeited): say so, once.

    In a blob competition the payload also goes to content storage first (`store` returns its
    CID), named in the reveal: miners fall back to it once the blobs have expired."""
    phase = comp.phase()
    params = comp.params()
    now = comp.chain.timestamp()
    if phase == Phase.SUBMIT:
        waiting = [e for e in entries.all() if e.submission_id is not None and not e.revealed]
        if params.reveal_mode == RevealMode.BLOB:
            for entry in waiting:  # so that the reveal, once its window opens, goes out at once
                blobs.prepare(Path(entry.payload_file).read_bytes())
        opens = f"the reveal window opens {relative(params.submit_deadline, now)}"
        return RevealReport([], [], opens if waiting else None)
    resume_commits(comp, who, entries)
    revealed: list[tuple[int, str]] = []
    lost: list[Entry] = []
    for entry in entries.all():
        if entry.revealed or entry.lost:
            continue
        if entry.submission_id is None:
            lost.append(replace(entry, lost="its commit never landed before submissions closed"))
        elif comp.submission(entry.submission_id).status != Status.COMMITTED:
            entries.put(replace(entry, revealed=True))  # revealed by an earlier, lost answer
        elif phase == Phase.REVEAL:
            payload = Path(entry.payload_file).read_bytes()
            salt = bytes.fromhex(entry.salt)
            if params.reveal_mode == RevealMode.BLOB:
                cid = store(payload) if store is not None else ""
                receipt = comp.reveal_blobs(entry.submission_id, payload, salt, sender=who, cid=cid)
            else:
                receipt = comp.reveal(entry.submission_id, payload, salt, sender=who)
            revealed.append((entry.submission_id, receipt["transactionHash"].to_0x_hex()))
            entries.put(replace(entry, revealed=True))
        else:
            closed = relative(params.reveal_deadline, now)
            lost.append(
                replace(
                    entry,
                    lost=f"the reveal window closed {closed}: submission {entry.submission_id}"
                    " forfeits its buy-in",
                )
            )
    for entry in lost:
        entries.put(entry)
    return RevealReport(revealed, lost, None)


def _committed_id(comp: Competition, commitment: bytes, who: LocalAccount) -> int | None:
    """The id of a commit `who` already made with this commitment, from the chain's logs."""
    for commit in comp.commits(committer=who.address):
        if commit.commitment == commitment:
            return commit.id
    return None


def transaction_hashes(comp: Competition, submission_id: int) -> tuple[str | None, str | None]:
    """The commit and reveal transactions of a submission, from the chain's logs."""
    commits = comp.commits(submission_id=submission_id)
    reveals = comp.reveals(submission_id=submission_id)
    return (
        commits[0].log.tx_hash if commits else None,
        reveals[0].log.tx_hash if reveals else None,
    )
