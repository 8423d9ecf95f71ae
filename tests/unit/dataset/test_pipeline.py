"""The dataset stages: bad data is named and located, outputs are whole and reproducible."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from deml.dataset import crypto, datapackage, pipeline
from deml.dataset.pipeline import DatasetParams
from deml.exceptions import DatasetError
from deml.storage import unixfs
from deml.storage.local import LocalStore


def params(**changes: object) -> DatasetParams:
    return DatasetParams(**{"name": "toy", "test_size": 0.25, "seed": 1, **changes})


def toy(n: int = 40, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), np.arange(n) % classes


def write_csv(path: Path, text: str) -> DatasetParams:
    path.write_text(text)
    return params(source=str(path))


def write_npz(path: Path, **arrays: np.ndarray) -> DatasetParams:
    np.savez(path, **arrays)
    return params(source=str(path))


# -- bad data: named and located -------------------------------------------------------------

CSV_HEAD = "a,b,label\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,2,0\n3,nan,1\n", "line 3, column 'b': nan (NaN and infinity"),
        ("1,2,0\n3,abc,1\n", "line 3, column 'b': 'abc' is not a number"),
        ("1,2,0\n3,,1\n", "line 3, column 'b': an empty value is not a number"),
        ("1,2,0\n3,4,cat\n", "line 3, column 'label': 'cat' is not a number"),
        ("1,2,0\n3,4\n", "line 3: 2 values, but the header has 3 columns"),
        ("1,2,0\n3,4,0\n", "every label is 0"),
        ("1,2,0\n3,4,1.5\n", "y row 1 is 1.5; labels must be class ids"),
        ("1,2,0\n3,4,-1\n", "y row 1 is -1.0; labels must be class ids"),
        ("", "no rows"),
    ],
)
def test_bad_csv_is_named_and_located(tmp_path: Path, body: str, message: str) -> None:
    p = write_csv(tmp_path / "d.csv", CSV_HEAD + body)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(".", r"\.")):
        pipeline.load_source(p)


def test_missing_label_column_names_the_setting(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "d.csv", "a,b,target\n1,2,0\n")
    with pytest.raises(DatasetError, match="label column 'label' is not in the header"):
        pipeline.load_source(p)


def test_labels_out_of_range(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "d.csv", CSV_HEAD + "1,2,0\n3,4,1\n5,6,7\n")
    with pytest.raises(DatasetError, match="y row 2 is 7, out of range for num_classes 3"):
        pipeline.load_source(p.model_copy(update={"num_classes": 3}))


def test_npz_row_count_mismatch(tmp_path: Path) -> None:
    X, y = toy()
    p = write_npz(tmp_path / "d.npz", X=X, y=y[:-1])
    with pytest.raises(DatasetError, match="X has 40 rows but y has 39"):
        pipeline.load_source(p)


def test_npz_nan_is_located(tmp_path: Path) -> None:
    X, y = toy()
    X[7, 2] = np.nan
    p = write_npz(tmp_path / "d.npz", X=X, y=y)
    with pytest.raises(DatasetError, match="X row 7, feature 2: nan"):
        pipeline.load_source(p)


def test_npz_with_objects_is_refused_without_unpickling(tmp_path: Path) -> None:
    X, _ = toy()
    p = write_npz(tmp_path / "d.npz", X=X, y=np.array(["a"] * 40, dtype=object))
    with pytest.raises(DatasetError, match="plain numeric arrays"):
        pipeline.load_source(p)


def test_npz_without_y(tmp_path: Path) -> None:
    X, _ = toy()
    with pytest.raises(DatasetError, match="lacks array y"):
        pipeline.load_source(write_npz(tmp_path / "d.npz", X=X))


def test_values_too_big_for_float32(tmp_path: Path) -> None:
    X, y = toy()
    X[2, 0] = 1e40
    with pytest.raises(DatasetError, match="X row 2: 1e\\+40 does not fit in float32"):
        pipeline.load_source(write_npz(tmp_path / "d.npz", X=X, y=y))


def test_missing_source_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        pipeline.load_source(params(source=str(tmp_path / "nope.csv")))


def test_a_class_too_small_to_stratify() -> None:
    X, y = toy()
    y[y == 2] = 3
    y[0] = 2
    with pytest.raises(DatasetError, match="class 2 has 1 rows"):
        pipeline.split(*pipeline.validate(X, y, "toy"), params())


@pytest.mark.parametrize(
    ("test_size", "message"), [(0.99, "train split would be empty"), (0.05, "test split would be")]
)
def test_a_split_too_small_or_empty(test_size: float, message: str) -> None:
    X, y = toy()
    with pytest.raises(DatasetError, match=message):
        pipeline.split(*pipeline.validate(X, y, "toy"), params(test_size=test_size))


def test_bad_params_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("dataset:\n  name: Bad Name\n  test_size: 1.5\n  colour: red\n")
    with pytest.raises(DatasetError) as caught:
        pipeline.load_params(path)
    text = str(caught.value)
    assert "dataset.name" in text and "dataset.test_size" in text and "dataset.colour" in text


# -- prepare ---------------------------------------------------------------------------------


def test_prepare_digits_is_stratified_typed_and_reproducible(tmp_path: Path) -> None:
    p = params(source=pipeline.DIGITS)
    counts = pipeline.prepare(p, tmp_path / "a")
    pipeline.prepare(p, tmp_path / "b")
    assert counts == {"train": 1347, "test": 450}
    for name in (pipeline.TRAIN_FILE, pipeline.TEST_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    X, y = pipeline.read_npz(tmp_path / "a" / pipeline.TEST_FILE)
    assert X.dtype == np.float32 and y.dtype == np.int64 and X.shape == (450, 64)
    assert abs(np.bincount(y, minlength=10) / 450 - 0.1).max() < 0.01  # digits is balanced
    with np.load(tmp_path / "a" / pipeline.TRAIN_FILE, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X", "y"]


def test_another_seed_gives_another_split(tmp_path: Path) -> None:
    X, y = toy()
    source = write_npz(tmp_path / "d.npz", X=X, y=y)
    pipeline.prepare(source, tmp_path / "a")
    pipeline.prepare(source.model_copy(update={"seed": 2}), tmp_path / "b")
    a, b = (tmp_path / d / pipeline.TEST_FILE for d in "ab")
    assert a.read_bytes() != b.read_bytes()


def test_bad_data_leaves_the_previous_output_untouched(tmp_path: Path) -> None:
    X, y = toy()
    out = tmp_path / "prepared"
    pipeline.prepare(write_npz(tmp_path / "good.npz", X=X, y=y), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    X[5, 0] = np.inf
    with pytest.raises(DatasetError):
        pipeline.prepare(write_npz(tmp_path / "bad.npz", X=X, y=y), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "good.npz", "prepared"]


def test_a_failure_while_writing_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = toy()
    source = write_npz(tmp_path / "d.npz", X=X, y=y)
    calls = []
    real = pipeline.npz_bytes

    def fail_second(X: np.ndarray, y: np.ndarray) -> bytes:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(X, y)

    monkeypatch.setattr(pipeline, "npz_bytes", fail_second)
    with pytest.raises(OSError, match="disk full"):
        pipeline.prepare(source, tmp_path / "prepared")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]


def test_npz_bytes_do_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = toy()
    first = pipeline.npz_bytes(X.astype(np.float32), y)
    monkeypatch.setattr("time.time", lambda: 2_000_000_000.0)
    assert pipeline.npz_bytes(X.astype(np.float32), y) == first


# -- package ---------------------------------------------------------------------------------


@pytest.fixture
def packaged(tmp_path: Path) -> tuple[Path, Path, dict, crypto.KeyStore]:
    X, y = toy()
    p = write_npz(tmp_path / "d.npz", X=X, y=y)
    pipeline.prepare(p, tmp_path / "prepared")
    keys = crypto.KeyStore(tmp_path / "state")
    manifest = pipeline.package(p, tmp_path / "prepared", tmp_path / "package", keys)
    return tmp_path / "prepared", tmp_path / "package", manifest, keys


def test_manifest_describes_the_package(packaged: tuple) -> None:
    prepared, package, manifest, _ = packaged
    assert json.loads((package / pipeline.MANIFEST_FILE).read_text()) == manifest
    assert manifest["schema_version"] == 1 and manifest["name"] == "toy"
    assert manifest["task"] == "classification"
    assert manifest["input_shape"] == [3] and manifest["classes"] == [0, 1, 2, 3]
    assert manifest["counts"] == {"train": 30, "test": 10}
    assert manifest["version"] == pipeline.dvc_md5(prepared)
    for entry in manifest["files"].values():
        data = (package / entry["path"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["cid"] == str(unixfs.file_cid(data))
    assert sorted(p.name for p in package.iterdir()) == [
        "manifest.json",
        "test.npz.enc",
        "train.npz",
    ]


def test_the_test_split_is_encrypted_under_a_key_kept_outside(packaged: tuple) -> None:
    prepared, package, manifest, keys = packaged
    key = keys.load("toy", manifest["version"])
    sealed = (package / pipeline.ENCRYPTED_TEST_FILE).read_bytes()
    assert crypto.decrypt(sealed, key) == (prepared / pipeline.TEST_FILE).read_bytes()
    for path in package.iterdir():  # the key is in no output, in any form
        assert key.hex().encode() not in path.read_bytes() and key not in path.read_bytes()


def test_package_again_gives_the_same_bytes(packaged: tuple, tmp_path: Path) -> None:
    prepared, package, _, keys = packaged
    again = pipeline.package(params(), prepared, tmp_path / "again", keys)
    for entry in again["files"].values():
        assert (tmp_path / "again" / entry["path"]).read_bytes() == (
            package / entry["path"]
        ).read_bytes()


def test_package_without_prepared_data_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="run the prepare stage first"):
        pipeline.package(params(), tmp_path, tmp_path / "out", crypto.KeyStore(tmp_path))


# -- publish, fetch, decrypt -----------------------------------------------------------------


def test_publish_fetch_decrypt_round_trip(packaged: tuple, tmp_path: Path) -> None:
    prepared, package, manifest, keys = packaged
    store = LocalStore(tmp_path / "ipfs")
    cids = datapackage.publish(package, store)
    assert {str(cids[r]) for r in ("train", "test")} == {
        e["cid"] for e in manifest["files"].values()
    }
    assert set(store.pins()) == set(cids.values())
    fetched = tmp_path / "fetched"
    assert datapackage.fetch(cids["manifest"], store, fetched) == manifest
    for name in ("train.npz", "test.npz.enc", "manifest.json"):
        assert (fetched / name).read_bytes() == (package / name).read_bytes()
    key = keys.load("toy", manifest["version"]).hex()
    rows, shape = datapackage.decrypt_test(fetched / "test.npz.enc", key, tmp_path / "test.npz")
    assert (rows, shape) == (10, (3,))
    assert (tmp_path / "test.npz").read_bytes() == (prepared / pipeline.TEST_FILE).read_bytes()


def test_decrypt_with_a_wrong_key_writes_nothing(packaged: tuple, tmp_path: Path) -> None:
    _, package, _, _ = packaged
    with pytest.raises(crypto.DecryptionError):
        datapackage.decrypt_test(
            package / "test.npz.enc", crypto.new_key().hex(), tmp_path / "t.npz"
        )
    assert not (tmp_path / "t.npz").exists()


def test_fetch_refuses_a_file_that_is_not_what_the_manifest_says(
    packaged: tuple, tmp_path: Path
) -> None:
    _, package, manifest, _ = packaged
    store = LocalStore(tmp_path / "ipfs")
    datapackage.publish(package, store)
    manifest["files"]["train"]["sha256"] = "0" * 64
    lying = store.put(pipeline.manifest_text(manifest).encode())
    with pytest.raises(datapackage.ManifestError, match="does not match the size and sha256"):
        datapackage.fetch(lying, store, tmp_path / "fetched")
    assert not (tmp_path / "fetched" / "train.npz").exists()


@pytest.mark.parametrize("name", ["../evil", ".hidden", "a/b", "manifest.json", ""])
def test_manifest_with_an_unsafe_file_name_is_refused(packaged: tuple, name: str) -> None:
    manifest = dict(packaged[2])
    manifest["files"] = {**manifest["files"], "train": {**manifest["files"]["train"], "path": name}}
    with pytest.raises(datapackage.ManifestError, match="unsafe"):
        datapackage.check_manifest(json.dumps(manifest).encode(), "m")


def test_publish_refuses_a_package_changed_after_packaging(packaged: tuple, tmp_path: Path) -> None:
    _, package, _, _ = packaged
    (package / "train.npz").write_bytes(b"edited")
    with pytest.raises(datapackage.ManifestError, match="changed after it was built"):
        datapackage.publish(package, LocalStore(tmp_path / "ipfs"))
