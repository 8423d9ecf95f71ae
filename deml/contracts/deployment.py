"""Where the CompetitionFactory is deployed, per network: data, not code.

Dev networks (a local anvil) keep the address in the state dir, next to the chain it lives
on; real networks keep it in configs/deployments.yaml, committed with the project. On a dev
chain the factory is deployed on first use, and again if the chain was reset.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from eth_utils import is_checksum_address, to_checksum_address

from deml import journal
from deml.chain.client import Chain
from deml.contracts.bindings import CompetitionFactory
from deml.exceptions import SettingsError
from deml.settings import Settings, config_dir

DEPLOYMENTS_FILE = "deployments.yaml"


def factory_address(settings: Settings) -> str | None:
    """The factory address of the active network (DEML_FACTORY, else the records), or None."""
    if settings.factory is not None:
        return settings.factory
    if settings.active_network.dev:
        path = _dev_record(settings)
        record = journal.load(path)
        return None if record is None else _checked(record.get("factory"), str(path))
    path = config_dir() / DEPLOYMENTS_FILE
    if not path.is_file():
        return None
    entry = (yaml.safe_load(path.read_text()) or {}).get(settings.network) or {}
    return _checked(entry.get("factory"), str(path))


def factory(chain: Chain, settings: Settings) -> CompetitionFactory:
    """The network's factory; on a dev chain, deployed (and recorded) when missing."""
    address = factory_address(settings)
    if address is not None and chain.w3.eth.get_code(address):
        return CompetitionFactory(chain, address)
    if settings.factory is not None:
        raise SettingsError(f"DEML_FACTORY={settings.factory} has no code on this chain")
    if not settings.active_network.dev:
        raise SettingsError(
            f"no CompetitionFactory recorded for network {settings.network!r}: add"
            f" `{settings.network}: {{factory: 0x...}}` to {config_dir() / DEPLOYMENTS_FILE}"
        )
    deployed = deploy(chain, settings)
    record(settings, deployed.address)
    return deployed


def deploy(chain: Chain, settings: Settings) -> CompetitionFactory:
    """Deploy a factory and its miner pool with the network's factory terms."""
    terms = settings.active_network.factory
    return CompetitionFactory.deploy(
        chain,
        seat_stake=terms.seat_stake_wei,
        unbonding_delay=terms.unbonding_delay_s,
        min_units=terms.min_units,
        min_seats=terms.min_seats,
        min_window=terms.min_window_s,
    )


def record(settings: Settings, address: str) -> None:
    """Remember the dev network's factory address (written atomically)."""
    journal.save(_dev_record(settings), {"factory": to_checksum_address(address)})


def _dev_record(settings: Settings) -> Path:
    return settings.state_dir / "deployments" / f"{settings.network}.json"


def _checked(address: object, where: str) -> str:
    if isinstance(address, int):  # YAML reads an unquoted 0x... as a number
        raise SettingsError(f'{where}: quote the factory address ("0x..."); YAML read a number')
    if not isinstance(address, str) or not is_checksum_address(address):
        raise SettingsError(f"{where}: factory must be a checksummed address, got {address!r}")
    return address
