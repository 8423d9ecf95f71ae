"""The hashes the contracts check, computed byte for byte as they compute them."""

from __future__ import annotations

import secrets

from eth_abi import encode
from eth_utils import keccak


def new_salt() -> bytes:
    """32 random bytes for a commitment."""
    return secrets.token_bytes(32)


def model_commitment(model: bytes, salt: bytes, sender: str, competition: str) -> bytes:
    """keccak256(abi.encode(keccak256(model), salt, sender, competition)): a calldata reveal's."""
    return commitment_to(keccak(model), salt, sender, competition)


def blob_model_hash(size: int, versioned_hashes: list[bytes]) -> bytes:
    """keccak256(abi.encode(size, versionedHashes)): what a blob reveal's commitment binds
    (the versioned hashes name the blobs' content, the size the payload within them)."""
    return keccak(encode(["uint256", "bytes32[]"], [size, versioned_hashes]))


def commitment_to(model_hash: bytes, salt: bytes, sender: str, competition: str) -> bytes:
    """keccak256(abi.encode(modelHash, salt, sender, competition))."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "address", "address"], [model_hash, salt, sender, competition]
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
