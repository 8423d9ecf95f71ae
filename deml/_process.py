"""Background processes that deml starts and finds again by pid (the chain node, Prefect)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def alive(pid: int, marker: bytes | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie) whose command line holds `marker`, if
    given (a pid reused by another program is not ours)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child that exited
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and (marker is None or marker in cmdline)


def start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot, or None if it is not a live process:
    with the pid, an identity that a later process given the same pid does not share."""
    if not alive(pid):
        return None
    try:
        # Field 22 of /proc/PID/stat; the name (field 2) may hold spaces, so count from ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
