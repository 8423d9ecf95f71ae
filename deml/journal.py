"""Small JSON records in the state dir, written whole or not at all.

The roles keep what they must not lose here (a salt before its commit, scores before their
vote), so a process killed at any point resumes from the last record on its next run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deml._fs import write_atomic
from deml.exceptions import JournalError


def load(path: Path) -> dict[str, Any] | None:
    """The record at `path`, or None when there is none yet."""
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise JournalError(f"{path} is damaged ({exc}); move it away to start over") from None
    if not isinstance(record, dict):
        raise JournalError(f"{path} is not a JSON object; move it away to start over")
    return record


def save(path: Path, record: dict[str, Any]) -> None:
    """Replace the record at `path` atomically."""
    write_atomic(path, [json.dumps(record, indent=2, sort_keys=True).encode() + b"\n"])


def claim(folder: Path, owner: str) -> Path | None:
    """Make `folder` the records of `owner` (stamped in `folder/owner.json`). Records another
    owner left there are moved aside whole, to `folder.earlier-N`, and that path returned.

    The roles keep a competition's records under its address, and a reset dev chain deploys
    the same addresses again: without this a competitor took the last competition's entries
    for its own and skipped training."""
    stamp = folder / "owner.json"
    found = load(stamp)
    moved = None
    if found is not None and found.get("owner") != owner:
        n = 1
        while (aside := folder.with_name(f"{folder.name}.earlier-{n}")).exists():
            n += 1
        folder.rename(aside)
        moved = aside
    if found is None or moved is not None:
        save(stamp, {"owner": owner})  # a folder from before stamps: its records are kept
    return moved
