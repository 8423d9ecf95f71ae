"""The competitor's part: commit a packed model, reveal it in the window, read the verdict.

The salt and the payload are written to `<state_dir>/competitor/` before the commit is sent,
so a competitor killed between its commit and its reveal can still reveal (a lost salt would
lose the buy-in). Before sending, each step checks the chain, so a retry never pays twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml import journal
from deml.competition import Competition, Phase, Status, model_commitment, new_salt


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
    commitment = model_commitment(payload, salt, who.address, comp.address)
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


def reveal_due(comp: Competition, who: LocalAccount, entries: Entries) -> list[int]:
    """Reveal every committed, unrevealed entry if the reveal window is open; return the ids."""
    if comp.phase() != Phase.REVEAL:
        return []
    resume_commits(comp, who, entries)
    revealed = []
    for entry in entries.all():
        if entry.submission_id is None or entry.revealed:
            continue
        if comp.submission(entry.submission_id).status == Status.COMMITTED:
            payload = Path(entry.payload_file).read_bytes()
            comp.reveal(entry.submission_id, payload, bytes.fromhex(entry.salt), sender=who)
            revealed.append(entry.submission_id)
        entries.put(replace(entry, revealed=True))
    return revealed


def _committed_id(comp: Competition, commitment: bytes, who: LocalAccount) -> int | None:
    """The id of a commit `who` already made with this commitment, from the chain's logs."""
    logs = comp.contract.events.SubmissionCommitted().get_logs(
        from_block=0, argument_filters={"committer": who.address}
    )
    for log in logs:
        if bytes(log["args"]["commitment"]) == commitment:
            return int(log["args"]["id"])
    return None


def transaction_hashes(comp: Competition, submission_id: int) -> tuple[str | None, str | None]:
    """The commit and reveal transactions of a submission, from the chain's logs."""
    events = comp.contract.events
    commits = events.SubmissionCommitted().get_logs(
        from_block=0, argument_filters={"id": submission_id}
    )
    reveals = events.ModelRevealed().get_logs(from_block=0, argument_filters={"id": submission_id})
    return (
        commits[0]["transactionHash"].to_0x_hex() if commits else None,
        reveals[0]["transactionHash"].to_0x_hex() if reveals else None,
    )
