"""Settings: YAML defaults, DEML_* overrides, and errors that name the bad setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from deml.chain import accounts
from deml.exceptions import SettingsError
from deml.settings import load_settings

KEY = "0x" + "11" * 32  # a throwaway key made up for the tests; holds nothing


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the DEML_* variables they set themselves."""
    import os

    for name in list(os.environ):
        if name.startswith("DEML_"):
            monkeypatch.delenv(name)


def test_defaults_select_the_local_dev_network() -> None:
    s = load_settings()
    assert s.network == "local"
    net = s.active_network
    assert (net.rpc_url, net.chain_id, net.dev) == ("http://127.0.0.1:8545", 31337, True)
    assert s.state_dir == Path(".deml")
    assert s.resolved_mlflow_uri == f"sqlite:///{Path('.deml/mlflow.db').resolve()}"
    assert s.resolved_prefect_home == Path(".deml/prefect").resolve()


def test_local_network_signs_with_anvils_dev_accounts() -> None:
    signers = accounts.from_settings(load_settings())
    assert len(signers) == 10
    assert signers[1].address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_environment_overrides_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DEML_RPC_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("DEML_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("DEML_IPFS_BACKEND", "kubo")
    s = load_settings()
    assert s.active_network.rpc_url == "http://127.0.0.1:9999"
    assert s.state_dir == tmp_path
    assert s.ipfs_backend == "kubo"


def test_explicit_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    assert load_settings(network="local").network == "local"


def test_config_dir_can_be_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "networks.yaml").write_text(
        "networks:\n  mine:\n    rpc_url: http://10.0.0.1:8545\n    chain_id: 7\n"
    )
    (tmp_path / "deml.yaml").write_text("network: mine\n")
    monkeypatch.setenv("DEML_CONFIG_DIR", str(tmp_path))
    s = load_settings()
    assert (s.network, s.active_network.chain_id) == ("mine", 7)


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "DEML_NETWORK",
            "nope",
            "setting 'network' [DEML_NETWORK]: 'nope' is not in networks.yaml",
        ),
        ("DEML_RPC_URL", "ftp://x", "setting 'rpc_url' [DEML_RPC_URL]: expected an http"),
        (
            "DEML_CHAIN_ID",
            "0",
            "setting 'chain_id' [DEML_CHAIN_ID]: Input should be greater than 0",
        ),
        ("DEML_IPFS_BACKEND", "s3", "setting 'ipfs_backend' [DEML_IPFS_BACKEND]"),
        (
            "DEML_SCORING_SPARES",
            "300",
            "setting 'scoring_spares' [DEML_SCORING_SPARES]: Input should be less than or equal",
        ),
        ("DEML_SCORING_WORKERS", "0", "setting 'scoring_workers' [DEML_SCORING_WORKERS]"),
        ("DEML_STATE_DIRR", "x", None),  # unknown variables with the prefix are ignored
    ],
)
def test_bad_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str | None
) -> None:
    monkeypatch.setenv(env, value)
    if expected is None:
        load_settings()
        return
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_private_key_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_PRIVATE_KEY", "0xdeadbeefcafe")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "[DEML_PRIVATE_KEY]: expected 64 hex digits" in str(caught.value)
    assert "deadbeef" not in str(caught.value)


def test_real_network_needs_an_rpc_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    with pytest.raises(SettingsError, match=r"\[DEML_RPC_URL\]: network 'sepolia' has no RPC URL"):
        load_settings()


def test_real_network_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    monkeypatch.setenv("DEML_RPC_URL", "https://rpc.example")
    with pytest.raises(SettingsError, match="no signing key for network 'sepolia'"):
        accounts.from_settings(load_settings())
    monkeypatch.setenv("DEML_PRIVATE_KEY", KEY)
    (signer,) = accounts.from_settings(load_settings())
    assert signer.address == Account.from_key(KEY).address


def test_keystore_is_decrypted_with_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(KEY, "pw", iterations=2)))
    monkeypatch.setenv("DEML_NETWORK", "sepolia")
    monkeypatch.setenv("DEML_RPC_URL", "https://rpc.example")
    monkeypatch.setenv("DEML_KEYSTORE", str(keystore))
    with pytest.raises(SettingsError, match=r"\[DEML_KEYSTORE_PASSWORD\]: required"):
        load_settings()
    monkeypatch.setenv("DEML_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(SettingsError, match="wrong DEML_KEYSTORE_PASSWORD"):
        accounts.from_settings(load_settings())
    monkeypatch.setenv("DEML_KEYSTORE_PASSWORD", "pw")
    (signer,) = accounts.from_settings(load_settings())
    assert signer.address == Account.from_key(KEY).address


def test_mnemonic_is_refused_on_a_real_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "networks.yaml").write_text(
        "networks:\n  main:\n    rpc_url: https://x\n    chain_id: 1\n    mnemonic: a b c\n"
    )
    (tmp_path / "deml.yaml").write_text("network: main\n")
    monkeypatch.setenv("DEML_CONFIG_DIR", str(tmp_path))
    with pytest.raises(SettingsError, match="mnemonic may only be set on a dev network") as caught:
        load_settings()
    assert "a b c" not in str(caught.value)
