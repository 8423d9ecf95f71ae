"""`deml data prepare` (dvc repro) in a throwaway copy of the project: same params, same files
and CIDs; another param, a new DVC version and new CIDs; the key never in git or DVC."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from deml.cli.data import data_app
from deml.exceptions import ToolchainError
from tests.helpers.project import ROOT, make_project

app = typer.Typer()
app.add_typer(data_app, name="data")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new git + DVC repo holding the pipeline and the deml sources its stages depend on."""
    repo = make_project(tmp_path / "project")
    for key in [k for k in os.environ if k.startswith("DEML_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.chdir(repo)
    return repo


def prepare(*flags: str) -> dict[str, bytes]:
    """Run `deml data prepare`; return every package file and dvc.lock by name."""
    result = CliRunner().invoke(app, ["data", "prepare", *flags], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    files = {p.name: p.read_bytes() for p in Path("data/package").iterdir()}
    return {**files, "dvc.lock": Path("dvc.lock").read_bytes()}


def cids(files: dict[str, bytes]) -> dict[str, str]:
    manifest = json.loads(files["manifest.json"])
    return {role: entry["cid"] for role, entry in manifest["files"].items()}


def dvc_version(files: dict[str, bytes]) -> str:
    lock = yaml.safe_load(files["dvc.lock"])
    (out,) = lock["stages"]["prepare"]["outs"]
    return out["md5"].removesuffix(".dir")


def test_same_params_same_files_new_params_new_version(project: Path, tmp_path: Path) -> None:
    first = prepare()
    manifest = json.loads(first["manifest.json"])
    assert manifest["version"] == dvc_version(first)  # the manifest names the DVC version

    # --force runs every stage again from scratch: the bytes, hence the CIDs, do not move.
    again = prepare("--force")
    assert again == first

    params = yaml.safe_load(Path("params.yaml").read_text())
    params["dataset"]["seed"] += 1
    Path("params.yaml").write_text(yaml.safe_dump(params))
    changed = prepare()
    assert dvc_version(changed) != dvc_version(first)
    assert json.loads(changed["manifest.json"])["version"] == dvc_version(changed)
    assert set(cids(changed).values()).isdisjoint(cids(first).values())

    # Two versions, two keys, both only in the state dir: not in git's view, not in DVC's.
    keys = sorted((tmp_path / "state" / "keys").glob("*.key"))
    assert [k.name for k in keys] == sorted(
        f"digits-{dvc_version(files)}.key" for files in (first, changed)
    )
    secrets = [bytes.fromhex(k.read_text().strip()) for k in keys]
    for path in [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]:
        data = path.read_bytes()
        for key in secrets:
            assert key not in data and key.hex().encode() not in data, path
    ignored = subprocess.run(
        ["git", "check-ignore", "data/prepared", "data/package"], capture_output=True, text=True
    )
    assert ignored.stdout.split() == ["data/prepared", "data/package"]


def test_data_init_makes_a_project_outside_any_checkout(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host without a DeML clone: `deml data init` gives it the pipeline, in a git + DVC
    repo of its own, and the same host (state dir, key) gets the checkout's package byte for
    byte."""
    checkout = cids(prepare())
    runner = CliRunner()
    made = runner.invoke(app, ["data", "init", str(tmp_path / "mine")], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    assert "git init" in made.output and "dvc init" in made.output
    mine = tmp_path / "mine"
    assert not (mine / "deml").exists()  # the stages run the installed package
    assert yaml.safe_load((mine / "params.yaml").read_text()) == yaml.safe_load(
        (ROOT / "params.yaml").read_text()
    )
    monkeypatch.chdir(mine)
    assert cids(prepare()) == checkout

    # A project already there is never written over.
    before = (mine / "params.yaml").read_bytes()
    again = runner.invoke(app, ["data", "init", str(mine)])
    assert isinstance(again.exception, ToolchainError)  # the CLI prints it as `error: …`
    assert "already has dvc.yaml, params.yaml" in str(again.exception)
    assert (mine / "params.yaml").read_bytes() == before

    # Inside a larger git repo, the project is a DVC subdir of it.
    nested = runner.invoke(app, ["data", "init", str(mine / "another")], catch_exceptions=False)
    assert nested.exit_code == 0, nested.output
    assert "git init" not in nested.output and (mine / "another" / ".dvc").is_dir()
