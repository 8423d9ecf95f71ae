"""The permissionless bookkeeping every role may do: draw a jury, settle a tally, finalize,
settle the jurors, claim.

Each step first reads the chain and sends only what is still needed, so any number of
callers (the host, every miner, a retry of the same task) can run it without harm; a step
that another caller won a moment earlier is taken as done.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from deml.contracts.bindings import Competition
from deml.contracts.types import HOST_FAULT, Phase, VoteState, whole_juries
from deml.exceptions import custom_error_class

# Ids settled per call: a submission no vector covered costs about 28k gas (bench/gas.py),
# so 64 of them stay under 2M.
SETTLE_BATCH = 64
# Jurors settled per call: about 50k gas each (a pool call or two).
JUROR_BATCH = 32
# Phases in which a vote's jury may be drawn (the first from the submit deadline on).
DRAWABLE = (Phase.REVEAL, Phase.KEY, Phase.VOTE_COMMIT, Phase.REVOTE)


def draw_jury_if_due(comp: Competition, caller: LocalAccount) -> bool:
    """Draw the current vote's jury if it is due: seal the draw, then (two blocks later) draw
    it, a batch of seats per call, each earning its part of the draw bounty. On a dev chain the
    blocks are mined here; elsewhere the next run draws. Return whether the jury is drawn."""
    summary = comp.summary()
    if comp.round(summary.round).drawn:
        return True
    sealed = comp.pool().sealed_target(comp.address) != 0
    if not sealed and (comp.phase() not in DRAWABLE or summary.submissions == 0):
        return False
    try:
        return _draw(comp, caller)
    except custom_error_class("NoDrawDue"):
        return True  # another caller drew it first


def _draw(comp: Competition, caller: LocalAccount) -> bool:
    pool = comp.pool()
    target = pool.sealed_target(comp.address)
    if target and comp.chain.w3.eth.block_number > target + pool.draw_window():
        pool.expire_seal(comp.address, sender=caller)  # its block hash is gone: seal again
        target = 0
    if not target:
        comp.draw_jury(sender=caller)  # seals
        target = pool.sealed_target(comp.address)
    if comp.chain.dev:
        while comp.chain.w3.eth.block_number <= target:
            comp.chain.mine()
    elif comp.chain.w3.eth.block_number <= target:
        return False
    while not comp.draw_jury(sender=caller):
        pass  # the next batch of seats
    return True


def settle_tally_if_due(comp: Competition, caller: LocalAccount) -> int:
    """After a tally's deadline, settle every submission it has not settled; return how many."""
    summary = comp.summary()
    round_ = comp.round(summary.round)
    if comp.phase() != Phase.TALLY or comp.chain.timestamp() < round_.tally_deadline:
        return 0
    done = {s.id for s in comp.submission_settlements() if s.round == summary.round}
    pending = [i for i in comp.revealed_ids() if i not in done]
    for start in range(0, len(pending), SETTLE_BATCH):
        comp.settle_submissions(pending[start : start + SETTLE_BATCH], sender=caller)
    return len(pending)


def finalize(comp: Competition, caller: LocalAccount) -> bool:
    """Finalize once the clock and the votes allow it; return whether it is final. A draw left
    sealed (say, nothing was revealed after all) is drawn first: the contract will not end
    with one open, since bond changes wait for it."""
    phase = comp.phase()
    if phase == Phase.FINALIZED:
        return True
    if phase != Phase.SETTLE:
        return False
    if comp.pool().sealed_target(comp.address):
        _draw(comp, caller)
    try:
        comp.finalize(sender=caller)
    except custom_error_class("SettlementTooEarly"):
        annul_if_due(comp, caller)
        return False  # a dispute window is still open, or a challenge, or a re-vote follows
    except custom_error_class("AlreadyFinalized"):
        pass  # another caller was first
    return True


def annul_if_due(comp: Competition, caller: LocalAccount) -> bool:
    """After a decided root's dispute window: if its bitmaps are not all out (nobody can check
    it), annul it (its majority slashed, a re-vote follows); return whether it was annulled."""
    r = comp.summary().round
    round_ = comp.round(r)
    if not round_.majority or round_.leader == HOST_FAULT or comp.overturned(r):
        return False
    if comp.chain.timestamp() < round_.tally_deadline:
        return False
    disputes = comp.disputes()
    if disputes.cleared(comp.address, r):
        return False
    try:
        disputes.annul(comp.address, sender=caller)
    except (custom_error_class("NotAnnullable"), custom_error_class("NoDecidedRoot")):
        return False  # a challenge is still open, or another caller annulled it first
    return True


def settle_jurors(comp: Competition, caller: LocalAccount) -> int:
    """After finalization, release or burn the seats of every juror not yet settled, in every
    vote; return how many were settled."""
    if comp.phase() != Phase.FINALIZED:
        return 0
    settled = 0
    for drawn in whole_juries(comp.juries()):
        pending = [
            juror
            for juror in dict.fromkeys(drawn.jurors)
            if comp.seat(drawn.round, juror).backed
            and comp.seat(drawn.round, juror).state != VoteState.SETTLED
        ]
        for start in range(0, len(pending), JUROR_BATCH):
            comp.settle_jurors(drawn.round, pending[start : start + JUROR_BATCH], sender=caller)
        settled += len(pending)
    return settled


def claim_if_owed(comp: Competition, account: LocalAccount) -> int:
    """Claim what `account` is owed (bounties any time; the rest once final); return it."""
    if comp.claimable(account.address) == 0:
        return 0
    return comp.claim(sender=account)
