"""The `deml ipfs` and `deml data` commands, through a Typer app that mounts them as deml does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from deml.cli.data import data_app, ipfs_app
from deml.dataset import crypto, pipeline
from deml.storage import unixfs
from deml.storage.local import LocalStore
from tests.helpers import kubo_standin

app = typer.Typer()
app.add_typer(data_app, name="data")
app.add_typer(ipfs_app, name="ipfs")
runner = CliRunner()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("DEML_IPFS_BACKEND", raising=False)
    return tmp_path / "state"


def deml(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_ipfs_add_cat_export_import(state: Path, tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"hello world")
    cid = deml("ipfs", "add", str(file)).strip()
    assert cid == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    assert LocalStore(state / "ipfs").has(cid)
    assert runner.invoke(app, ["ipfs", "cat", cid]).stdout_bytes == b"hello world"
    deml("ipfs", "export", cid, "-o", str(tmp_path / "f.car"))
    (state / "ipfs").rename(tmp_path / "old-store")
    assert deml("ipfs", "import", str(tmp_path / "f.car")).strip() == cid
    deml("ipfs", "pin", cid)
    assert [str(c) for c in LocalStore(state / "ipfs").pins()] == [cid]


def test_ipfs_add_only_hash_stores_nothing(state: Path, tmp_path: Path) -> None:
    file = tmp_path / "f.bin"
    file.write_bytes(b"x" * 3_000_000)
    assert deml("ipfs", "add", "--only-hash", str(file)).strip() == str(
        unixfs.file_cid(b"x" * 3_000_000)
    )
    assert not (state / "ipfs").exists()


def test_ipfs_cat_refuses_tampered_content(state: Path, tmp_path: Path) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"genuine")
    cid = deml("ipfs", "add", str(file)).strip()
    LocalStore(state / "ipfs").block_path(cid).write_bytes(b"forged!")
    result = runner.invoke(app, ["ipfs", "cat", cid])
    assert result.exit_code != 0 and isinstance(result.exception, unixfs.IntegrityError)


def test_ipfs_add_through_kubo(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "f.txt"
    file.write_bytes(b"to kubo")
    with kubo_standin.running() as node:
        monkeypatch.setenv("DEML_IPFS_BACKEND", "kubo")
        monkeypatch.setenv("DEML_IPFS_API_URL", node.url)
        cid = deml("ipfs", "add", str(file)).strip()
        assert unixfs.parse_cid(cid) in node.pins
        assert runner.invoke(app, ["ipfs", "cat", cid]).stdout_bytes == b"to kubo"


def test_data_publish_fetch_key_decrypt(state: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(40, 5)), y=np.arange(40) % 2)
    p = pipeline.DatasetParams(name="toy", source=str(tmp_path / "d.npz"))
    pipeline.prepare(p, tmp_path / "prepared")
    pipeline.package(p, tmp_path / "prepared", tmp_path / "package", crypto.KeyStore(state))

    published = deml("data", "publish", "--package", str(tmp_path / "package"))
    manifest_cid = published.strip().splitlines()[-1].split()[-1]
    assert manifest_cid.startswith("bafkrei")

    fetched = tmp_path / "fetched"
    assert "verified" in deml("data", "fetch", manifest_cid, "-o", str(fetched))
    manifest = json.loads((fetched / "manifest.json").read_text())
    assert manifest == json.loads((tmp_path / "package" / "manifest.json").read_text())

    key = deml("data", "key", "--package", str(tmp_path / "package")).strip()
    out = tmp_path / "test.npz"
    said = deml("data", "decrypt", str(fetched / "test.npz.enc"), "--key", key, "-o", str(out))
    assert "decrypted 10 rows of shape [5]" in said
    assert out.read_bytes() == (tmp_path / "prepared" / "test.npz").read_bytes()

    wrong = runner.invoke(
        app, ["data", "decrypt", str(fetched / "test.npz.enc"), "--key", "00" * 32, "-o", "x"]
    )
    assert isinstance(wrong.exception, crypto.DecryptionError)
