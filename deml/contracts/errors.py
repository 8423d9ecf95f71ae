"""Reverts made readable: each custom error of ours gets a message that says what to do."""

from __future__ import annotations

from deml._clock import deadline
from deml.exceptions import ContractCustomError


def readable(err: ContractCustomError) -> ContractCustomError:
    """`err` with a message that says what happened in words, where we know the error."""
    hint = _HINTS.get(err.name)
    if hint is not None:
        err.args = (f"{err.name}: {hint(err.arguments)}",)
    return err


_HINTS = {
    "CommitTooLate": lambda a: f"submissions closed at {deadline(a['deadline'], a['now'])}",
    "RevealTooEarly": lambda a: f"the reveal window opens at {deadline(a['opensAt'], a['now'])}",
    "RevealTooLate": lambda a: f"the reveal window closed at {deadline(a['deadline'], a['now'])}",
    "KeyTooEarly": lambda a: (
        f"the key may be revealed only once models can no longer be, from"
        f" {deadline(a['opensAt'], a['now'])}"
    ),
    "KeyTooLate": lambda a: f"the key window closed at {deadline(a['deadline'], a['now'])}",
    "DrawTooEarly": lambda a: f"the jury is drawn from {deadline(a['opensAt'], a['now'])}",
    "DrawBlockNotMined": lambda a: (
        f"the draw reads block {a['targetBlock']}'s hash; the chain is at {a['blockNumber']}"
    ),
    "VoteCommitTooLate": lambda a: f"vote commits closed at {deadline(a['deadline'], a['now'])}",
    "VoteRevealTooEarly": lambda a: f"vote reveals open at {deadline(a['opensAt'], a['now'])}",
    "VoteRevealTooLate": lambda a: f"vote reveals closed at {deadline(a['deadline'], a['now'])}",
    "TallyClosed": lambda a: f"the tally closed at {deadline(a['deadline'], a['now'])}",
    "TallyStillOpen": lambda a: f"the tally closes at {deadline(a['deadline'], a['now'])}",
    "EntryFeeMismatch": lambda a: f"the entry fee is exactly {a['required']} wei, not {a['sent']}",
    "FundingMismatch": lambda a: (
        f"create needs exactly {a['required']} wei (prize, bond, bounties), not {a['sent']}"
    ),
    "HostBondTooSmall": lambda a: (
        f"the host bond ({a['hostBond']} wei) must be at least the prize ({a['prize']} wei)"
    ),
    "WindowTooShort": lambda a: (
        f"a phase lasts {a['seconds_']} s; this factory requires at least {a['minimum']} s"
    ),
    "SeatsInvalid": lambda a: (
        f"a jury of {a['seats']} seats: it must be odd and at least {a['minimum']}"
    ),
    "PoolTooSmall": lambda a: (
        f"the miner pool holds {a['units']} seat units; {a['required']} are needed (a re-vote"
        " draws 2n+1 seats)"
    ),
    "CompetitionTooLong": lambda a: (
        f"the competition may last {a['seconds_']} s, not shorter than the pool's unbonding"
        f" delay of {a['unbondingDelay']} s"
    ),
    "BondChangesPaused": lambda a: (
        f"{a['openSeals']} jury draw(s) are sealed; bond changes wait until they are drawn"
    ),
    "WithdrawTooEarly": lambda a: (
        f"the bond can be withdrawn from {deadline(a['availableAt'], a['now'])}"
    ),
    "NotJuror": lambda a: f"{a['account']} holds no backed seat in vote {a['round']}",
    "ModelTooLarge": lambda a: f"the model is {a['size']:,} bytes; the cap is {a['limit']:,}",
    "SubmissionLimitReached": lambda a: f"{a['competitor']} used all {a['limit']} submissions",
    "CommitmentMismatch": lambda a: (
        f"model and salt do not match submission {a['id']}'s commitment from {a['caller']}"
    ),
    "TestKeyMismatch": lambda a: "that key does not hash to the test key hash fixed at creation",
    "NothingToClaim": lambda a: f"{a['account']} has nothing to claim",
}
