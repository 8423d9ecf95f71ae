"""Content storage by IPFS CID: the embedded local store, a kubo daemon, or (read-only) a
trustless gateway, all computing kubo's `unixfs-v1-2025` CIDs (UnixFS and CAR codecs here);
a store that reads through gateways what it lacks; and a gateway serving a store.

May import: deml.exceptions, deml._fs and deml.settings only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deml.storage.base import Storage
from deml.storage.fallback import FallbackStore
from deml.storage.gateway import GatewayStore
from deml.storage.kubo import KuboStore
from deml.storage.local import LocalStore

if TYPE_CHECKING:
    from deml.settings import Settings


def storage_from_settings(settings: Settings) -> Storage:
    """The backend the settings choose (`ipfs_backend`: local, under state_dir, or kubo),
    reading through the `ipfs_gateways` what it does not hold."""
    primary: Storage = (
        KuboStore(settings.ipfs_api_url)
        if settings.ipfs_backend == "kubo"
        else LocalStore(settings.state_dir / "ipfs")
    )
    if not settings.ipfs_gateways:
        return primary
    return FallbackStore(primary, [GatewayStore(url) for url in settings.ipfs_gateways])
