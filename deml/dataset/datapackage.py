"""A packaged dataset in content storage: publish it, fetch it verified, decrypt its test split.

The manifest (written by `deml.dataset.datapackage`) names each file with its size, sha256 and CID.
Publishing stores the files and the manifest; the manifest's CID is the one handle anyone needs.
Fetching checks every file three ways: against its CID, its size and its sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from multiformats import CID

from deml._fs import write_atomic
from deml.contracts.sample_tree import samples_root
from deml.dataset import crypto, pipeline
from deml.exceptions import InvalidCid, ManifestError, ToolchainError
from deml.storage.base import Storage
from deml.storage.unixfs import parse_cid

MAX_MANIFEST_SIZE = 1024 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


PACKAGE_DIR = Path("data") / "package"


def prepare(project: Path, state_dir: Path, *, force: bool = False) -> dict[str, Any]:
    """Run the DVC pipeline (prepare, then package) in `project`; return the new manifest."""
    if not (project / "dvc.yaml").is_file():
        raise ToolchainError(f"no dvc.yaml in {project}; run from the project root")
    env = dict(os.environ)
    # The stages call `python`: make it this interpreter, with DeML installed.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DEML_STATE_DIR", str(Path(state_dir).resolve()))
    _repro(project, env, ["--force"] if force else [])
    package = project / PACKAGE_DIR
    manifest = check_manifest((package / pipeline.MANIFEST_FILE).read_bytes(), str(package))
    if not crypto.KeyStore(state_dir).path(manifest["name"], manifest["version"]).is_file():
        # The package was built with another state dir's key, which this host cannot reveal:
        # encrypt it again under a key of its own (new ciphertext, new CIDs).
        _repro(project, env, ["--force", "--single-item", "package"])
        manifest = check_manifest((package / pipeline.MANIFEST_FILE).read_bytes(), str(package))
    return manifest


def _repro(project: Path, env: dict[str, str], flags: list[str]) -> None:
    cmd = [sys.executable, "-m", "dvc", "repro", *flags]
    if subprocess.run(cmd, env=env, cwd=project, check=False).returncode != 0:
        raise ToolchainError("`dvc repro` failed; its output above names the problem")


def publish(package_dir: Path, storage: Storage) -> dict[str, CID]:
    """Store and pin every file of the package and its manifest; return the CIDs by file role."""
    package_dir = Path(package_dir)
    manifest_path = package_dir / pipeline.MANIFEST_FILE
    if not manifest_path.is_file():
        raise ManifestError(f"{manifest_path} is missing; run `deml data prepare` first")
    manifest = check_manifest(manifest_path.read_bytes(), str(manifest_path))
    cids: dict[str, CID] = {}
    for role, entry in manifest["files"].items():
        if not (package_dir / entry["path"]).is_file():
            raise ManifestError(f"{package_dir / entry['path']} is missing from the package")
        cid = storage.put_file(package_dir / entry["path"])
        if str(cid) != entry["cid"]:
            raise ManifestError(
                f"{entry['path']} has CID {cid} but the manifest says {entry['cid']};"
                " the package changed after it was built: run `deml data prepare` again"
            )
        storage.pin(cid)
        cids[role] = cid
    cids["manifest"] = storage.put_file(manifest_path)
    storage.pin(cids["manifest"])
    return cids


def fetch(manifest_cid: CID | str, storage: Storage, dest: Path) -> dict[str, Any]:
    """Download the manifest and every file it names into `dest`, each one verified."""
    raw = storage.get(manifest_cid, max_size=MAX_MANIFEST_SIZE)
    manifest = check_manifest(raw, f"manifest {manifest_cid}")
    dest = Path(dest)
    for entry in manifest["files"].values():
        target = dest / entry["path"]
        storage.get_to_file(entry["cid"], target, max_size=entry["size"])
        data = target.read_bytes()
        if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            target.unlink()
            raise ManifestError(f"{entry['path']} does not match the size and sha256 declared")
    write_atomic(dest / pipeline.MANIFEST_FILE, iter([raw]))
    return manifest


def decrypt_test(encrypted: Path, key_hex: str, out: Path) -> tuple[int, tuple[int, ...]]:
    """Decrypt a test split with the revealed key into `out`; return its rows and row shape."""
    key = crypto.parse_key(key_hex)
    plain = crypto.decrypt(Path(encrypted).read_bytes(), key)
    X, _y = pipeline.read_npz(plain, f"the decrypted {encrypted}")
    write_atomic(Path(out), iter([plain]))
    return len(X), tuple(X.shape[1:])


def published_samples_root(manifest: dict[str, Any], storage: Storage, key: bytes) -> bytes:
    """The samples root of a published test split: the split as the miners will get it (from
    content storage, by its CID, decrypted with `key`), so that the root the host commits is
    the one their copy gives."""
    entry = manifest["files"]["test"]
    plain = crypto.decrypt(storage.get(entry["cid"], max_size=entry["size"]), key)
    x, y = pipeline.read_npz(plain, f"the test split {entry['cid']}")
    return samples_root(x, y)


def check_manifest(raw: bytes, where: str) -> dict[str, Any]:
    """The manifest parsed and checked: the fields DeML relies on, with safe file names."""
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{where} is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("schema_version") != pipeline.SCHEMA_VERSION:
        got = manifest.get("schema_version") if isinstance(manifest, dict) else None
        raise ManifestError(
            f"{where}: schema_version {got!r}, this DeML reads {pipeline.SCHEMA_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {"train", "test"}:
        raise ManifestError(f"{where}: `files` must name exactly `train` and `test`")
    for role, entry in files.items():
        _check_entry(entry, f"{where} files.{role}")
    if files["train"]["path"] == files["test"]["path"]:
        raise ManifestError(f"{where}: train and test have the same file name")
    return manifest


def _check_entry(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where} is not an object")
    path, size, sha = entry.get("path"), entry.get("size"), entry.get("sha256")
    # The name becomes a file name on the fetcher's disk: no folders, no dot files.
    unsafe = not isinstance(path, str) or not _SAFE_NAME.fullmatch(path)
    if unsafe or path == pipeline.MANIFEST_FILE:
        raise ManifestError(f"{where}: unsafe or missing file name {path!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where}: size must be a whole number of bytes")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise ManifestError(f"{where}: sha256 must be 64 lowercase hex digits")
    try:
        parse_cid(entry.get("cid", ""))
    except (InvalidCid, TypeError, AttributeError):
        raise ManifestError(f"{where}: cid {entry.get('cid')!r} is not a CID") from None
