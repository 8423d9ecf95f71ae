"""The checkout, free ports, and project copies for the tests that run DVC or the CLI."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# .gitignore too: DVC refuses to run when git ignores dvc.lock, as a fresh clone would show.
PIPELINE_FILES = ["dvc.yaml", "params.yaml", "data/.gitignore", ".gitignore"]


def make_project(repo: Path) -> Path:
    """A new git + DVC repo holding the dataset pipeline and the deml sources it depends on."""
    for name in PIPELINE_FILES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "deml", repo / "deml", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo, check=True)
    return repo
