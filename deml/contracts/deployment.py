"""Where the CompetitionFactory is deployed, per network: data, not code.

Dev networks (a local anvil) keep the address in the state dir, next to the chain it lives
on; real networks keep it in configs/deployments.yaml, committed with the project. Only
`deml contracts deploy` deploys: a command that finds no factory says so and names the fix,
so that nobody deploys (and signs) by accident, say a miner pointed at the wrong chain.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from eth_account.signers.local import LocalAccount
from eth_utils import is_checksum_address, to_checksum_address

from deml import journal
from deml._fs import write_atomic
from deml.chain.client import Chain
from deml.contracts.bindings import CompetitionFactory
from deml.exceptions import FactoryMissing, SettingsError
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
    """The network's factory; a clear error when none is recorded or it has no code here."""
    address = factory_address(settings)
    fix = "deploy one with `deml contracts deploy`, or set DEML_FACTORY to the one in use"
    if address is None:
        raise FactoryMissing(
            f"no CompetitionFactory is recorded for network {settings.network!r}: {fix}"
        )
    if not chain.w3.eth.get_code(address):
        where = "DEML_FACTORY" if settings.factory is not None else "the recorded factory"
        raise FactoryMissing(
            f"{where} {address} has no code on this chain (chain id {chain.chain_id}; a reset"
            f" dev chain forgets its contracts): {fix}"
        )
    return CompetitionFactory(chain, address)


def deploy(
    chain: Chain, settings: Settings, sender: LocalAccount | None = None
) -> CompetitionFactory:
    """Deploy a factory and its miner pool with the network's factory terms."""
    terms = settings.active_network.factory
    return CompetitionFactory.deploy(
        chain,
        seat_stake=terms.seat_stake_wei,
        unbonding_delay=terms.unbonding_delay_s,
        min_units=terms.min_units,
        min_seats=terms.min_seats,
        min_window=terms.min_window_s,
        challenge_bond=terms.challenge_bond_wei,
        sender=sender,
    )


def record(settings: Settings, address: str) -> Path:
    """Remember the network's factory address: in the state dir on a dev network, else in
    configs/deployments.yaml (other networks' entries and comments kept); return the file."""
    address = to_checksum_address(address)
    if settings.active_network.dev:
        path = _dev_record(settings)
        journal.save(path, {"factory": address})
        return path
    path = config_dir() / DEPLOYMENTS_FILE
    text = path.read_text() if path.is_file() else _DEPLOYMENTS_HEADER
    entries = yaml.safe_load(text) or {}
    if not isinstance(entries, dict):
        raise SettingsError(f"{path}: expected a mapping of network names")
    entries[settings.network] = {**(entries.get(settings.network) or {}), "factory": address}
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    write_atomic(path, [(header + yaml.safe_dump(entries, sort_keys=True)).encode()])
    return path


_DEPLOYMENTS_HEADER = (
    "# The CompetitionFactory of each public network, written by `deml contracts deploy`.\n"
)


def _dev_record(settings: Settings) -> Path:
    return settings.state_dir / "deployments" / f"{settings.network}.json"


def _checked(address: object, where: str) -> str:
    if isinstance(address, int):  # YAML reads an unquoted 0x... as a number
        raise SettingsError(f'{where}: quote the factory address ("0x..."); YAML read a number')
    if not isinstance(address, str) or not is_checksum_address(address):
        raise SettingsError(f"{where}: factory must be a checksummed address, got {address!r}")
    return address
