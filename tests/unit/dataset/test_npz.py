"""DeML's .npz reader refuses what would take more memory than the file's size: compressed
members (a zip bomb of a test split) and array headers larger than their data (issue 14)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from deml.dataset.npz import npz_bytes, read_npz
from deml.exceptions import DatasetError


def test_a_deml_npz_round_trips() -> None:
    X, y = np.ones((5, 64), np.float32), np.arange(5, dtype=np.int64)
    got_X, got_y = read_npz(npz_bytes(X, y))
    assert np.array_equal(got_X, X) and np.array_equal(got_y, y)


def test_a_deflated_split_is_refused_unread() -> None:
    """256 MB of zeros deflate to about 250 KB: the miner must not unpack them."""
    buf = io.BytesIO()
    rows = 1_000_000  # X: 1,000,000 x 64 float32 = 256 MB once loaded
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as member:
            header = {"descr": "<f4", "fortran_order": False, "shape": (rows, 64)}
            np.lib.format.write_array_header_1_0(member, header)
            zeros = bytes(1 << 20)
            for _ in range(rows * 64 * 4 // len(zeros)):
                member.write(zeros)
        with zf.open("y.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(rows, np.int64))
    assert len(buf.getvalue()) < 2_000_000
    refused = r"^test.npz: X.npy is compressed \(255,852,672 bytes from"
    with pytest.raises(DatasetError, match=refused):
        read_npz(buf.getvalue(), "test.npz")


def test_a_header_larger_than_its_data_is_refused_before_numpy_allocates_it() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("X.npy", "w") as member:
            header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 64)}
            np.lib.format.write_array_header_1_0(member, header)
            member.write(bytes(64 * 4))  # one row of the trillion declared
        with zf.open("y.npy", "w") as member:
            np.lib.format.write_array(member, np.zeros(1, np.int64))
    with pytest.raises(DatasetError, match="declares 256,000,000,000,000 bytes of data"):
        read_npz(buf.getvalue(), "test.npz")


@pytest.mark.parametrize(
    ("rows", "sample", "refused"),
    [
        (100, (4,), None),
        (101, (4,), r"X has 101 rows of \(4,\); the competition declares 100 rows of \(4,\)"),
        (100, (5,), r"X has 100 rows of \(5,\); the competition declares 100 rows of \(4,\)"),
    ],
)
def test_a_split_of_another_shape_than_declared_is_refused_on_its_headers(
    rows: int, sample: tuple[int, ...], refused: str | None
) -> None:
    # A host's split may be honest .npz and still far larger than the competition declares.
    data = npz_bytes(np.ones((rows, *sample), np.float32), np.zeros(rows, np.int64))
    if refused is None:
        assert read_npz(data, "test.npz", (100, 4))[0].shape == (100, 4)
    else:
        with pytest.raises(DatasetError, match=refused):
            read_npz(data, "test.npz", (100, 4))
