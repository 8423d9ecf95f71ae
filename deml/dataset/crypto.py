"""AES-256-GCM encryption of a dataset's test split, and the host's key store.

File format (`deml-aes256gcm-v1`): the 8-byte magic `DEMLGCM1`, a 12-byte nonce, then the
ciphertext with its 16-byte tag. The magic is the associated data, so the header is
authenticated too.

Why the nonce is derived, and why that is safe
----------------------------------------------
`dvc repro` must give the same package, byte for byte and CID for CID, from the same data.
So encryption is deterministic: the key is made at random once per dataset version and kept
in the state dir (`KeyStore`), and the nonce is `HMAC-SHA256(k_n, SHA-256(plaintext))[:12]`,
where `k_n` is a subkey derived from the key with HKDF (so AES and HMAC never share a key).

GCM breaks when one key encrypts two *different* plaintexts under one nonce: the keystreams
cancel and the authentication key leaks. Here the nonce is a pseudorandom function of the
plaintext under a secret key, so two different plaintexts get the same nonce only with
probability 2^-96 per pair, and the same plaintext always gives the same nonce and hence the
identical ciphertext, which reveals nothing but "same file again". This is the synthetic-IV
construction (as in AES-SIV / RFC 5297). On top, a key belongs to one dataset version, whose
name is the hash of the prepared data, so in practice a key only ever sees one plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from deml.exceptions import DecryptionError, KeyFormatError, KeyMissing

MAGIC = b"DEMLGCM1"
FORMAT = "deml-aes256gcm-v1"
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
_NONCE_INFO = b"deml nonce key v1"


def new_key() -> bytes:
    """A fresh random AES-256 key."""
    return secrets.token_bytes(KEY_SIZE)


def parse_key(text: str) -> bytes:
    """A key from 64 hex digits (an optional 0x prefix allowed)."""
    digits = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        key = b""
    if len(key) != KEY_SIZE:
        raise KeyFormatError(f"a key is {KEY_SIZE * 2} hex digits; got {len(digits)} characters")
    return key


def derive_nonce(key: bytes, plaintext: bytes) -> bytes:
    """The synthetic nonce for `plaintext` under `key` (see the module docstring)."""
    nonce_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NONCE_INFO).derive(key)
    digest = hashlib.sha256(plaintext).digest()
    return hmac.new(nonce_key, digest, hashlib.sha256).digest()[:NONCE_SIZE]


def encrypt(plaintext: bytes, key: bytes) -> bytes:
    """`plaintext` sealed under `key`: the same inputs always give the same bytes."""
    _check_key(key)
    nonce = derive_nonce(key, plaintext)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, MAGIC)


def decrypt(blob: bytes, key: bytes) -> bytes:
    """The plaintext of `blob`; DecryptionError on a wrong key or any changed bit."""
    _check_key(key)
    if len(blob) < len(MAGIC) + NONCE_SIZE + TAG_SIZE or not blob.startswith(MAGIC):
        raise DecryptionError(f"not a DeML encrypted file ({FORMAT}): bad header")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(MAGIC) + NONCE_SIZE :], MAGIC)
    except InvalidTag:
        raise DecryptionError(
            "decryption failed: the key is wrong or the file was changed (authentication failed)"
        ) from None


def _check_key(key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise KeyFormatError(f"an AES-256 key is {KEY_SIZE} bytes, got {len(key)}")


class KeyStore:
    """The host's dataset keys: one per dataset version under `<state_dir>/keys/`, until a
    competition is created on it; then it moves to `keys/competitions/<address>.key`, the
    key of that competition alone. It is revealed on chain, so it must never encrypt another
    competition's test split: the next `deml data prepare` on the same version finds no key,
    makes a fresh one and encrypts the split again (new CIDs)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "keys"

    def path(self, name: str, version: str) -> Path:
        """Where the key of dataset `name` at `version` is kept."""
        return self.dir / f"{name}-{version}.key"

    def load(self, name: str, version: str) -> bytes:
        """The key of `name` at `version`; KeyFormatError if the file is damaged."""
        path = self.path(name, version)
        if not path.is_file():
            raise KeyMissing(
                f"no key for {name} version {version} at {path}; the key is made by"
                " `deml data prepare` on the machine (and state dir) that packaged it"
            )
        return parse_key(path.read_text())

    def competition_path(self, competition: str) -> Path:
        """Where the key of the competition at `competition` is kept once it exists."""
        return self.dir / "competitions" / f"{competition}.key"

    def retire(self, name: str, version: str, competition: str) -> Path:
        """Make the version's key the competition's own (idempotent); return its file."""
        dest = self.competition_path(competition)
        if dest.is_file():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(dest.parent, 0o700)
        os.replace(self.path(name, version), dest)
        return dest

    def load_competition(self, competition: str) -> bytes:
        """The key of a competition this state dir created."""
        path = self.competition_path(competition)
        if not path.is_file():
            raise KeyMissing(f"no key for competition {competition} at {path}")
        return parse_key(path.read_text())

    def backs(self, key: bytes) -> str | None:
        """The competition this key already encrypts the test split of, or None."""
        for path in sorted((self.dir / "competitions").glob("*.key")):
            if parse_key(path.read_text()) == key:
                return path.stem
        return None

    def load_or_create(self, name: str, version: str) -> bytes:
        """The existing key of this version, else a fresh one, saved owner-only (0600)."""
        path = self.path(name, version)
        if path.is_file():
            return self.load(name, version)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        key = new_key()
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        try:
            # link() fails if another process saved a key meanwhile: then use theirs.
            os.link(tmp, path)
        except FileExistsError:
            return self.load(name, version)
        finally:
            tmp.unlink()
        return key
