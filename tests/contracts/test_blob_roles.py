"""Both roles in a blob competition (issue 15), on anvil.

The competitor's reveal carries the payload in blobs and names a copy in content storage. A
miner fetches the blobs from its node, falls back to the copy when its sources lack or forge
them, and never scores a model it could not fetch. Blobs that match the commitment but are
not a payload (an attacker committed garbage) score 0, the same on every miner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from deml.chain import blobs
from deml.chain.blob_sources import BeaconBlobs, BlobSource, BlobUnavailable, StoredCopy
from deml.chain.client import Chain
from deml.contracts.bindings import Competition
from deml.contracts.commitments import blob_model_hash, commitment_to, new_salt
from deml.contracts.types import RevealMode, Status
from deml.exceptions import TransientError
from deml.model import payload as payloads
from deml.roles import competitor, miner
from deml.roles.architectures import Catalogue, catalogue_for
from deml.scoring.sandbox import Sandbox
from deml.storage.local import LocalStore
from tests.helpers import models
from tests.helpers.beacon_standin import beacon_standin
from tests.helpers.game import Game

pytestmark = pytest.mark.anvil


@pytest.fixture
def chain(anvil_chain: Chain) -> Chain:
    """Blobs need anvil: py-evm takes no blob transactions."""
    return anvil_chain


@pytest.fixture
def blob_game(create: Callable[..., Game]) -> Game:
    return create(reveal_mode=RevealMode.BLOB, max_model_bytes=300_000)


@pytest.fixture(scope="module")
def packed() -> bytes:
    """A real model's payload: the reference torch MLP, packed as a competitor would."""
    digits = models.digits()
    return payloads.pack(models.onnx_model("torch-mlp"), digits.spec, codec_name="zlib").payload


def catalogue(comp: Competition, root: Path) -> Catalogue:
    """The miner's architectures (none here: no payload is disputable)."""
    return catalogue_for(comp, LocalStore(root / "miner-store"), root / "miner")


class Forger:
    """A blob source that answers with blobs of its own choosing: a lying node or beacon API."""

    name = "a forging source"

    def fetch(self, versioned_hashes: list[bytes], block_number: int) -> list[bytes] | None:
        return blobs.encode(b"a model the miner was never meant to score")


def reveal_as_competitor(
    game: Game, who: LocalAccount, payload: bytes, state: Path, store: LocalStore
) -> int:
    """Commit and reveal through the competitor's role, its copy put in `store`."""
    comp = game.competition
    entries = competitor.Entries(state, comp.address, who.address)
    entry = competitor.commit(comp, payload, who, entries)
    assert entry.submission_id is not None
    game.to_reveal()
    report = competitor.reveal_due(comp, who, entries, lambda p: str(store.put(p)))
    assert [sid for sid, _ in report.revealed] == [entry.submission_id]
    return entry.submission_id


def test_a_competitor_reveals_in_blobs_and_a_miner_scores_the_model(
    blob_game: Game, competitors: list[LocalAccount], tmp_path: Path, packed: bytes
) -> None:
    who, comp = competitors[0], blob_game.competition
    store = LocalStore(tmp_path / "content")  # content served by CID to every machine
    sid = reveal_as_competitor(blob_game, who, packed, tmp_path / "competitor", store)

    (event,) = comp.blob_reveals(submission_id=sid)
    assert event.versioned_hashes == blobs.versioned_hashes(blobs.encode(packed))
    assert store.get(event.cid) == packed  # the copy, for once the blobs expire
    assert comp.submission(sid).status == Status.REVEALED and comp.revealed_ids() == [sid]

    # The miner, on another machine: the node's RPC gives the blobs (anvil keeps them).
    sources = miner.blob_sources_for(comp, LocalStore(tmp_path / "miner-store"))
    revealed = miner.revealed_model(comp, sid, sources)
    assert revealed.payload == packed and revealed.model_hash == comp.model_hash(packed)
    digits = models.digits()
    book = miner.MinerBook(tmp_path / "miner", comp.address, "0xminer")
    with Sandbox() as sandbox:
        (direct,) = sandbox.score_all([packed], digits.x_test, digits.y_test, digits.spec)
        data = (digits.x_test, digits.y_test, digits.spec)
        scored = miner.score_models(
            comp, [sid], data, book, sandbox, sources, catalogue(comp, tmp_path)
        )
    assert scored[sid].error is None and scored[sid].correct == direct.correct > 400
    record = book.load().scores[str(sid)]
    assert record["model_hash"] == comp.model_hash(packed).hex()  # what the commitment bound
    # Which samples it got right, kept for a dispute, and the hash the vote commits to.
    assert record["bitmap"] == direct.bitmap.hex()
    assert keccak(bytes.fromhex(record["bitmap"])).hex() == record["correctness"]


