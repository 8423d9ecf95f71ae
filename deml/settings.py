"""DeML's settings: configs/*.yaml, then DEML_* environment variables, checked when loaded.

Each setting is defined once, here. `load_settings()` is the one way to read them; a wrong
value fails at load with a SettingsError that names the setting and says what is expected.
"""

from __future__ import annotations

import os
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils import is_checksum_address
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from deml._paths import checkout
from deml.exceptions import SettingsError

ENV_PREFIX = "DEML_"
CONFIG_DIR_ENV = "DEML_CONFIG_DIR"
CONFIG_FILES = ("deml.yaml", "networks.yaml")
# Never echoed back in an error message.
SECRET_SETTINGS = frozenset({"private_key", "keystore_password", "mnemonic"})


class FactoryConfig(BaseModel):
    """The terms a CompetitionFactory (and its miner pool) is deployed with: floors every
    competition of it must meet. Public networks keep the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seat_stake_eth: Decimal = Field(Decimal("0.1"), gt=0, description="stake one jury seat locks")
    unbonding_days: PositiveFloat = Field(30, description="delay before a bond comes back")
    min_units: PositiveInt = Field(1, description="seats a miner bonds at least")
    min_seats: PositiveInt = Field(21, description="seats of a first vote at least")
    min_window_s: PositiveInt = Field(3600, description="seconds every phase lasts at least")
    challenge_bond_eth: Decimal = Field(
        Decimal("1"),
        gt=0,
        description="bond a dispute's challenge posts: it pays for recomputing a contested"
        " weight commitment on chain (about 70 M gas for the zoo MLP)",
    )

    @property
    def seat_stake_wei(self) -> int:
        return int(self.seat_stake_eth * 10**18)

    @property
    def challenge_bond_wei(self) -> int:
        return int(self.challenge_bond_eth * 10**18)

    @property
    def unbonding_delay_s(self) -> int:
        return int(self.unbonding_days * 86_400)


class Network(BaseModel):
    """One entry of configs/networks.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rpc_url: str | None = None
    chain_id: PositiveInt
    dev: bool = Field(False, description="a local chain that DeML starts itself (anvil)")
    mnemonic: SecretStr | None = Field(None, description="dev networks only: the test mnemonic")
    factory: FactoryConfig = Field(default_factory=FactoryConfig)
    confirmations: NonNegativeInt | None = Field(
        None,
        description="blocks on top of a transaction's own before DeML counts it as sent and acts"
        " on it; a transaction reorged out meanwhile is sent again (default: 0 on dev chains,"
        " 2 elsewhere)",
    )

    witness_rpc_url: str | None = Field(
        None,
        description="a second node, best run by someone else, that every receipt is checked"
        " against: a node that forges one (a success for a reverted transaction, a block that"
        " is not the chain's) is caught instead of believed",
    )

    beacon_url: str | None = Field(
        None,
        description="a consensus node's beacon API, where miners fetch models revealed in blobs"
        " (kept there about 18 days); the node's own RPC is asked first (anvil keeps every"
        " blob), the content store by the reveal's CID last",
    )

    @property
    def required_confirmations(self) -> int:
        """`confirmations`, or its default for this kind of network."""
        if self.confirmations is not None:
            return self.confirmations
        return 0 if self.dev else 2

    @field_validator("rpc_url", "witness_rpc_url", "beacon_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    @model_validator(mode="after")
    def _mnemonic_only_on_dev(self) -> Network:
        if self.mnemonic is not None and not self.dev:
            raise ValueError("a mnemonic may only be set on a dev network (dev: true)")
        return self


class Settings(BaseSettings):
    """Every DeML setting. Read them with `load_settings()`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    network: str = Field("local", description="which entry of networks.yaml to use")
    rpc_url: str | None = Field(None, description="overrides the network's RPC URL")
    chain_id: PositiveInt | None = Field(None, description="overrides the network's chain id")
    witness_rpc_url: str | None = Field(
        None, description="overrides the network's witness node (every receipt checked there)"
    )
    beacon_url: str | None = Field(
        None, description="overrides the network's beacon API (models revealed in blobs)"
    )
    state_dir: Path = Field(Path(".deml"), description="local state: node, stores, databases")
    private_key: SecretStr | None = Field(None, description="hex private key of the signer")
    keystore: Path | None = Field(None, description="encrypted JSON keystore of the signer")
    keystore_password: SecretStr | None = Field(None, description="password of the keystore")
    ipfs_backend: Literal["local", "kubo"] = Field("local", description="content storage")
    ipfs_api_url: str = Field("http://127.0.0.1:5001", description="kubo RPC API address")
    # NoDecode: from the environment it is a comma-separated list, not JSON.
    ipfs_gateways: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="trustless gateways to read content from when the store lacks it, in order",
    )
    factory: str | None = Field(None, description="CompetitionFactory address (overrides records)")
    mlflow_tracking_uri: str | None = Field(None, description="default: sqlite in state_dir")
    prefect_home: Path | None = Field(None, description="default: <state_dir>/prefect")
    prefect_port: int = Field(
        4200, ge=1, le=65535, description="port of the machine's Prefect server (`deml prefect`)"
    )
    scoring_workers: PositiveInt | None = Field(
        None, description="models a miner scores at a time; default: one per core"
    )
    scoring_spares: int | None = Field(
        None, ge=0, le=256, description="scoring processes a miner keeps warm; default: 24"
    )
    miner_bond_units: PositiveInt = Field(
        10, description="seats' worth a miner keeps bonded in the pool (each backs one seat)"
    )
    watch_disputes: bool = Field(
        True,
        description="off the jury, score a decided root's disputable models to challenge it"
        " if they prove it wrong (the jury may be bought whole)",
    )
    networks: dict[str, Network] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments (CLI flags) win over the environment, which wins over the YAML.
        files = [path for path in config_files() if path.is_file()]
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls, files)

    @field_validator("rpc_url", "witness_rpc_url", "beacon_url", "ipfs_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    @field_validator("ipfs_gateways", mode="before")
    @classmethod
    def _gateway_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [_check_http_url(str(url)).rstrip("/") for url in value]
        return value

    @field_validator("factory")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not is_checksum_address(value):
            raise ValueError("expected a checksummed 0x address")
        return value

    @field_validator("private_key")
    @classmethod
    def _hex_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        key = value.get_secret_value().removeprefix("0x")
        if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise ValueError("expected 64 hex digits (an optional 0x prefix allowed)")
        return value

    @model_validator(mode="after")
    def _check_network(self) -> Settings:
        if self.network not in self.networks:
            known = ", ".join(sorted(self.networks)) or "none (is networks.yaml missing?)"
            raise ValueError(
                f"setting 'network' [DEML_NETWORK]: {self.network!r} is not in networks.yaml;"
                f" known: {known}"
            )
        if self.keystore is not None and self.keystore_password is None:
            raise ValueError(
                "setting 'keystore_password' [DEML_KEYSTORE_PASSWORD]: required with a keystore"
            )
        if self.active_network.rpc_url is None:
            raise ValueError(
                f"setting 'rpc_url' [DEML_RPC_URL]: network {self.network!r} has no RPC URL;"
                " set DEML_RPC_URL to your provider's endpoint"
            )
        return self

    @cached_property
    def active_network(self) -> Network:
        """The selected network, with rpc_url and chain_id overrides applied."""
        base = self.networks[self.network]
        update: dict[str, Any] = {}
        if self.rpc_url is not None:
            update["rpc_url"] = self.rpc_url
        if self.chain_id is not None:
            update["chain_id"] = self.chain_id
        if self.witness_rpc_url is not None:
            update["witness_rpc_url"] = self.witness_rpc_url
        if self.beacon_url is not None:
            update["beacon_url"] = self.beacon_url
        return base.model_copy(update=update)

    @property
    def resolved_mlflow_uri(self) -> str:
        """The MLflow tracking URI, defaulting to a sqlite database in the state dir."""
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{(self.state_dir / 'mlflow.db').resolve()}"

    @property
    def resolved_prefect_home(self) -> Path:
        """Prefect's home folder, defaulting to a folder in the state dir."""
        return (self.prefect_home or self.state_dir / "prefect").resolve()


def config_dir() -> Path:
    """The folder holding deml.yaml and networks.yaml.

    DEML_CONFIG_DIR when set; else ./configs when the current folder has one; else the
    configs/ folder of the DeML checkout this package was installed from.
    """
    if explicit := os.environ.get(CONFIG_DIR_ENV):
        return Path(explicit)
    local = Path("configs")
    if (local / "networks.yaml").is_file():
        return local
    return checkout() / "configs"


def config_files() -> list[Path]:
    """The YAML files settings are read from, lowest priority first."""
    return [config_dir() / name for name in CONFIG_FILES]


def load_settings(**overrides: Any) -> Settings:
    """Read and check the settings; `overrides` (e.g. CLI flags) win over everything else."""
    explicit = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**explicit)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """The problems on one line, each naming the setting, its environment variable and the fix."""
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # a check across settings: its message names the setting
            problems.append(message)
            continue
        loc = ".".join(str(part) for part in error["loc"])
        env = ENV_PREFIX + str(error["loc"][0]).upper()
        got = error.get("input")
        secret = any(part in SECRET_SETTINGS for part in error["loc"])
        hidden = secret or isinstance(got, dict) or got is None
        shown = "" if hidden else f" (got {got!r})"
        problems.append(f"setting {loc!r} [{env}]: {message}{shown}")
    return f"invalid settings (read from {config_dir()} and DEML_*): " + "; ".join(problems)


def _check_http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value
