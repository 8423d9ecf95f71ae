"""Chain reads cached per block: views memoised per head, event logs fetched incrementally.

The head is the latest block, asked of the node at most once per `ttl_s`. A new head clears
the memoised views; logs are append-only, so each new head only fetches the blocks after the
last one scanned. When the last scanned block is no longer on the chain (a reorg, or a dev
chain reverted to a snapshot) every log and timestamp is dropped and fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hexbytes import HexBytes
from web3.exceptions import BlockNotFound

from deml.chain.client import Chain

T = TypeVar("T")
LogFetcher = Callable[[int, int], Sequence[Any]]


@dataclass(frozen=True)
class Head:
    """The latest block, as the cache last saw it."""

    number: int
    hash: str
    timestamp: int


@dataclass
class _Logs:
    entries: list[Any]
    scanned_to: int  # the last block fetched, inclusive


class BlockCache:
    """Memoised views per head, incremental logs and block timestamps for one chain."""

    def __init__(
        self, chain: Chain, *, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._chain = chain
        self._ttl_s = ttl_s
        self._clock = clock
        self._head: Head | None = None
        self._checked_at = float("-inf")
        self._memo: dict[Hashable, Any] = {}
        self._logs: dict[Hashable, _Logs] = {}
        self._timestamps: dict[int, int] = {}

    def head(self) -> Head:
        """The latest block; a new one clears the memoised views."""
        now = self._clock()
        if self._head is not None and now - self._checked_at < self._ttl_s:
            return self._head
        block = self._chain.w3.eth.get_block("latest")
        head = Head(
            int(block["number"]), HexBytes(block["hash"]).to_0x_hex(), int(block["timestamp"])
        )
        self._checked_at = now
        if self._head is None or head.hash != self._head.hash:
            if self._head is not None and not self._on_chain(self._head, head):
                self._logs.clear()
                self._timestamps.clear()
            self._memo.clear()
            self._head = head
        return head

    @property
    def current(self) -> Head:
        """The head as last asked, without asking again: one read works on one block."""
        return self._head or self.head()

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per head."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]

    def logs(self, key: Hashable, fetch: LogFetcher, from_block: int = 0) -> list[Any]:
        """Every log `fetch(first, last)` returns up to the head, fetching only new blocks."""
        head = self.current
        cached = self._logs.get(key)
        if cached is None:
            cached = self._logs[key] = _Logs([], from_block - 1)
        if cached.scanned_to < head.number:
            cached.entries.extend(fetch(cached.scanned_to + 1, head.number))
            cached.scanned_to = head.number
        return cached.entries

    def timestamp(self, block_number: int) -> int:
        """The timestamp of a block (kept until the chain under it changes)."""
        if block_number not in self._timestamps:
            block = self._chain.w3.eth.get_block(block_number)
            self._timestamps[block_number] = int(block["timestamp"])
        return self._timestamps[block_number]

    def _on_chain(self, old: Head, new: Head) -> bool:
        """Whether `old` is still part of the chain that ends at `new`."""
        if new.number <= old.number:
            return False
        try:
            block = self._chain.w3.eth.get_block(old.number)
        except BlockNotFound:
            return False
        return HexBytes(block["hash"]).to_0x_hex() == old.hash
