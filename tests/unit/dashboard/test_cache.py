"""The dashboard's per-block cache: memoised views, incremental logs, reverts noticed."""

from __future__ import annotations

import pytest

from deml.chain.client import Chain
from deml.dashboard.cache import BlockCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    """Records each block range asked for, and returns one log per block."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def __call__(self, first: int, last: int) -> list[int]:
        self.ranges.append((first, last))
        return list(range(first, last + 1))


@pytest.fixture
def chain() -> Chain:
    return Chain.in_process()


def test_head_is_asked_at_most_once_per_ttl(chain: Chain) -> None:
    clock = Clock()
    cache = BlockCache(chain, ttl_s=1.0, clock=clock)
    first = cache.head()
    chain.mine()
    assert cache.head() == first  # within the ttl: the node is not asked
    clock.now = 1.0
    assert cache.head().number == first.number + 1


def test_views_are_memoised_until_a_new_block(chain: Chain) -> None:
    cache = BlockCache(chain, ttl_s=0)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.memo("view", compute) == 1
    assert cache.memo("view", compute) == 1
    chain.mine()
    cache.head()
    assert cache.memo("view", compute) == 2


def test_logs_are_fetched_once_then_only_from_new_blocks(chain: Chain) -> None:
    cache = BlockCache(chain, ttl_s=0)
    fetch = Fetcher()
    start = cache.head().number
    assert cache.logs("event", fetch, from_block=start) == [start]
    assert cache.logs("event", fetch, from_block=start) == [start]  # same block: no fetch
    chain.mine()
    chain.mine()
    assert cache.logs("event", fetch, from_block=start) == [start]  # the head as last asked
    cache.head()
    assert cache.logs("event", fetch, from_block=start) == [start, start + 1, start + 2]
    assert fetch.ranges == [(start, start), (start + 1, start + 2)]


def test_a_reverted_chain_drops_the_logs_and_fetches_them_again(chain: Chain) -> None:
    cache = BlockCache(chain, ttl_s=0)
    fetch = Fetcher()
    snapshot = chain.snapshot()
    chain.mine()
    chain.mine()
    seen = cache.head().number
    cache.logs("event", fetch)
    chain.revert(snapshot)
    for _ in range(3):  # past the old head, so only the changed hash tells them apart
        chain.mine()
    assert cache.head().number == seen + 1
    assert cache.logs("event", fetch) == list(range(seen + 2))
    assert fetch.ranges == [(0, seen), (0, seen + 1)]


def test_a_new_block_on_the_same_chain_keeps_the_logs(chain: Chain) -> None:
    cache = BlockCache(chain, ttl_s=0)
    fetch = Fetcher()
    cache.logs("event", fetch)
    seen = cache.head().number
    chain.mine()
    cache.head()
    cache.logs("event", fetch)
    assert fetch.ranges == [(0, seen), (seen + 1, seen + 1)]
