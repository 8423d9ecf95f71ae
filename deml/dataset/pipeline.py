"""The dataset pipeline behind dvc.yaml: `prepare` (load, validate, split) and `package`.

    python -m deml.dataset prepare --params params.yaml --out data/prepared
    python -m deml.dataset package --params params.yaml --prepared data/prepared --out data/package

`prepare` reads the source named in params.yaml (scikit-learn's digits, a CSV with a label
column, or an .npz holding X and y), checks it, and writes a seeded, stratified split as
`train.npz` and `test.npz` (X float32, y int64). `package` writes the public training split,
the test split encrypted under the host's key (`deml.dataset.crypto`), and a JSON manifest naming
each file's sha256 and CID. Every file is written byte-for-byte reproducibly, into a
temporary folder that replaces the output only once complete.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from deml._fs import replacing_dir
from deml.dataset import crypto
from deml.dataset.npz import npz_bytes, read_npz
from deml.exceptions import DatasetError, DemlError
from deml.storage import unixfs

SCHEMA_VERSION = 1
TRAIN_FILE, TEST_FILE = "train.npz", "test.npz"
ENCRYPTED_TEST_FILE = "test.npz.enc"
MANIFEST_FILE = "manifest.json"
DIGITS = "sklearn:digits"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class DatasetParams(BaseModel):
    """The `dataset:` section of params.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="dataset name, used in file and key names")
    task: Literal["classification"] = "classification"
    source: str = Field(DIGITS, description="sklearn:digits, or a path to a .csv or .npz")
    label_column: str = Field("label", description="CSV only: the column holding class ids")
    num_classes: int | None = Field(None, ge=2, description="default: the largest label + 1")
    test_size: float = Field(0.25, gt=0, lt=1, description="fraction of rows in the test split")
    seed: int = Field(0, ge=0, description="seed of the split")

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", value):
            raise ValueError("use 1-64 lowercase letters, digits, '.', '_' or '-'")
        return value


