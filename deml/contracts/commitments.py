"""The hashes the contracts check, computed byte for byte as they compute them."""

from __future__ import annotations

import secrets

from eth_abi import encode
from eth_utils import keccak


def new_salt() -> bytes:
    """32 random bytes for a commitment."""
    return secrets.token_bytes(32)


def model_commitment(model: bytes, salt: bytes, sender: str, competition: str) -> bytes:
    """keccak256(abi.encode(keccak256(model), salt, sender, competition))."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "address", "address"], [keccak(model), salt, sender, competition]
        )
    )


def vote_commitment(vote: bytes, salt: bytes, juror: str, competition: str) -> bytes:
    """keccak256(abi.encode(vote, salt, juror, competition)): one hash, whatever the vector."""
    return keccak(
        encode(["bytes32", "bytes32", "address", "address"], [vote, salt, juror, competition])
    )


def hash_test_key(key: bytes) -> bytes:
    """keccak256 of the 32-byte test-split key, as fixed at creation."""
    if len(key) != 32:
        raise ValueError(f"a test key is 32 bytes, got {len(key)}")
    return keccak(key)
