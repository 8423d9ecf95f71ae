"""The factory address is data per network, and only `deml contracts deploy` deploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from deml.chain.client import Chain
from deml.contracts import deployment
from deml.exceptions import FactoryMissing, SettingsError
from deml.settings import load_settings
from tests.helpers.project import ROOT


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DEML_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path / "state"))


def test_no_command_deploys_by_itself() -> None:
    chain = Chain.in_process()
    settings = load_settings()
    nonce = chain.w3.eth.get_transaction_count(chain.accounts[0].address)
    with pytest.raises(FactoryMissing, match="deml contracts deploy"):
        deployment.factory(chain, settings)
    assert chain.w3.eth.get_transaction_count(chain.accounts[0].address) == nonce  # nothing sent
    assert deployment.factory_address(settings) is None


def test_a_deployed_factory_is_recorded_and_found_again() -> None:
    chain = Chain.in_process()
    settings = load_settings()
    deployed = deployment.deploy(chain, settings, sender=chain.accounts[3])
    path = deployment.record(settings, deployed.address)
    assert path.is_relative_to(settings.state_dir)  # a dev chain's record is local state
    assert deployment.factory(chain, settings).address == deployed.address
    assert deployed.pool().seat_stake() == settings.active_network.factory.seat_stake_wei


def test_a_reset_dev_chain_is_told_to_deploy_again() -> None:
    settings = load_settings()
    old = Chain.in_process()
    deployment.record(settings, deployment.deploy(old, settings).address)
    fresh = Chain.in_process()
    fresh.transfer(fresh.accounts[1].address, 1)  # another nonce: the old address has no code
    with pytest.raises(FactoryMissing, match="has no code on this chain"):
        deployment.factory(fresh, settings)


def test_deploying_on_a_real_network_writes_deployments_yaml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("deml.yaml", "networks.yaml", "deployments.yaml"):
        (configs / name).write_text((ROOT / "configs" / name).read_text())
    (configs / "deployments.yaml").write_text(
        (configs / "deployments.yaml").read_text()
        + 'holesky:\n  factory: "0x5FbDB2315678afecb367f032d93F642f64180aa3"\n'
    )
    monkeypatch.setenv("DEML_CONFIG_DIR", str(configs))
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    monkeypatch.setenv("DEML_RPC_URL", "https://rpc.example")
    settings = load_settings()
    address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
    assert deployment.record(settings, address.lower()) == configs / "deployments.yaml"
    assert deployment.factory_address(settings) == address
    text = (configs / "deployments.yaml").read_text()
    assert text.startswith("# CompetitionFactory addresses of real networks")  # comments kept
    monkeypatch.setenv("DEML_NETWORK", "holesky")
    assert (
        deployment.factory_address(load_settings()) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    )


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
