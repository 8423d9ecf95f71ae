"""Turn a revert, as either backend reports it, into a readable ContractRevert.

anvil (over HTTP) gives the revert data as hex on web3's ContractLogicError.data.
eth-tester gives it only inside the message of TransactionFailed, as the repr of a bytes
object ("execution reverted: b'...'"), or as the plain reason string for `require`.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import abi_to_signature, collapse_if_tuple

from deml import artifacts
from deml.exceptions import ContractRevert, custom_error_class

# Custom errors by 4-byte selector: each one's ABI entry.
ErrorTable = dict[bytes, dict[str, Any]]

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string), from require/revert("...")
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), from asserts and arithmetic
PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised internal function",
}
_REVERTED_PREFIX = "execution reverted"


def error_table(abi: list[dict[str, Any]]) -> ErrorTable:
    """The custom errors an ABI declares, by selector."""
    return {
        keccak(text=abi_to_signature(item))[:4]: item for item in abi if item["type"] == "error"
    }


@cache
def _runtime_errors() -> ErrorTable:
    table: ErrorTable = {}
    for name in artifacts.names():
        table.update(error_table(artifacts.load(name).abi))
    return table


def runtime_errors() -> ErrorTable:
    """Every custom error the shipped (runtime) contracts declare: a fresh copy to extend."""
    return dict(_runtime_errors())


def decode_revert_data(data: bytes, errors: ErrorTable | None = None) -> ContractRevert:
    """The exception a revert with these bytes stands for (custom errors from `errors`,
    by default the runtime contracts')."""
    selector, body = data[:4], data[4:]
    try:
        if selector == ERROR_STRING_SELECTOR:
            (reason,) = decode(["string"], body)
            return ContractRevert(f"reverted: {reason}", reason=reason, data=data)
        if selector == PANIC_SELECTOR:
            (code,) = decode(["uint256"], body)
            what = PANIC_CODES.get(code, "unknown panic")
            return ContractRevert(f"panic 0x{code:02x}: {what}", reason=what, data=data)
        table = _runtime_errors() if errors is None else errors
        if abi := table.get(selector):
            types = [collapse_if_tuple(i) for i in abi["inputs"]]
            values = [_readable(v, t) for v, t in zip(decode(types, body), types, strict=True)]
            names = [i["name"] or f"arg{n}" for n, i in enumerate(abi["inputs"])]
            return custom_error_class(abi["name"])(dict(zip(names, values, strict=True)), data=data)
    except DecodingError:
        pass
    if not data:
        return ContractRevert("reverted without a reason", data=data)
    return ContractRevert(f"reverted with unknown error data 0x{data.hex()}", data=data)


def revert_from_exception(
    exc: Exception, errors: ErrorTable | None = None
) -> ContractRevert | None:
    """The ContractRevert hidden in a web3 or eth-tester exception, or None if it is no revert."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert_data(bytes.fromhex(data[2:]), errors)
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return decode_revert_data(bytes.fromhex(data["data"].removeprefix("0x")), errors)
    message = str(exc.args[0]) if exc.args else str(exc)
    if not message.startswith(_REVERTED_PREFIX):
        return None
    detail = message[len(_REVERTED_PREFIX) :].lstrip(": ").strip()
    if detail.startswith(("b'", 'b"')):
        try:
            raw = ast.literal_eval(detail)  # a bytes literal only; literal_eval runs no code
        except (ValueError, SyntaxError):
            raw = None
        if isinstance(raw, bytes):
            return decode_revert_data(raw, errors)
    if not detail:
        return ContractRevert("reverted without a reason")
    return ContractRevert(f"reverted: {detail}", reason=detail)


def _readable(value: Any, abi_type: str) -> Any:
    """Checksum addresses, so a message shows them as wallets and explorers do."""
    if abi_type == "address":
        return to_checksum_address(value)
    return value
