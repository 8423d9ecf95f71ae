"""Every exception DeML raises on purpose, grouped by area.

One base class, `DemlError`; each subclass also inherits the builtin it resembles, so callers
may catch `ValueError` or `LookupError` as they would elsewhere. Failures that may pass on
their own (a node, a store or a receipt that did not answer in time) are `TransientError`s,
and only those are retried (see `tasks.common.is_transient`); every other class is permanent:
the same call would fail the same way.

NOTE: Import nothing from deml here: every module imports this one, the scoring sandbox's
children included.
"""

from __future__ import annotations

from typing import Any


class DemlError(Exception):
    """Base class of every error DeML raises on purpose; the CLI shows its message alone."""


class TransientError(DemlError):
    """A failure that may pass by itself (nothing answered in time): retrying may help."""


# -- settings and local records ---------------------------------------------------------------


class SettingsError(DemlError, ValueError):
    """A setting is missing or malformed."""


class AccountNotConfigured(SettingsError):
    """An account index is not among the configured signers."""


class JournalError(DemlError, ValueError):
    """A record in the state dir is unreadable."""


# -- tools and artifacts ----------------------------------------------------------------------


class ToolchainError(DemlError, RuntimeError):
    """A tool DeML drives (node, solc, anvil, Prefect's server) is missing or failed."""


class ArtifactError(DemlError, LookupError):
    """A compiled contract artifact is missing, unreadable or stale."""


# -- the chain --------------------------------------------------------------------------------


class ChainError(DemlError):
    """Base of the errors about the chain connection itself (not about a transaction)."""


class ChainUnreachable(ChainError, TransientError, ConnectionError):
    """No node answers at the RPC URL, or it stopped answering mid-call."""


class WrongChain(ChainError, ValueError):
    """The node answers, but it is another chain than the settings expect."""


class DevChainRequired(ChainError, RuntimeError):
    """A dev-only operation (time travel, snapshots, the local node) on another network."""


class TransactionError(DemlError, RuntimeError):
    """A transaction could not be sent or failed on chain."""


class TransactionTimeout(TransactionError, TransientError, TimeoutError):
    """A sent transaction was not mined in time; it may still be pending."""


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


class BindingError(DemlError, LookupError):
    """Chain data the binding needs is missing or does not match what the contract recorded."""


# -- content storage --------------------------------------------------------------------------


class StorageError(DemlError, RuntimeError):
    """The storage backend refused a request or answered something unusable."""


class StorageUnavailable(TransientError, ConnectionError):
    """The storage backend cannot be reached."""


class BlockNotFound(DemlError, LookupError):
    """A block is not in the store."""


class IntegrityError(DemlError, ValueError):
    """Content does not match its CID, or its DAG is not a well-formed UnixFS file."""


class CarError(IntegrityError):
    """A CAR file is malformed, truncated, or holds a block that does not match its CID."""


class ContentTooLarge(DemlError, ValueError):
    """Content is larger than the caller allowed; nothing past the cap was read."""


class InvalidCid(DemlError, ValueError):
    """A string or byte sequence is not a CID."""


# -- datasets ---------------------------------------------------------------------------------


class DatasetError(DemlError, ValueError):
    """The source data or the dataset parameters are unusable; the message says where."""


class ManifestError(DemlError, ValueError):
    """A dataset manifest is malformed, or a file does not match what it declares."""


class DecryptionError(DemlError, ValueError):
    """A ciphertext did not decrypt: wrong key, or the file was changed or is not ours."""


class KeyFormatError(DemlError, ValueError):
    """A key is not 64 hex digits (32 bytes)."""


class KeyMissing(DemlError, FileNotFoundError):
    """The state dir holds no key for a dataset version."""


# -- models -----------------------------------------------------------------------------------


class SpecError(DemlError, ValueError):
    """A dataset spec (input shape, classes) is missing or malformed."""


class PayloadError(DemlError, ValueError):
    """A model payload is malformed, truncated, or breaks a size cap."""


class PayloadTooLarge(PayloadError):
    """A payload is over the competition's byte cap."""

    def __init__(self, size: int, cap: int, hint: str = "") -> None:
        message = f"the model payload is {size:,} bytes, over the cap of {cap:,} bytes"
        super().__init__(message + (f"; {hint}" if hint else ""))
        self.size = size
        self.cap = cap


class ModelRejected(DemlError, ValueError):
    """An ONNX model fails a safety or format check; miners score it 0."""


class SpecMismatch(ModelRejected):
    """The model's input or output does not fit the dataset spec."""


class ExportError(DemlError, ValueError):
    """A model cannot be turned into a single-file ONNX model that fits the spec."""


class PickleRefused(ExportError):
    """A pickled checkpoint was offered where an ONNX model is required."""


class TransformError(DemlError, ValueError):
    """A model cannot be rewritten by the requested transform."""


class ZooError(DemlError, ValueError):
    """A model name, a training function or the training data is unusable."""


# -- scoring ----------------------------------------------------------------------------------


class SandboxError(DemlError, RuntimeError):
    """The scoring fork server could not start or stopped answering."""


class FrameError(DemlError, RuntimeError):
    """A pipe closed early, timed out, or carried a malformed frame."""


class ServerLost(DemlError, RuntimeError):
    """The fork server died or stopped answering before it replied."""


# -- roles ------------------------------------------------------------------------------------


class HostError(DemlError, LookupError):
    """The host's records do not know this competition."""


class MinerError(DemlError, RuntimeError):
    """The miner cannot go on from here."""


class DisputeError(DemlError, ValueError):
    """No evidence can be made (or held) for this dispute: the model, the sample or the proof
    is not what a dispute needs; the message says which and why."""


class TrackingError(DemlError, RuntimeError):
    """The MLflow store cannot be reached, or a run is not what the caller says it is."""


# -- the dashboard ----------------------------------------------------------------------------


class MalformedAddress(DemlError, ValueError):
    """Text that is not an Ethereum address."""


class UnknownCompetition(DemlError, LookupError):
    """An address the factory never created a competition at."""


class FactoryMissing(DemlError, LookupError):
    """No CompetitionFactory is configured, or none lives at the configured address."""


class ProofError(DemlError, RuntimeError):
    """A zero-knowledge proof could not be made (deml.zk)."""
