"""Reverts made readable: each custom error of ours gets a message that says what to do."""

from __future__ import annotations

from datetime import UTC, datetime

from deml.exceptions import ContractCustomError


def readable(err: ContractCustomError) -> ContractCustomError:
    """`err` with a message that says what happened in words, where we know the error."""
    hint = _HINTS.get(err.name)
    if hint is not None:
        err.args = (f"{err.name}: {hint(err.arguments)}",)
    return err


def _when(timestamp: int, now: int) -> str:
    at = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = timestamp - now
    span = f"{abs(delta) // 3600}h {abs(delta) % 3600 // 60}m {abs(delta) % 60}s"
    return f"{at} ({'in ' + span if delta > 0 else span + ' ago'})"


_HINTS = {
    "CommitTooLate": lambda a: f"submissions closed at {_when(a['deadline'], a['now'])}",
    "RevealTooEarly": lambda a: f"the reveal window opens at {_when(a['opensAt'], a['now'])}",
    "RevealTooLate": lambda a: f"the reveal window closed at {_when(a['deadline'], a['now'])}",
    "RegistrationTooLate": lambda a: (
        f"miner registration closed at {_when(a['deadline'], a['now'])}"
    ),
    "VoteCommitTooEarly": lambda a: f"vote commits open at {_when(a['opensAt'], a['now'])}",
    "VoteCommitTooLate": lambda a: f"vote commits closed at {_when(a['deadline'], a['now'])}",
    "VoteRevealTooEarly": lambda a: f"vote reveals open at {_when(a['opensAt'], a['now'])}",
    "VoteRevealTooLate": lambda a: f"vote reveals closed at {_when(a['deadline'], a['now'])}",
    "SettlementTooEarly": lambda a: f"settlement opens at {_when(a['opensAt'], a['now'])}",
    "EntryFeeMismatch": lambda a: f"the entry fee is exactly {a['required']} wei, not {a['sent']}",
    "StakeMismatch": lambda a: f"the miner stake is exactly {a['required']} wei, not {a['sent']}",
    "ModelTooLarge": lambda a: f"the model is {a['size']:,} bytes; the cap is {a['limit']:,}",
    "SubmissionLimitReached": lambda a: f"{a['competitor']} used all {a['limit']} submissions",
    "CommitmentMismatch": lambda a: (
        f"model and salt do not match submission {a['id']}'s commitment from {a['caller']}"
    ),
    "TestKeyMismatch": lambda a: "that key does not hash to the test key hash fixed at creation",
    "TestKeyWithheld": lambda a: "the host never revealed the test key; finalize to pay out",
    "SettlementIncomplete": lambda a: (
        f"{a['submissionsLeft']} submissions and {a['minersLeft']} miners still need settling"
    ),
    "NothingToClaim": lambda a: f"{a['account']} has nothing to claim",
    "AlreadyClaimed": lambda a: f"{a['account']} has already claimed",
}
