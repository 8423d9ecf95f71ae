"""A store that reads through trustless gateways what it does not hold (`ipfs_gateways`).

Roles on separate machines share content by CID alone: the host serves its store
(`deml ipfs serve`), and a miner's or competitor's own store fetches from the gateways in
order (the host's, a kubo node's, a public one) what it lacks, checks every block against
its CID, and keeps it, so a second read is local and the gateway need not be trusted.
"""

from __future__ import annotations

from pathlib import Path

from multiformats import CID

from deml.exceptions import (
    BlockNotFound,
    ContentTooLarge,
    IntegrityError,
    StorageError,
    StorageUnavailable,
)
from deml.storage.base import Storage
from deml.storage.gateway import GatewayStore
from deml.storage.unixfs import parse_cid


class FallbackStore(Storage):
    """`primary` for everything; a block it lacks is fetched (with its DAG) from the first
    gateway that serves it, verified, and kept in `primary`."""

    def __init__(self, primary: Storage, gateways: list[GatewayStore]) -> None:
        self.primary = primary
        self.gateways = gateways

    def get_block(self, cid: CID) -> bytes:
        try:
            return self.primary.get_block(cid)
        except BlockNotFound:
            pass
        failures: list[str] = []
        for gateway in self.gateways:
            try:
                gateway.copy_dag(cid, self.primary)
                return self.primary.get_block(cid)
            except (
                BlockNotFound,
                StorageError,
                StorageUnavailable,
                IntegrityError,  # a CarError too
                ContentTooLarge,
            ) as exc:
                failures.append(f"{gateway.gateway_url}: {exc}")
        tried = "; ".join(failures) or "no gateway is configured (ipfs_gateways)"
        raise BlockNotFound(f"{cid} is not in the store, and no gateway served it ({tried})")

    def put_file(self, path: Path) -> CID:
        return self.primary.put_file(path)

    def put(self, data: bytes) -> CID:
        return self.primary.put(data)

    def put_block(self, cid: CID, block: bytes) -> None:
        self.primary.put_block(cid, block)

    def has(self, cid: CID | str) -> bool:
        return self.primary.has(cid)

    def pin(self, cid: CID | str) -> None:
        """Fetch what is missing of the DAG, then pin it in the primary store."""
        self.get_block(parse_cid(cid))
        self.primary.pin(cid)
