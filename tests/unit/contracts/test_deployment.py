"""The factory address is data per network: deployed on first use on a dev chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from deml.chain.client import Chain
from deml.contracts import deployment
from deml.exceptions import SettingsError
from deml.settings import load_settings
from tests.helpers.project import ROOT


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DEML_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))


def test_dev_chain_deploys_once_and_remembers() -> None:
    chain = Chain.in_process()
    settings = load_settings()
    assert deployment.factory_address(settings) is None
    first = deployment.factory(chain, settings)
    assert deployment.factory_address(settings) == first.address
    assert deployment.factory(chain, settings).address == first.address


def test_reset_dev_chain_gets_a_new_factory() -> None:
    settings = load_settings()
    old = deployment.factory(Chain.in_process(), settings)
    fresh_chain = Chain.in_process()
    fresh_chain.transfer(fresh_chain.accounts[1].address, 1)  # another nonce: another address
    new = deployment.factory(fresh_chain, settings)
    assert new.address != old.address
    assert fresh_chain.w3.eth.get_code(new.address)


def test_real_network_reads_configs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("deml.yaml", "networks.yaml"):
        (configs / name).write_text((ROOT / "configs" / name).read_text())
    monkeypatch.setenv("DEML_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    monkeypatch.setenv("DEML_RPC_URL", "https://rpc.example")
    settings = load_settings()
    assert deployment.factory_address(settings) is None
    (configs / "deployments.yaml").write_text(
        'sepolia:\n  factory: "0x5FbDB2315678afecb367f032d93F642f64180aa3"\n'
    )
    assert deployment.factory_address(settings) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    (configs / "deployments.yaml").write_text(
        'sepolia:\n  factory: "0x5fbdb2315678afecb367f032d93f642f64180aa3"\n'
    )
    with pytest.raises(SettingsError, match="checksummed address"):
        deployment.factory_address(settings)
    (configs / "deployments.yaml").write_text(
        "sepolia:\n  factory: 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
    )
    with pytest.raises(SettingsError, match="quote the factory address"):
        deployment.factory_address(settings)