def test_the_miner_falls_back_to_the_stored_copy_and_refuses_forged_blobs(
    blob_game: Game,
    competitors: list[LocalAccount],
    tmp_path: Path,
    packed: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    comp = blob_game.competition
    store = LocalStore(tmp_path / "content")
    sid = reveal_as_competitor(blob_game, competitors[0], packed, tmp_path / "c", store)
    with beacon_standin() as expired:  # a beacon API that answers 404: the blobs are gone

        def sources(cid: str) -> list[BlobSource]:
            return [Forger(), BeaconBlobs(expired.url, comp.chain), StoredCopy(store, cid)]

        with caplog.at_level(logging.WARNING, logger="deml.chain.blob_sources"):
            revealed = miner.revealed_model(comp, sid, sources)
    assert revealed.payload == packed  # from the copy, checked by re-encoding it
    assert "a forging source gave blobs that are not the ones named on chain" in caplog.text


def test_blobs_no_source_gives_are_retried_never_scored(
    blob_game: Game, competitors: list[LocalAccount], tmp_path: Path, packed: bytes
) -> None:
    comp = blob_game.competition
    shared = LocalStore(tmp_path / "content")
    sid = reveal_as_competitor(blob_game, competitors[0], packed, tmp_path / "c", shared)
    book = miner.MinerBook(tmp_path / "miner", comp.address, "0xminer")
    with beacon_standin() as expired:

        def sources(cid: str) -> list[BlobSource]:  # a miner whose store lacks the copy
            return [BeaconBlobs(expired.url, comp.chain), StoredCopy(LocalStore(tmp_path), cid)]

        digits = models.digits()
        data = (digits.x_test, digits.y_test, digits.spec)
        with pytest.raises(BlobUnavailable, match="none of the beacon API") as raised:
            miner.score_models(
                comp, [sid], data, book, Sandbox(), sources, catalogue(comp, tmp_path)
            )
    assert isinstance(raised.value, TransientError)  # the task retries; the next pass too
    assert book.load().scores == {}  # no score recorded by guess


def garbage_reveal(game: Game, who: LocalAccount, carried: list[bytes], size: int) -> int:
    """An attacker's submission: a commitment to `carried` blobs and `size`, revealed as such.
    The contract checks only that the blobs are the committed ones, and their count."""
    comp, salt = game.competition, new_salt()
    model_hash = blob_model_hash(size, blobs.versioned_hashes(carried))
    sid = comp.commit(commitment_to(model_hash, salt, who.address, comp.address), sender=who)
    game.to_reveal()
    comp.reveal_blobs(sid, bytes(size), salt, sender=who, blob_list=carried, size=size)
    assert comp.submission(sid).status == Status.REVEALED
    return sid


@pytest.mark.parametrize("flaw", ["version", "size"])
def test_committed_blobs_that_are_not_a_payload_score_0_on_every_miner(
    blob_game: Game, competitors: list[LocalAccount], tmp_path: Path, packed: bytes, flaw: str
) -> None:
    comp = blob_game.competition
    carried = blobs.encode(packed)
    if flaw == "version":  # the first data byte of the first field element: the version
        first = bytearray(carried[0])
        first[1] = 2
        carried, size, why = [bytes(first)], len(packed), "unknown blob encoding version 2"
    else:  # the right encoding, a size one byte longer than it holds
        size, why = len(packed) + 1, f"its reveal declares {len(packed) + 1:,}"
    sid = garbage_reveal(blob_game, competitors[0], carried, size)
    digits = models.digits()
    data = (digits.x_test, digits.y_test, digits.spec)
    correctness = set()
    for name in ("miner-a", "miner-b"):
        book = miner.MinerBook(tmp_path / name, comp.address, name)
        sources = miner.blob_sources_for(comp, LocalStore(tmp_path / name / "store"))
        (result,) = miner.score_models(
            comp, [sid], data, book, Sandbox(), sources, catalogue(comp, tmp_path)
        ).values()
        assert result.correct == 0 and why in str(result.error)
        record = book.load().scores[str(sid)]
        assert record["correct"] == 0 and why in str(record["error"])
        correctness.add(record["correctness"])
    assert correctness == {keccak(bytes((len(digits.y_test) + 7) // 8)).hex()}  # all wrong
