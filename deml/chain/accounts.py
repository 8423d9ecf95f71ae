"""The accounts DeML signs with: a dev mnemonic on local chains, else a key or keystore."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount

from deml.exceptions import SettingsError
from deml.settings import Settings

DEV_ACCOUNT_COUNT = 10
Account.enable_unaudited_hdwallet_features()


def from_mnemonic(mnemonic: str, count: int = DEV_ACCOUNT_COUNT) -> list[LocalAccount]:
    """The first `count` accounts of a mnemonic on the path anvil uses (m/44'/60'/0'/0/i)."""
    return [
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    ]


def from_settings(settings: Settings) -> list[LocalAccount]:
    """The configured signers: a key or keystore first, then the dev mnemonic's accounts."""
    accounts: list[LocalAccount] = []
    if settings.private_key is not None:
        accounts.append(Account.from_key(settings.private_key.get_secret_value()))
    if settings.keystore is not None:
        accounts.append(_from_keystore(settings))
    network = settings.active_network
    if network.dev and network.mnemonic is not None:
        accounts.extend(from_mnemonic(network.mnemonic.get_secret_value()))
    if not accounts:
        raise SettingsError(
            f"no signing key for network {settings.network!r}: set DEML_PRIVATE_KEY, or"
            " DEML_KEYSTORE and DEML_KEYSTORE_PASSWORD"
        )
    return accounts


def _from_keystore(settings: Settings) -> LocalAccount:
    assert settings.keystore is not None and settings.keystore_password is not None
    try:
        keyfile = json.loads(settings.keystore.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SettingsError(f"cannot read keystore {settings.keystore}: {exc}") from None
    try:
        key = Account.decrypt(keyfile, settings.keystore_password.get_secret_value())
    except ValueError:
        raise SettingsError(
            f"cannot decrypt keystore {settings.keystore}: wrong DEML_KEYSTORE_PASSWORD?"
        ) from None
    return Account.from_key(key)