def load_params(path: Path) -> DatasetParams:
    """The `dataset:` section of a params.yaml, checked."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), dict):
        raise DatasetError(f"{path} has no `dataset:` section")
    try:
        return DatasetParams(**raw["dataset"])
    except ValidationError as exc:
        problems = "; ".join(
            f"dataset.{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise DatasetError(f"{path}: {problems}") from None


# -- loading ---------------------------------------------------------------------------------


def load_source(params: DatasetParams) -> tuple[np.ndarray, np.ndarray]:
    """X and y from the configured source, checked and converted (float32, int64)."""
    if params.source == DIGITS:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return validate(X, y, DIGITS, params.num_classes)
    path = Path(params.source)
    if not path.is_file():
        raise DatasetError(f"source {path} does not exist (params.yaml dataset.source)")
    if path.suffix.lower() == ".csv":
        X, y = _read_csv(path, params.label_column)
    elif path.suffix.lower() == ".npz":
        X, y = _read_npz(path)
    else:
        raise DatasetError(f"source {path}: use {DIGITS}, a .csv or an .npz file")
    return validate(X, y, str(path), params.num_classes)


def _read_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise DatasetError(f"{path} is empty")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if label_column not in header:
        raise DatasetError(
            f"{path}: label column {label_column!r} is not in the header"
            f" ({', '.join(header[:8])}{', ...' if len(header) > 8 else ''});"
            " set dataset.label_column in params.yaml"
        )
    if len(header) < 2:
        raise DatasetError(f"{path}: no feature columns besides {label_column!r}")
    if not body:
        raise DatasetError(f"{path}: no rows below the header")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{path} line {line}: {len(row)} values, but the header has {len(header)} columns"
            )
    try:
        values = np.array(body, dtype=str).reshape(len(body), len(header)).astype(np.float64)
    except ValueError:
        _raise_first_non_number(path, header, body)
        raise  # not reached: the scan above always finds the bad value
    label_at = header.index(label_column)
    _check_finite(values, lambda r, c: f"{path} line {r + 2}, column {header[c]!r}")
    features = np.delete(values, label_at, axis=1)
    return features, values[:, label_at]


def _raise_first_non_number(path: Path, header: list[str], body: list[list[str]]) -> None:
    for line, row in enumerate(body, start=2):
        for column, value in zip(header, row, strict=True):
            try:
                float(value)
            except ValueError:
                shown = repr(value) if value.strip() else "an empty value"
                raise DatasetError(
                    f"{path} line {line}, column {column!r}: {shown} is not a number"
                ) from None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"X", "y"} - set(npz.files)
            if missing:
                raise DatasetError(
                    f"{path} lacks array {', '.join(sorted(missing))}; it holds {npz.files}"
                )
            return npz["X"], npz["y"]
    except ValueError as exc:  # object arrays need pickle, which is never allowed
        raise DatasetError(f"{path}: {exc}; save plain numeric arrays") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path} is not a readable .npz file: {exc}") from None


# -- validation ------------------------------------------------------------------------------


def validate(
    X: np.ndarray, y: np.ndarray, where: str, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """X as float32 and y as int64 class ids, or a DatasetError naming the first problem."""
    X, y = np.asarray(X), np.asarray(y)
    for name, arr in (("X", X), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise DatasetError(f"{where}: {name} holds {arr.dtype} values, not numbers")
    if X.ndim < 2:
        raise DatasetError(
            f"{where}: X must have a row axis and feature axes; its shape is {X.shape}"
        )
    if y.ndim != 1:
        raise DatasetError(f"{where}: y must be one label per row; its shape is {y.shape}")
    if len(X) != len(y):
        raise DatasetError(
            f"{where}: X has {len(X)} rows but y has {len(y)} (mismatched row count)"
        )
    if len(X) == 0:
        raise DatasetError(f"{where}: no rows")
    _check_finite(X, lambda r, c: f"{where}: X row {r}, feature {c}")
    _check_finite(y, lambda r, _c: f"{where}: y row {r}")
    big = np.argwhere(np.abs(X) > _FLOAT32_MAX)
    if len(big):
        raise DatasetError(
            f"{where}: X row {big[0][0]}: {X[tuple(big[0])]} does not fit in float32"
        )
    labels = _class_ids(y, where, num_classes)
    return np.ascontiguousarray(X, dtype=np.float32), labels


def _check_finite(values: np.ndarray, place: Callable[[int, int], str]) -> None:
    if values.dtype.kind != "f" or values.size == 0:
        return
    bad = np.argwhere(~np.isfinite(values.reshape(len(values), -1)))
    if len(bad):
        row, column = int(bad[0][0]), int(bad[0][1])
        value = values.reshape(len(values), -1)[row, column]
        raise DatasetError(f"{place(row, column)}: {value} (NaN and infinity are not allowed)")


def _class_ids(y: np.ndarray, where: str, num_classes: int | None) -> np.ndarray:
    rounded = np.round(y)
    bad = np.flatnonzero((rounded != y) | (y < 0))
    if len(bad):
        raise DatasetError(
            f"{where}: y row {bad[0]} is {y[bad[0]]}; labels must be class ids 0, 1, 2, ..."
        )
    labels = rounded.astype(np.int64)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise DatasetError(f"{where}: every label is {classes[0]}; a classifier needs 2 classes")
    if num_classes is not None and classes[-1] >= num_classes:
        row = int(np.flatnonzero(labels >= num_classes)[0])
        raise DatasetError(
            f"{where}: y row {row} is {labels[row]}, out of range for num_classes {num_classes}"
            " (labels are 0..num_classes-1)"
        )
    return labels


# -- splitting -------------------------------------------------------------------------------


def split(
    X: np.ndarray, y: np.ndarray, params: DatasetParams
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A seeded split that keeps each class's share in both halves: (train, test)."""
    from sklearn.model_selection import train_test_split

    k = params.num_classes or int(y.max()) + 1
    counts = np.bincount(y, minlength=k)
    if counts.min() < 2:
        cls = int(counts.argmin())
        raise DatasetError(
            f"class {cls} has {counts[cls]} rows; a stratified split needs 2 or more of each"
            f" class 0..{k - 1} (set dataset.num_classes if some classes are not ids)"
        )
    n_test = int(np.ceil(params.test_size * len(y)))
    n_train = len(y) - n_test
    for part, n in (("test", n_test), ("train", n_train)):
        if n < k:
            what = "empty" if n == 0 else f"{n} rows"
            raise DatasetError(
                f"the {part} split would be {what}, fewer than the {k} classes; change"
                f" dataset.test_size ({params.test_size}) or add rows ({len(y)} now)"
            )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=n_test, random_state=params.seed, stratify=y
    )
    return (X_train, y_train), (X_test, y_test)


# -- files -----------------------------------------------------------------------------------


