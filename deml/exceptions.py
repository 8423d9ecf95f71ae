"""The exceptions DeML raises: one base class, each subclass also a builtin it resembles."""

from __future__ import annotations

from typing import Any


class DemlError(Exception):
    """Base class of every error DeML raises on purpose; the CLI shows its message alone."""


class SettingsError(DemlError, ValueError):
    """A setting is missing or malformed."""


class ToolchainError(DemlError, RuntimeError):
    """A tool DeML drives (node, solc, anvil) is missing or failed."""


class ArtifactError(DemlError, LookupError):
    """A compiled contract artifact is missing, unreadable or stale."""


class ChainError(DemlError, ConnectionError):
    """The chain cannot be reached, or it is not the chain the settings expect."""


class TransactionError(DemlError, RuntimeError):
    """A transaction could not be sent or failed on chain."""


class ContractRevert(TransactionError):
    """A contract call reverted; `reason` is the decoded reason, when there is one."""

    def __init__(self, message: str, *, reason: str | None = None, data: bytes = b"") -> None:
        super().__init__(message)
        self.reason = reason
        self.data = data


class ContractCustomError(ContractRevert):
    """A revert with a Solidity custom error; `name` and `arguments` are decoded from its data.

    Each Solidity error name gets its own subclass (see `custom_error_class`), so callers can
    write `except custom_error_class("RevealTooLate")` or check `err.name`.
    """

    name: str = ""

    def __init__(self, arguments: dict[str, Any], *, data: bytes = b"") -> None:
        self.arguments = arguments
        shown = ", ".join(f"{k}={_show(v)}" for k, v in arguments.items())
        super().__init__(f"{self.name}({shown})", reason=self.name, data=data)


_CUSTOM_ERROR_CLASSES: dict[str, type[ContractCustomError]] = {}


def custom_error_class(name: str) -> type[ContractCustomError]:
    """The exception class for the Solidity custom error `name`, made once and then reused."""
    if name not in _CUSTOM_ERROR_CLASSES:
        _CUSTOM_ERROR_CLASSES[name] = type(name, (ContractCustomError,), {"name": name})
    return _CUSTOM_ERROR_CLASSES[name]


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)
