"""`deml data init`: a host project (a git + DVC repo holding the dataset pipeline) anywhere,
with no DeML checkout: the pipeline's stages run the installed `deml` package.

A host used to need a clone of the whole DeML repository just to run DVC in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from deml.exceptions import ToolchainError

TEMPLATE = "project_template"
# What the project gets, from the template files shipped in the package.
FILES = {
    "dvc.yaml": "dvc.yaml",
    "params.yaml": "params.yaml",
    "data/.gitignore": "data.gitignore",
}


def init(project: Path) -> list[str]:
    """Write the pipeline into `project` (made if missing), then make it a git repo and a DVC
    project unless it is one already; return what was done, for the user. Refuses to write
    over a dvc.yaml or params.yaml that is there: nothing is changed then."""
    project = Path(project)
    taken = [name for name in FILES if (project / name).exists()]
    if taken:
        raise ToolchainError(
            f"{project.resolve()} already has {', '.join(taken)}: it is a project already"
            " (`deml data prepare` runs its pipeline); choose an empty folder"
        )
    if shutil.which("git") is None:
        raise ToolchainError("git is not installed: DVC versions the dataset inside a git repo")
    project.mkdir(parents=True, exist_ok=True)
    done = []
    template = resources.files("deml.dataset") / TEMPLATE
    for name, source in FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(template.joinpath(source).read_text())
        done.append(f"wrote {name}")
    top = _git_root(project)
    if top is None:
        _run(["git", "init", "-q"], project)
        done.append("git init")
    if not (project / ".dvc").is_dir():
        # Inside a larger git repo, DVC keeps to this folder only when told so.
        subdir = ["--subdir"] if top is not None and top != project.resolve() else []
        _run([sys.executable, "-m", "dvc", "init", "-q", *subdir], project)
        done.append("dvc init")
    return done


def _git_root(folder: Path) -> Path | None:
    """The top of the git work tree `folder` is in, or None."""
    probe = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True
    )
    return Path(probe.stdout.strip()).resolve() if probe.returncode == 0 else None


def _run(command: list[str], cwd: Path) -> None:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"`{' '.join(command[-3:])}` failed in {cwd}: {proc.stderr.strip()}")
