"""DeML's .npz files: X (float32) and y (int64), never pickled, byte-for-byte reproducible."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from deml.exceptions import DatasetError

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def npz_bytes(X: np.ndarray, y: np.ndarray) -> bytes:
    """An .npz of X and y whose bytes depend on the arrays alone (np.savez stamps the time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in (("X", X), ("y", y)):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.create_system = 3  # unix, whatever machine writes it
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
    return buf.getvalue()


def read_npz(data: bytes | Path, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """X (float32) and y (int64) from a DeML .npz, loaded with allow_pickle=False."""
    where = where or str(data if isinstance(data, Path) else "the .npz data")
    source = data if isinstance(data, Path) else io.BytesIO(data)
    try:
        with np.load(source, allow_pickle=False) as npz:
            if sorted(npz.files) != ["X", "y"]:
                raise DatasetError(f"{where}: expected arrays X and y, found {npz.files}")
            X, y = npz["X"], npz["y"]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{where} is not a DeML .npz file: {exc}") from None
    if X.dtype != np.float32 or y.dtype != np.int64 or len(X) != len(y) or y.ndim != 1:
        raise DatasetError(
            f"{where}: expected X float32 and y int64 with one label per row;"
            f" got X {X.dtype}{X.shape}, y {y.dtype}{y.shape}"
        )
    return X, y
