"""The permissionless bookkeeping every role may do: settle, finalize, claim.

Each step first reads the chain and sends only what is still needed, so any number of
callers (the host, every miner, a retry of the same task) can run it without harm.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from deml.contracts.bindings import Competition
from deml.contracts.types import MinerStatus, Phase, Status


def settle_submissions(comp: Competition, caller: LocalAccount) -> list[int]:
    """Settle every revealed submission that still needs it; return their ids."""
    pending = [i for i in comp.revealed_ids() if comp.submission(i).status == Status.REVEALED]
    if pending:
        comp.settle(pending, sender=caller)
    return pending


def settle_miners(comp: Competition, caller: LocalAccount) -> list[str]:
    """Check every revealed, unsettled miner's votes (once all submissions are settled)."""
    done = []
    for miner in comp.revealed_miners():
        if comp.participant(miner).miner_status == MinerStatus.REVEALED:
            ids, scores, salt = comp.revealed_votes(miner)
            comp.settle_miner(miner, ids, scores, salt, sender=caller)
            done.append(miner)
    return done


def finalize(comp: Competition, caller: LocalAccount) -> bool:
    """Settle what is left and finalize, if the phase allows; return whether it is final."""
    phase = comp.phase()
    if phase == Phase.FINALIZED:
        return True
    if phase != Phase.SETTLE:
        return False
    if comp.summary().test_key_revealed:
        settle_submissions(comp, caller)
        if comp.summary().best_id:
            settle_miners(comp, caller)
    comp.finalize(sender=caller)
    return True


def claim_if_owed(comp: Competition, account: LocalAccount) -> int:
    """Claim what `account` is owed, if anything; return the amount."""
    if comp.phase() != Phase.FINALIZED or comp.claimable(account.address) == 0:
        return 0
    return comp.claim(sender=account)
