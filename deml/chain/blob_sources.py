"""Where a revealed model's blobs are fetched from, each answer checked against the versioned
hashes named on chain before it is believed.

- `NodeBlobs`: the execution node's own RPC. anvil keeps every blob (`anvil_getBlobByHash`);
  real execution nodes keep none past the mempool.
- `BeaconBlobs`: a consensus node's beacon API, which keeps blobs for 4,096 epochs (about 18
  days). The beacon block that holds an execution block's blobs is named by the next
  execution block's `parentBeaconBlockRoot` (EIP-4788), so no slot arithmetic is needed. It
  asks `/eth/v1/beacon/blobs/{block_id}?versioned_hashes=…` (Fulu) first, and falls back to
  `/eth/v1/beacon/blob_sidecars/{block_id}` where that is not offered.

- `StoredCopy`: the copy the competitor put in content storage, named by the reveal's CID
  (fetched and checked against the CID by the store), encoded again into blobs: for once the
  blobs have expired, or a miner without a beacon node.

A source that lacks the blobs answers None; one that answers other bytes is caught by
`blobs.verify` (the KZG commitment of each blob must give its versioned hash). Consensus keeps
a block's blobs available for 18 days, so blobs that no source gives are the miner's own
outage (a node or beacon API missing or behind), never the submission's fault: retried, never
scored.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import requests

from deml.chain import blobs
from deml.chain.blobs import BlobMismatch
from deml.chain.client import Chain
from deml.exceptions import DemlError, TransientError

log = logging.getLogger(__name__)
TIMEOUT_S = 30
# A blob is 128 KiB, hex-encoded twice that; a sidecar list holds at most a block's blobs.
_MAX_ANSWER = 2 * (blobs.MAX_BLOBS * 2 + 4) * blobs.BLOB_BYTES


class BlobUnavailable(TransientError):
    """No source gave blobs that match the versioned hashes named on chain (for now)."""


class BlobSource(Protocol):
    name: str

    def fetch(self, versioned_hashes: list[bytes], block_number: int) -> list[bytes] | None:
        """The blobs, in the order of `versioned_hashes` (unchecked), or None if absent."""


class NodeBlobs:
    """The execution node's RPC (anvil's `anvil_getBlobByHash`)."""

    name = "the node's RPC"

    def __init__(self, chain: Chain) -> None:
        self.chain = chain

    def fetch(self, versioned_hashes: list[bytes], block_number: int) -> list[bytes] | None:
        found = []
        for versioned_hash in versioned_hashes:
            try:
                answer = self.chain._rpc("anvil_getBlobByHash", ["0x" + versioned_hash.hex()])
            except Exception as exc:  # a node without the method, or that lost the blob
                log.info("%s has no blob 0x%s: %s", self.name, versioned_hash.hex(), exc)
                return None
            if not isinstance(answer, str):
                return None
            found.append(_hex_bytes(answer))
        return found


class BeaconBlobs:
    """A consensus node's beacon API at `url`."""

    def __init__(self, url: str, chain: Chain, session: requests.Session | None = None) -> None:
        self.url = url.rstrip("/")
        self.chain = chain
        self.session = session or requests.Session()
        self.name = f"the beacon API at {self.url}"

    def fetch(self, versioned_hashes: list[bytes], block_number: int) -> list[bytes] | None:
        root = self._beacon_root(block_number)
        if root is None:
            return None
        wanted = ",".join("0x" + h.hex() for h in versioned_hashes)
        answer = self._get(f"/eth/v1/beacon/blobs/{root}", {"versioned_hashes": wanted})
        if answer is not None:
            return [_hex_bytes(b) for b in _data(answer)]
        answer = self._get(f"/eth/v1/beacon/blob_sidecars/{root}", None)
        if answer is None:
            return None
        by_hash = {}
        for sidecar in _data(answer):
            commitment = _hex_bytes(sidecar["kzg_commitment"])
            by_hash[blobs.versioned_hash_of_commitment(commitment)] = _hex_bytes(sidecar["blob"])
        if not all(h in by_hash for h in versioned_hashes):
            return None
        return [by_hash[h] for h in versioned_hashes]

    def _beacon_root(self, block_number: int) -> str | None:
        # EIP-4788: each execution block carries its parent's beacon block root.
        try:
            child = self.chain.w3.eth.get_block(block_number + 1)
        except Exception:  # not mined yet
            return None
        root = child.get("parentBeaconBlockRoot")
        return None if root is None else "0x" + bytes(root).hex()

    def _get(self, path: str, params: dict[str, str] | None) -> Any:
        """The decoded JSON, or None when the API lacks the endpoint or the block (4xx)."""
        try:
            with self.session.get(
                self.url + path, params=params, timeout=TIMEOUT_S, stream=True
            ) as response:
                if 400 <= response.status_code < 500:
                    return None
                response.raise_for_status()
                body = response.raw.read(_MAX_ANSWER + 1, decode_content=True)
        except requests.RequestException as exc:
            log.warning("%s did not answer %s: %s", self.name, path, exc)
            return None
        if len(body) > _MAX_ANSWER:
            log.warning("%s answered %s with over %d bytes", self.name, path, _MAX_ANSWER)
            return None
        try:
            return json.loads(body)
        except ValueError:
            log.warning("%s answered %s with something other than JSON", self.name, path)
            return None


class ContentStore(Protocol):
    """What `StoredCopy` needs of a content store (`deml.storage`): a file by CID, verified."""

    def get(self, cid: str, *, max_size: int) -> bytes: ...


class StoredCopy:
    """The payload kept in content storage under `cid`, encoded into blobs again."""

    def __init__(self, storage: ContentStore, cid: str) -> None:
        self.storage = storage
        self.cid = cid
        self.name = f"the content store's copy {cid or '(none named)'}"

    def fetch(self, versioned_hashes: list[bytes], block_number: int) -> list[bytes] | None:
        if not self.cid:
            return None
        try:
            # The CID is the competitor's word: at most what six blobs hold is read.
            payload = self.storage.get(self.cid, max_size=blobs.MAX_PAYLOAD_BYTES)
            return blobs.encode(payload)
        except (DemlError, OSError, requests.RequestException) as exc:
            log.info("%s is not available: %s", self.name, exc)
            return None


def fetch(
    sources: list[BlobSource], versioned_hashes: list[bytes], block_number: int
) -> list[bytes]:
    """The blobs from the first source whose answer matches `versioned_hashes`: a source that
    lacks them or forges them is logged and the next one asked. (They may still not be a
    payload's encoding: `blobs.decode` says so, the same for everyone.)"""
    for source in sources:
        try:
            found = source.fetch(versioned_hashes, block_number)
        except (KeyError, TypeError, ValueError) as exc:  # an answer not shaped as the API's
            log.warning("%s gave a malformed answer: %s", source.name, exc)
            continue
        if found is None:
            continue
        try:
            blobs.verify(found, versioned_hashes)
            return found
        except BlobMismatch as exc:
            log.warning("%s gave blobs that are not the ones named on chain: %s", source.name, exc)
    names = ", ".join(s.name for s in sources) or "no source"
    raise BlobUnavailable(
        f"none of {names} gave the blobs 0x{versioned_hashes[0].hex()}…"
        f" ({len(versioned_hashes)}) of block {block_number}"
    )


def _data(answer: Any) -> list[Any]:
    data = answer["data"]
    if not isinstance(data, list):
        raise TypeError("'data' is not a list")
    return data


def _hex_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected a hex string, got {type(value).__name__}")
    return bytes.fromhex(value.removeprefix("0x"))
