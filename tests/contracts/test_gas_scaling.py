"""Flat gas: with 500 submissions and 30 miners, no operation costs more late than early.

No function may loop over all submissions or all miners; this checks it from the outside by
comparing the gas of the same operation at the start and at the end of a large competition.
"""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from bench.gas import calldata_standard
from deml.chain import accounts
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.contracts.bindings import Competition, CompetitionFactory
from deml.contracts.commitments import hash_test_key, new_salt
from deml.contracts.types import Params
from tests.helpers.game import STEP

SUBMISSIONS = 500
COMPETITORS = 10
MINERS = 30
# Calldata is priced apart (see execution_gas); what is left may differ a little between
# calls, as a zero byte in a random salt or a slot's first write does.
TOLERANCE = 300


def model_bytes(i: int) -> bytes:
    """64 bytes, none zero, so every model costs the same calldata gas."""
    return bytes([1 + i % 255, 1 + i // 255]) * 32


def execution_gas(chain: Chain, receipt) -> int:
    """Gas used less the intrinsic 21,000 and the calldata: a larger id has more non-zero
    bytes, which costs more without any more work."""
    data = bytes(chain.w3.eth.get_transaction(receipt["transactionHash"])["input"])
    return int(receipt["gasUsed"]) - 21_000 - calldata_standard(data)


def spread(values: list[int]) -> int:
    return max(values) - min(values)


def fund(chain: Chain, accounts: list[LocalAccount]) -> None:
    for acct in accounts:
        chain.transfer(acct.address, 100 * 10**18, sender=chain.accounts[0])


@pytest.mark.anvil
def test_gas_does_not_grow_with_submissions_or_miners(anvil_chain: Chain) -> None:
    chain = anvil_chain
    everyone = accounts.from_mnemonic(DEV_MNEMONIC, 1 + COMPETITORS + MINERS + 1)
    host, competitors, miners = (
        everyone[0],
        everyone[1 : 1 + COMPETITORS],
        everyone[1 + COMPETITORS : -1],
    )
    fund(chain, everyone[1:])
    key = new_salt()
    now = chain.timestamp()
    params = Params(
        entry_fee=10**15,
        miner_stake=10**16,
        submit_deadline=now + 10 * STEP,
        reveal_deadline=now + 20 * STEP,
        vote_commit_deadline=now + 30 * STEP,
        vote_reveal_deadline=now + 40 * STEP,
        test_set_size=1000,
        max_model_bytes=64,
        max_submissions=SUBMISSIONS // COMPETITORS,
        quorum=3,
        winner_bps=9_000,
        test_key_hash=hash_test_key(key),
    )
    factory = CompetitionFactory.deploy(chain, sender=host)
    comp = factory.create(params, "bafy-dataset", "bafy-test", prize=10**18, sender=host)

    def gas(receipt) -> int:
        return execution_gas(chain, receipt)

    # Submit: the first commit of each competitor writes its record; the others update it.
    first_commits, later_commits, subs = [], [], []
    for i in range(SUBMISSIONS):
        who = competitors[i % COMPETITORS]
        model = model_bytes(i)
        sid, salt = comp.commit_model(model, sender=who)
        receipt = chain.w3.eth.get_transaction_receipt(
            comp.contract.events.SubmissionCommitted().get_logs(argument_filters={"id": sid})[0][
                "transactionHash"
            ]
        )
        (first_commits if i < COMPETITORS else later_commits).append(gas(receipt))
        subs.append((sid, who, model, salt))
    assert spread(first_commits) <= TOLERANCE
    assert spread(later_commits) <= TOLERANCE

    chain.travel_to(params.submit_deadline)
    reveals = [gas(comp.reveal(sid, model, salt, sender=who)) for sid, who, model, salt in subs]
    assert spread(reveals) <= TOLERANCE
    comp.reveal_test_key(key, sender=host)
    registrations = [gas(comp.register_miner(sender=m)) for m in miners]
    assert spread(registrations) <= TOLERANCE

    chain.travel_to(params.reveal_deadline)
    ids = [sid for sid, *_ in subs]
    scores = [500] * len(ids)  # every model scores the same: the lowest id wins the tie
    salts = {m.address: new_salt() for m in miners}
    commits = [gas(comp.commit_votes(ids, scores, salts[m.address], sender=m)) for m in miners]
    assert spread(commits) <= TOLERANCE

    chain.travel_to(params.vote_commit_deadline)
    vote_reveals = [gas(comp.reveal_votes(ids, scores, salts[m.address], sender=m)) for m in miners]
    # The first voter takes another branch; every later one costs the same.
    assert spread(vote_reveals[1:]) <= TOLERANCE

    chain.travel_to(params.vote_reveal_deadline)
    batches = [gas(comp.settle(ids[i : i + 50], sender=host)) for i in range(0, SUBMISSIONS, 50)]
    assert spread(batches[1:]) <= TOLERANCE  # the first batch also records the best
    miner_settles = [
        gas(comp.settle_miner(m.address, ids, scores, salts[m.address], sender=host))
        for m in miners
    ]
    assert spread(miner_settles) <= TOLERANCE
    finalize_big = gas(comp.finalize(sender=host))
    miner_claims = [gas(chain.transact(comp.contract.functions.claim(), sender=m)) for m in miners]
    assert spread(miner_claims) <= TOLERANCE

    # The same operations in a competition of one submission and three miners.
    small = _small_competition(chain, factory, host, competitors[0], miners[:3])
    assert abs(finalize_big - small["finalize"]) <= TOLERANCE
    assert abs(max(reveals) - small["reveal"]) <= TOLERANCE
    assert abs(max(miner_claims) - small["claim_miner"]) <= TOLERANCE
    assert comp.summary().best_id == 1


def _small_competition(
    chain: Chain,
    factory: CompetitionFactory,
    host: LocalAccount,
    competitor: LocalAccount,
    miners: list[LocalAccount],
) -> dict[str, int]:
    key = new_salt()
    now = chain.timestamp()
    params = Params(
        10**15,
        10**16,
        now + STEP,
        now + 2 * STEP,
        now + 3 * STEP,
        now + 4 * STEP,
        1000,
        64,
        50,
        3,
        9_000,
        hash_test_key(key),
    )
    comp: Competition = factory.create(
        params, "bafy-dataset", "bafy-test", prize=10**18, sender=host
    )
    comp.commit_model(model_bytes(0), sender=competitor)  # a throwaway first commit, as above
    model = model_bytes(SUBMISSIONS - 1)
    sid, salt = comp.commit_model(model, sender=competitor)
    chain.travel_to(params.submit_deadline)
    reveal = execution_gas(chain, comp.reveal(sid, model, salt, sender=competitor))
    comp.reveal_test_key(key, sender=host)
    for m in miners:
        comp.register_miner(sender=m)
    chain.travel_to(params.reveal_deadline)
    salts = {m.address: new_salt() for m in miners}
    for m in miners:
        comp.commit_votes([sid], [500], salts[m.address], sender=m)
    chain.travel_to(params.vote_commit_deadline)
    for m in miners:
        comp.reveal_votes([sid], [500], salts[m.address], sender=m)
    chain.travel_to(params.vote_reveal_deadline)
    comp.settle([sid], sender=host)
    for m in miners:
        comp.settle_miner(m.address, [sid], [500], salts[m.address], sender=host)
    finalize = execution_gas(chain, comp.finalize(sender=host))
    claim = execution_gas(chain, chain.transact(comp.contract.functions.claim(), sender=miners[0]))
    return {"reveal": reveal, "finalize": finalize, "claim_miner": claim}
