"""A host sets the terms on the command line or in a file, durations with units."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from deml.exceptions import SettingsError
from deml.roles.terms import load_template, parse_duration
from tests.helpers.project import ROOT


@pytest.fixture(autouse=True)
def configs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEML_CONFIG_DIR", str(ROOT / "configs"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("45s", 45), ("10m", 600), ("6h", 21_600), ("1d", 86_400), ("2w", 1_209_600),
     ("1h30m", 5_400), (" 1D ", 86_400)],
)  # fmt: skip
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "1.5h", "-5m", "0", "0s", "1h 30m", "6hours"])
def test_a_bad_duration_says_how_to_write_one(text: str) -> None:
    with pytest.raises(SettingsError, match=r"duration"):
        parse_duration(text)


def test_a_terms_file_and_the_options_layer_over_the_defaults(tmp_path: Path) -> None:
    terms = tmp_path / "terms.yaml"
    terms.write_text("prize_eth: 2\nseats: 5\ndurations:\n  submit: 1d\n  reveal: 2h\n")
    template = load_template(terms, seats=7, durations={"reveal": "30m", "tally": "45s"})
    assert template.prize_eth == Decimal(2)  # from the file
    assert template.seats == 7  # the option wins over the file
    assert template.entry_fee_eth == Decimal("0.1")  # the default, untouched
    d = template.durations
    assert (d.submit, d.reveal, d.tally) == (86_400, 1_800, 45)
    assert d.key == 21_600  # a phase nobody named keeps the default


def test_bad_terms_name_the_file_and_the_key(tmp_path: Path) -> None:
    terms = tmp_path / "terms.yaml"
    terms.write_text("durations:\n  sumbit: 1d\n")
    with pytest.raises(SettingsError, match=r"terms\.yaml.*durations\.sumbit"):
        load_template(terms)
    with pytest.raises(SettingsError, match="cannot read the competition terms"):
        load_template(tmp_path / "missing.yaml")
    terms.write_text("- a list\n")
    with pytest.raises(SettingsError, match="must be a mapping"):
        load_template(terms)


def test_a_blob_competition_takes_models_too_large_for_calldata() -> None:
    from deml.contracts.types import RevealMode

    assert load_template().reveal_mode == "calldata"  # any chain, py-evm included
    blob = load_template(reveal_mode="blob", max_model_bytes=500_000)
    params = blob.to_params(
        now=1_000, test_key=bytes(32), test_set_size=450, samples_root=bytes(range(32))
    )
    assert params.reveal_mode == RevealMode.BLOB and params.max_model_bytes == 500_000
    with pytest.raises(SettingsError, match=r"does not fit a calldata reveal.*reveal_mode: blob"):
        load_template(max_model_bytes=500_000)
    with pytest.raises(SettingsError, match="max_model_bytes"):  # past six blobs
        load_template(reveal_mode="blob", max_model_bytes=761_852)
    with pytest.raises(SettingsError, match="reveal_mode"):
        load_template(reveal_mode="carrier pigeon")
