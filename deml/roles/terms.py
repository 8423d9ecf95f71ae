"""A competition's terms as a host writes them (configs/competition.yaml), checked on load."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from deml.chain.blobs import MAX_PAYLOAD_BYTES
from deml.contracts.commitments import hash_test_key
from deml.contracts.types import BPS, Params, RevealMode
from deml.exceptions import SettingsError
from deml.settings import config_dir

WEI_PER_ETH = Decimal(10**18)
MAX_REVEAL_BYTES = 120 * 1024  # nodes drop transactions over 128 KB; leave room for the rest
# A reveal in blobs carries at most six blobs' worth (the contract's cap in blob mode).
MAX_BLOB_REVEAL_BYTES = MAX_PAYLOAD_BYTES


class Durations(BaseModel):
    """Seconds each phase stays open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    submit: PositiveInt
    reveal: PositiveInt
    key: PositiveInt
    vote_commit: PositiveInt
    vote_reveal: PositiveInt
    tally: PositiveInt


class CompetitionTemplate(BaseModel):
    """Everything a host chooses when creating a competition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prize_eth: Decimal = Field(gt=0)
    # At least the prize; None: exactly the prize.
    host_bond_eth: Decimal | None = Field(None, gt=0)
    entry_fee_eth: Decimal = Field(gt=0)
    draw_bounty_eth: Decimal = Field(ge=0)
    publish_bounty_eth: Decimal = Field(ge=0)
    # calldata: the model in the reveal transaction (any EVM chain); blob: in EIP-4844 blobs
    # (chains at Cancun or later: about 1/50 of the gas, and models up to 744 KiB).
    reveal_mode: Literal["calldata", "blob"] = "calldata"
    max_model_bytes: int = Field(gt=0, le=MAX_BLOB_REVEAL_BYTES)
    max_submissions: int = Field(gt=0, lt=2**16)
    seats: int = Field(gt=0, lt=256)
    winner_bps: int = Field(gt=0, lt=BPS)
    durations: Durations

    @model_validator(mode="after")
    def _cap_fits_the_mode(self) -> CompetitionTemplate:
        if self.reveal_mode == "calldata" and self.max_model_bytes > MAX_REVEAL_BYTES:
            raise ValueError(
                f"max_model_bytes {self.max_model_bytes:,} does not fit a calldata reveal"
                f" (at most {MAX_REVEAL_BYTES:,}: nodes drop transactions over 128 KB);"
                f" reveal_mode: blob takes up to {MAX_BLOB_REVEAL_BYTES:,}"
            )
        return self

    @property
    def prize_wei(self) -> int:
        return _wei(self.prize_eth)

    @property
    def host_bond_wei(self) -> int:
        return _wei(self.host_bond_eth if self.host_bond_eth is not None else self.prize_eth)

    def to_params(
        self, now: int, test_key: bytes, test_set_size: int, samples_root: bytes
    ) -> Params:
        """The contract parameters for a competition opening at `now` on a test split of
        `test_set_size` samples whose tree has root `samples_root` (contracts.sample_tree)."""
        d = self.durations
        submit = now + d.submit
        reveal = submit + d.reveal
        key = reveal + d.key
        vote_commit = key + d.vote_commit
        return Params(
            entry_fee=_wei(self.entry_fee_eth),
            host_bond=self.host_bond_wei,
            draw_bounty=_wei(self.draw_bounty_eth),
            publish_bounty=_wei(self.publish_bounty_eth),
            submit_deadline=submit,
            reveal_deadline=reveal,
            key_deadline=key,
            vote_commit_deadline=vote_commit,
            vote_reveal_deadline=vote_commit + d.vote_reveal,
            tally_duration=d.tally,
            test_set_size=test_set_size,
            max_model_bytes=self.max_model_bytes,
            max_submissions=self.max_submissions,
            seats=self.seats,
            winner_bps=self.winner_bps,
            test_key_hash=hash_test_key(test_key),
            reveal_mode=RevealMode.BLOB if self.reveal_mode == "blob" else RevealMode.CALLDATA,
            samples_root=samples_root,
        )


_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+)([wdhms])")


def parse_duration(text: str) -> int:
    """Seconds in a duration as people write it: `90` (seconds), `45s`, `10m`, `6h`, `1d`,
    `2w`, or parts together (`1h30m`). SettingsError for anything else."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        seconds = int(cleaned)
    else:
        parts = _DURATION.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            raise SettingsError(
                f"not a duration: {text!r} (write e.g. 90, 45s, 10m, 6h, 1d or 1h30m)"
            )
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise SettingsError(f"a duration must be positive, got {text!r}")
    return seconds


def _wei(ether: Decimal) -> int:
    return int(ether * WEI_PER_ETH)


def load_template(terms: Path | None = None, **overrides: object) -> CompetitionTemplate:
    """configs/competition.yaml, then the host's `terms` file over it (any subset of its
    keys), then `overrides` (the command line's options). A duration may be written with
    units (`1d`, `6h`), and `durations` replaces only the phases it names."""
    data = _read(config_dir() / "competition.yaml")
    layers = [_read(terms)] if terms is not None else []
    layers.append({k: v for k, v in overrides.items() if v is not None})
    for layer in layers:
        durations = layer.pop("durations", None) or {}
        data.update(layer)
        if durations:
            if not isinstance(durations, dict):
                raise SettingsError(f"durations must be a mapping of phases, got {durations!r}")
            data["durations"] = {**(data.get("durations") or {}), **durations}
    if isinstance(data.get("durations"), dict):
        data["durations"] = {
            phase: parse_duration(str(value)) for phase, value in data["durations"].items()
        }
    where = terms or config_dir() / "competition.yaml"
    try:
        return CompetitionTemplate.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid competition terms ({where}): {problems}") from None


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"cannot read the competition terms {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: competition terms must be a mapping of keys")
    return data
