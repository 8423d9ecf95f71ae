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


def read_npz(
    data: bytes | Path, where: str = "", shape: tuple[int, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """X (float32) and y (int64) from a DeML .npz, loaded with allow_pickle=False.

    `shape`, when given, is the X the file must hold (rows, then one sample's shape): a file
    declaring anything else is refused before an array is allocated.

    A DeML .npz stores its arrays uncompressed (`npz_bytes`), so loading it takes no more
    memory than its size. Anything else is refused before an array is allocated: compressed
    members (a 262 KB test split deflated from 268 MB of zeros unpacked in the miner's own
    process) and headers that declare more data than their member holds (numpy allocates
    the declared shape first).
    """
    where = where or str(data if isinstance(data, Path) else "the .npz data")
    source = data if isinstance(data, Path) else io.BytesIO(data)
    try:
        _check_members(source, where, shape)
        if isinstance(source, io.BytesIO):
            source.seek(0)
        with np.load(source, allow_pickle=False) as npz:
            if sorted(npz.files) != ["X", "y"]:
                raise DatasetError(f"{where}: expected arrays X and y, found {npz.files}")
            X, y = npz["X"], npz["y"]
    except DatasetError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{where} is not a DeML .npz file: {exc}") from None
    if X.dtype != np.float32 or y.dtype != np.int64 or len(X) != len(y) or y.ndim != 1:
        raise DatasetError(
            f"{where}: expected X float32 and y int64 with one label per row;"
            f" got X {X.dtype}{X.shape}, y {y.dtype}{y.shape}"
        )
    return X, y


def _check_members(source: Path | io.BytesIO, where: str, expected: tuple[int, ...] | None) -> None:
    """Every member stored as is, its array no larger than the bytes it holds, and (when
    `expected` is given) X of that shape and one label per row."""
    with zipfile.ZipFile(source) as zf:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise DatasetError(
                    f"{where}: {info.filename} is compressed ({info.file_size:,} bytes from"
                    f" {info.compress_size:,}); a DeML .npz stores its arrays as they are"
                )
            with zf.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            if expected is not None:
                wanted = {"X.npy": expected, "y.npy": expected[:1]}.get(info.filename)
                if wanted is not None and tuple(shape) != wanted:
                    raise DatasetError(
                        f"{where}: {info.filename[0]} has {_rows(shape)}; the competition"
                        f" declares {_rows(wanted)}"
                    )
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > info.file_size:
                raise DatasetError(
                    f"{where}: {info.filename} declares {declared:,} bytes of data in a member"
                    f" of {info.file_size:,}"
                )


def _rows(shape: tuple[int, ...]) -> str:
    rows = f"{shape[0] if shape else 0} rows"
    return rows + (f" of {tuple(shape[1:])}" if len(shape) > 1 else "")
