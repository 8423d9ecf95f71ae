"""The chain client against both backends: deploy, transact, decode reverts, move time."""

from __future__ import annotations

import time

import pytest

from deml import artifacts
from deml.chain.client import DEV_BALANCE_WEI, Chain
from deml.exceptions import (
    ContractCustomError,
    ContractRevert,
    TransactionError,
    custom_error_class,
)


def test_dev_accounts_are_anvils_and_funded(chain: Chain) -> None:
    assert chain.accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert chain.balance(chain.accounts[9].address) >= DEV_BALANCE_WEI - 10**18


def test_deploy_transact_and_read_back(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    receipt = chain.transact(probe.functions.store(42, 100), sender=chain.accounts[1])
    assert receipt["status"] == 1
    assert chain.call(probe.functions.value()) == 42
    (event,) = probe.events.ValueStored().process_receipt(receipt)
    assert event["args"]["by"] == chain.accounts[1].address
    assert event["args"]["value"] == 42


def test_custom_error_is_decoded_with_name_and_arguments(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    with pytest.raises(custom_error_class("ProbeValueTooLarge")) as caught:
        chain.transact(probe.functions.store(5, 1))
    err = caught.value
    assert isinstance(err, ContractCustomError)
    assert err.name == "ProbeValueTooLarge"
    assert err.arguments == {"value": 5, "limit": 1}
    assert str(err) == "ProbeValueTooLarge(value=5, limit=1)"
    assert chain.call(probe.functions.value()) == 0  # nothing was stored


def test_custom_error_with_address_and_string_arguments(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    caller = chain.accounts[2]
    with pytest.raises(custom_error_class("ProbeUnauthorized")) as caught:
        chain.call(probe.functions.forbidden(), sender=caller)
    assert caught.value.arguments == {"caller": caller.address, "reason": "forbidden"}


def test_revert_mined_on_chain_is_decoded_too(chain: Chain) -> None:
    """With the gas given, nothing is estimated: the revert is found from the mined receipt."""
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    sender = chain.accounts[3]
    nonce = chain.w3.eth.get_transaction_count(sender.address)
    with pytest.raises(custom_error_class("ProbeValueTooLarge")) as caught:
        chain.transact(probe.functions.store(7, 6), sender=sender, gas=100_000)
    assert caught.value.arguments == {"value": 7, "limit": 6}
    assert chain.w3.eth.get_transaction_count(sender.address) == nonce + 1  # it was mined


def test_a_revert_decided_by_the_block_time_is_decoded_from_its_own_block(chain: Chain) -> None:
    """A call that passed at the latest block can revert in the block that mines it (a
    deadline passed in between): the replay runs in that block, so the user reads the
    revert, not "out of gas"."""
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    deadline = chain.timestamp() + 1
    time.sleep(1.1)  # the next block comes a second later, at or after the deadline
    with pytest.raises(custom_error_class("ProbeTooLate")) as caught:
        chain.transact(probe.functions.storeBefore(1, deadline), gas=100_000)
    assert caught.value.arguments["deadline"] == deadline
    assert caught.value.arguments["timestamp"] >= deadline


def test_require_reason_string_is_decoded(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    with pytest.raises(ContractRevert) as caught:
        chain.transact(probe.functions.failWithReason())
    assert not isinstance(caught.value, ContractCustomError)
    assert caught.value.reason == "plain reason"


def test_out_of_gas_is_reported_as_a_failed_transaction(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    with pytest.raises(TransactionError, match="ran out of gas"):
        chain.transact(probe.functions.store(1, 2), gas=30_000)


def test_transfer_moves_ether(chain: Chain) -> None:
    to = chain.accounts[4].address
    before = chain.balance(to)
    chain.transfer(to, 12345, sender=chain.accounts[5])
    assert chain.balance(to) == before + 12345


def test_time_travel_sets_the_next_block_time(chain: Chain) -> None:
    start = chain.timestamp()
    chain.increase_time(3600)
    assert chain.timestamp() == start + 3600
    chain.travel_to(start + 7200)
    assert chain.timestamp() == start + 7200


def test_snapshot_and_revert_restore_state(chain: Chain) -> None:
    probe = chain.deploy(artifacts.load_fixture("Probe"))
    chain.transact(probe.functions.store(1, 10))
    snap = chain.snapshot()
    chain.transact(probe.functions.store(9, 10))
    assert chain.call(probe.functions.value()) == 9
    chain.revert(snap)
    assert chain.call(probe.functions.value()) == 1
