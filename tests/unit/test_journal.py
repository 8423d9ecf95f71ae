"""deml.journal.claim: records kept under a name another owner can take over (a competition's
address on a reset chain) move aside whole; records from before the stamp are kept."""

from __future__ import annotations

from pathlib import Path

from deml import journal


def test_another_owners_records_move_aside_and_the_owners_stay(tmp_path: Path) -> None:
    folder = tmp_path / "competitor" / "0xabc"
    assert journal.claim(folder, "first") is None
    journal.save(folder / "entries.json", {"entries": ["first's"]})
    assert journal.claim(folder, "first") is None  # its own: untouched
    assert journal.load(folder / "entries.json") == {"entries": ["first's"]}

    assert journal.claim(folder, "second") == tmp_path / "competitor" / "0xabc.earlier-1"
    assert not (folder / "entries.json").exists()
    assert journal.load(folder / "owner.json") == {"owner": "second"}
    moved = tmp_path / "competitor" / "0xabc.earlier-1"
    assert journal.load(moved / "entries.json") == {"entries": ["first's"]}

    assert journal.claim(folder, "third") == tmp_path / "competitor" / "0xabc.earlier-2"
    assert journal.load(moved / "owner.json") == {"owner": "first"}  # nothing overwritten


def test_records_from_before_the_stamp_are_adopted(tmp_path: Path) -> None:
    folder = tmp_path / "miner" / "0xabc"
    journal.save(folder / "ledger.json", {"scores": {}})
    assert journal.claim(folder, "owner") is None
    assert journal.load(folder / "ledger.json") == {"scores": {}}