def dvc_md5(folder: Path) -> str:
    """The md5 DVC records for `folder` in dvc.lock (its `.dir` hash), without `.dir`."""
    entries = [
        {
            "md5": hashlib.md5(p.read_bytes()).hexdigest(),
            "relpath": p.relative_to(folder).as_posix(),
        }
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    entries.sort(key=lambda e: e["relpath"])
    # dvc-data's Tree.as_bytes(): a JSON list of {md5, relpath} with sorted keys.
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest()


# -- the two stages --------------------------------------------------------------------------


def prepare(params: DatasetParams, out: Path) -> dict[str, int]:
    """Load, check and split the source into out/train.npz and out/test.npz; return counts."""
    X, y = load_source(params)
    (X_train, y_train), (X_test, y_test) = split(X, y, params)
    with replacing_dir(out) as tmp:
        (tmp / TRAIN_FILE).write_bytes(npz_bytes(X_train, y_train))
        (tmp / TEST_FILE).write_bytes(npz_bytes(X_test, y_test))
    return {"train": len(y_train), "test": len(y_test)}


def package(params: DatasetParams, prepared: Path, out: Path, keys: crypto.KeyStore) -> dict:
    """Write train.npz, the encrypted test split and manifest.json to `out`; return the manifest.

    The key is the one already kept for this dataset version, or a fresh one: the version is
    the hash of the prepared data, so the same data always gets the same key and, with the
    derived nonce of `deml.dataset.crypto`, the same ciphertext and CIDs.
    """
    train_path, test_path = Path(prepared) / TRAIN_FILE, Path(prepared) / TEST_FILE
    for path in (train_path, test_path):
        if not path.is_file():
            raise DatasetError(f"{path} is missing; run the prepare stage first (`dvc repro`)")
    train, test = train_path.read_bytes(), test_path.read_bytes()
    X_train, y_train = read_npz(train, str(train_path))
    X_test, y_test = read_npz(test, str(test_path))
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DatasetError(f"train rows are {X_train.shape[1:]} but test rows {X_test.shape[1:]}")
    version = dvc_md5(Path(prepared))
    key = keys.load_or_create(params.name, version)
    sealed = crypto.encrypt(test, key)
    num_classes = params.num_classes or int(max(y_train.max(), y_test.max())) + 1
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "name": params.name,
        "task": params.task,
        "version": version,
        "input_shape": list(X_train.shape[1:]),
        "dtypes": {"X": "float32", "y": "int64"},
        "classes": list(range(num_classes)),
        "counts": {"train": len(y_train), "test": len(y_test)},
        "cid_profile": unixfs.UNIXFS_V1_2025.name,
        "files": {
            "train": _file_entry(TRAIN_FILE, train),
            "test": {**_file_entry(ENCRYPTED_TEST_FILE, sealed), "encryption": crypto.FORMAT},
        },
    }
    with replacing_dir(out) as tmp:
        (tmp / TRAIN_FILE).write_bytes(train)
        (tmp / ENCRYPTED_TEST_FILE).write_bytes(sealed)
        (tmp / MANIFEST_FILE).write_text(manifest_text(manifest))
    return manifest


def manifest_text(manifest: dict) -> str:
    """The manifest as written: stable key order, two-space indent, final newline."""
    return json.dumps(manifest, indent=2) + "\n"


def _file_entry(name: str, data: bytes) -> dict[str, Any]:
    return {
        "path": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "cid": str(unixfs.file_cid(data)),
    }


# -- entry point (the dvc.yaml stages) -------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one pipeline stage; errors print as one line and exit 1 (DVC shows the line)."""
    parser = argparse.ArgumentParser(prog="python -m deml.dataset", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)
    p_prepare = sub.add_parser("prepare", help="load, check and split the source")
    p_package = sub.add_parser("package", help="encrypt the test split and write the manifest")
    for p in (p_prepare, p_package):
        p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p_prepare.add_argument("--out", type=Path, default=Path("data/prepared"))
    p_package.add_argument("--prepared", type=Path, default=Path("data/prepared"))
    p_package.add_argument("--out", type=Path, default=Path("data/package"))
    p_package.add_argument("--state-dir", type=Path, help="default: the state_dir setting")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        if args.stage == "prepare":
            counts = prepare(params, args.out)
            print(f"prepared {params.name}: {counts['train']} train, {counts['test']} test rows")
        else:
            state_dir = args.state_dir or _settings_state_dir()
            manifest = package(params, args.prepared, args.out, crypto.KeyStore(state_dir))
            print(f"packaged {params.name} version {manifest['version']} into {args.out}")
    except DemlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _settings_state_dir() -> Path:
    from deml.settings import load_settings

    return load_settings().state_dir
