"""`reveal_blob` of `deml bench gas`: what a model revealed in blobs costs, on anvil (py-evm
takes no blob transactions), against revealing it in calldata.

For each payload size: the reveal's execution gas, its blob gas and blob count, and
`gas_equivalent`, the whole reveal priced in execution gas with blobs at the EIP-7918 floor
(a blob costs at least 8,192 times the execution base fee: execution gas + blobs × 8,192);
beside it, the calldata floor of the same bytes at 40 gas a byte (EIP-7623) and at 64 (EIP-7976).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ports import free_port
from deml.chain import accounts, blobs
from deml.chain.client import DEV_MNEMONIC, Chain
from deml.chain.localnode import LocalNode
from deml.contracts.bindings import CompetitionFactory
from deml.contracts.commitments import hash_test_key
from deml.contracts.types import Params, RevealMode

SIZES = (1024, 32 * 1024, 96 * 1024, 700 * 1024)
BLOB_FLOOR_GAS = 8_192  # EIP-7918: a blob's floor price, in units of the execution base fee
FLOORS = (40, 64)  # calldata gas per byte: EIP-7623 now, EIP-7976 next
ETHER = 10**18
SEATS = 3
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


def measure(factory_config: dict[str, int], progress: Callable[[str], None]) -> list[dict]:
    """One reveal per size, each of a random payload, on a fresh anvil."""
    with tempfile.TemporaryDirectory(prefix="deml-bench-blobs-") as tmp:
        node = LocalNode(Path(tmp))
        info, _ = node.start(port=free_port(), chain_id=31337, mnemonic=DEV_MNEMONIC, persist=False)
        try:
            chain = Chain.connect(info.url, accounts.from_mnemonic(DEV_MNEMONIC), dev=True)
            return _reveals(chain, factory_config, progress)
        finally:
            node.stop()


def _reveals(chain: Chain, config: dict[str, int], progress: Callable[[str], None]) -> list[dict]:
    host, competitor, juror = chain.accounts[0], chain.accounts[1], chain.accounts[2]
    factory = CompetitionFactory.deploy(chain, **config, sender=host)
    factory.pool().bond(2 * SEATS + 1, sender=juror)
    now = chain.timestamp()
    params = Params(
        entry_fee=ETHER // 10,
        host_bond=ETHER,
        draw_bounty=ETHER // 100,
        publish_bounty=ETHER // 100,
        submit_deadline=now + 1_000,
        reveal_deadline=now + 2_000,
        key_deadline=now + 3_000,
        vote_commit_deadline=now + 4_000,
        vote_reveal_deadline=now + 5_000,
        tally_duration=1_000,
        test_set_size=360,
        max_model_bytes=max(SIZES),
        max_submissions=len(SIZES),
        seats=SEATS,
        winner_bps=9_000,
        test_key_hash=hash_test_key(secrets.token_bytes(32)),
        reveal_mode=RevealMode.BLOB,
        samples_root=secrets.token_bytes(32),
    )
    comp = factory.create(params, CID, CID, prize=ETHER, sender=host)
    committed = {}
    for size in SIZES:
        payload = os.urandom(size)
        committed[size] = (payload, *comp.commit_model(payload, sender=competitor))
    chain.travel_to(params.submit_deadline)
    rows = []
    for size, (payload, sid, salt) in committed.items():
        progress(f"a {size:,}-byte reveal in blobs")
        receipt = comp.reveal_blobs(sid, payload, salt, sender=competitor, cid=CID)
        count = blobs.blobs_needed(size)
        execution = int(receipt["gasUsed"])
        equivalent = execution + count * BLOB_FLOOR_GAS
        row: dict[str, Any] = {
            "bytes": size,
            "blobs": count,
            "execution_gas": execution,
            "blob_gas": int(receipt["blobGasUsed"]),
            "gas_equivalent": equivalent,
        }
        for per_byte in FLOORS:
            row[f"calldata_floor_{per_byte}"] = 21_000 + per_byte * size
        row["of_calldata_floor_40"] = round(equivalent / row["calldata_floor_40"], 4)
        rows.append(row)
    return rows
