"""Revert data from either backend becomes a readable exception."""

from __future__ import annotations

from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractCustomError as Web3CustomError

from deml import artifacts
from deml.chain.revert import decode_revert_data, error_table, revert_from_exception
from deml.exceptions import ContractCustomError

VALUE_TOO_LARGE = bytes.fromhex("5d6000de")  # keccak("ProbeValueTooLarge(uint256,uint256)")[:4]
# The test fixture's errors: a connection decodes them once it has bound the fixture.
PROBE_ERRORS = error_table(artifacts.load_fixture("Probe").abi)


def test_error_string_is_the_reason() -> None:
    err = decode_revert_data(bytes.fromhex("08c379a0") + encode(["string"], ["too late"]))
    assert err.reason == "too late"
    assert str(err) == "reverted: too late"


def test_panic_code_is_explained() -> None:
    err = decode_revert_data(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert str(err) == "panic 0x11: arithmetic overflow or underflow"


def test_known_custom_error_gets_its_own_class() -> None:
    err = decode_revert_data(VALUE_TOO_LARGE + encode(["uint256", "uint256"], [5, 1]), PROBE_ERRORS)
    assert isinstance(err, ContractCustomError)
    assert type(err).__name__ == "ProbeValueTooLarge"
    assert err.arguments == {"value": 5, "limit": 1}


def test_a_runtime_contract_error_is_known_without_binding_anything() -> None:
    # CommitTooLate(uint256 deadline, uint256 now), declared by ICompetition.
    selector = error_table(artifacts.load("Competition").abi)
    (commit_too_late,) = [s for s, abi in selector.items() if abi["name"] == "CommitTooLate"]
    err = decode_revert_data(commit_too_late + encode(["uint256", "uint256"], [10, 11]))
    assert type(err).__name__ == "CommitTooLate" and err.arguments == {"deadline": 10, "now": 11}


def test_unknown_selector_and_garbage_are_shown_raw() -> None:
    assert "unknown error data 0xdeadbeef" in str(decode_revert_data(bytes.fromhex("deadbeef")))
    # A fixture's error is unknown to the runtime table.
    fixture_error = VALUE_TOO_LARGE + encode(["uint256", "uint256"], [5, 1])
    assert "unknown error data" in str(decode_revert_data(fixture_error))
    truncated = VALUE_TOO_LARGE + b"\x00" * 5  # too short for two uint256
    assert "unknown error data" in str(decode_revert_data(truncated, PROBE_ERRORS))
    assert str(decode_revert_data(b"")) == "reverted without a reason"


def test_anvil_style_exception_carries_hex_data() -> None:
    data = "0x" + (VALUE_TOO_LARGE + encode(["uint256", "uint256"], [2, 1])).hex()
    err = revert_from_exception(Web3CustomError(data, data=data), PROBE_ERRORS)
    assert isinstance(err, ContractCustomError) and err.arguments == {"value": 2, "limit": 1}


def test_eth_tester_style_message_carries_a_bytes_literal() -> None:
    raw = VALUE_TOO_LARGE + encode(["uint256", "uint256"], [3, 1])
    err = revert_from_exception(TransactionFailed(f"execution reverted: {raw!r}"), PROBE_ERRORS)
    assert isinstance(err, ContractCustomError) and err.arguments == {"value": 3, "limit": 1}
    plain = revert_from_exception(TransactionFailed("execution reverted: nope"))
    assert plain is not None and plain.reason == "nope"


def test_a_bytes_literal_is_parsed_never_run() -> None:
    hostile = TransactionFailed("execution reverted: b'' + __import__('os').system('false')")
    err = revert_from_exception(hostile)
    assert err is not None and "__import__" in str(err)


def test_other_failures_are_not_reverts() -> None:
    assert revert_from_exception(TransactionFailed("nonce too low")) is None
