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
