"""Test-split encryption: round trip, determinism, and clean failures on a wrong key or bit."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from deml.dataset import crypto
from deml.dataset.crypto import KeyStore
from deml.exceptions import DecryptionError, DemlError, KeyFormatError

PLAINTEXT = b"the hidden test split" * 100


def test_round_trip() -> None:
    key = crypto.new_key()
    assert crypto.decrypt(crypto.encrypt(PLAINTEXT, key), key) == PLAINTEXT


def test_same_key_and_plaintext_give_the_same_bytes() -> None:
    """What makes `dvc repro` reproduce the same CIDs."""
    key = crypto.new_key()
    assert crypto.encrypt(PLAINTEXT, key) == crypto.encrypt(PLAINTEXT, key)


def test_nonce_differs_for_other_plaintexts_and_other_keys() -> None:
    key = crypto.new_key()
    nonces = {
        crypto.derive_nonce(key, PLAINTEXT),
        crypto.derive_nonce(key, PLAINTEXT + b"."),
        crypto.derive_nonce(crypto.new_key(), PLAINTEXT),
    }
    assert len(nonces) == 3


def test_wrong_key_fails_cleanly() -> None:
    blob = crypto.encrypt(PLAINTEXT, crypto.new_key())
    with pytest.raises(DecryptionError, match="key is wrong or the file was changed"):
        crypto.decrypt(blob, crypto.new_key())


@pytest.mark.parametrize("where", ["magic", "nonce", "ciphertext", "tag"])
def test_one_flipped_bit_anywhere_fails_cleanly(where: str) -> None:
    key = crypto.new_key()
    blob = bytearray(crypto.encrypt(PLAINTEXT, key))
    at = {"magic": 3, "nonce": 10, "ciphertext": 100, "tag": len(blob) - 1}[where]
    blob[at] ^= 0x01
    with pytest.raises(DecryptionError) as caught:
        crypto.decrypt(bytes(blob), key)
    assert isinstance(caught.value, DemlError) and isinstance(caught.value, ValueError)


def test_truncated_or_foreign_files_fail_cleanly() -> None:
    key = crypto.new_key()
    with pytest.raises(DecryptionError, match="bad header"):
        crypto.decrypt(crypto.MAGIC + b"short", key)
    with pytest.raises(DecryptionError, match="bad header"):
        crypto.decrypt(b"PK\x03\x04" + b"\0" * 64, key)


@pytest.mark.parametrize("text", ["", "abc", "zz" * 32, "00" * 31, "00" * 33])
def test_malformed_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyFormatError):
        crypto.parse_key(text)


def test_parse_key_accepts_hex_with_or_without_0x() -> None:
    key = crypto.new_key()
    assert crypto.parse_key(key.hex()) == crypto.parse_key("0x" + key.hex().upper()) == key


def test_keystore_keeps_one_private_key_per_version(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path)
    first = keys.load_or_create("digits", "v1")
    assert keys.load_or_create("digits", "v1") == first
    assert keys.load_or_create("digits", "v2") != first
    path = keys.path("digits", "v1")
    assert path == tmp_path / "keys" / "digits-v1.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.dir.stat().st_mode) == 0o700
    assert [p.name for p in keys.dir.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_a_missing_key_is_a_deml_error_that_says_where_keys_come_from(tmp_path: Path) -> None:
    with pytest.raises(crypto.KeyMissing, match="deml data prepare") as caught:
        KeyStore(tmp_path).load("digits", "v9")
    assert isinstance(caught.value, DemlError) and isinstance(caught.value, FileNotFoundError)
