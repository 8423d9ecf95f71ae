"""Models revealed in blobs (issue 15), on anvil: the round trip, and every way to tamper with
a blob reveal reverting with a named error."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount

from deml.chain import blobs
from deml.chain.client import Chain
from deml.contracts.types import RevealMode, Status
from deml.exceptions import BindingError
from tests.contracts.test_blob_transactions import send_in_blobs
from tests.helpers.game import Game
from tests.helpers.reverts import raises

pytestmark = pytest.mark.anvil
CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
SIZE = blobs.DATA_PER_BLOB + 20_000  # two blobs


@pytest.fixture
def chain(anvil_chain: Chain) -> Chain:
    """Blobs need anvil: py-evm takes no blob transactions."""
    return anvil_chain


@pytest.fixture
def blob_game(create: Callable[..., Game]) -> Game:
    return create(reveal_mode=RevealMode.BLOB, max_model_bytes=200_000)


def committed(game: Game, who: LocalAccount, payload: bytes) -> int:
    sid = game.submit(who, payload)
    game.to_reveal()
    return sid


def test_a_model_revealed_in_blobs_is_named_by_their_hashes(
    blob_game: Game, competitors: list[LocalAccount]
) -> None:
    who = competitors[0]
    payload = os.urandom(SIZE)
    sid = committed(blob_game, who, payload)
    comp = blob_game.competition
    receipt = comp.reveal_blobs(sid, payload, blob_game.salts[sid], sender=who, cid=CID)
    assert receipt["blobGasUsed"] == 2 * 131_072
    (event,) = comp.blob_reveals(submission_id=sid)
    assert event.versioned_hashes == blobs.versioned_hashes(blobs.encode(payload))
    assert (event.size, event.cid, event.owner) == (SIZE, CID, who.address)
    assert event.model_hash == comp.model_hash(payload)
    stored = comp.submission(sid)
    assert (stored.status, stored.size, stored.owner) == (Status.REVEALED, SIZE, who.address)
    assert comp.revealed_ids() == [sid] and comp.params().reveal_mode == RevealMode.BLOB
    with pytest.raises(BindingError, match="revealed in blobs"):  # not scored as missing
        comp.revealed_model(sid)


def test_tampered_blob_reveals_revert_by_name(
    blob_game: Game, competitors: list[LocalAccount]
) -> None:
    who = competitors[0]
    payload = os.urandom(SIZE)
    sid = committed(blob_game, who, payload)
    comp, salt = blob_game.competition, blob_game.salts[sid]
    right = blobs.encode(payload)
    other = blobs.encode(os.urandom(SIZE))
    with raises("CommitmentMismatch"):  # blobs other than the committed ones
        comp.reveal_blobs(sid, payload, salt, sender=who, blob_list=other)
    with raises("BlobMissing"):  # one of the two blobs left out
        comp.reveal_blobs(sid, payload, salt, sender=who, blob_list=right[:1])
    with raises("ExtraBlob"):  # a third blob
        comp.reveal_blobs(sid, payload, salt, sender=who, blob_list=[*right, other[0]])
    with raises("CommitmentMismatch"):  # the right blobs, a size they do not hold
        comp.reveal_blobs(sid, payload, salt, sender=who, size=SIZE - 1)
    # The right blobs, sent in another transaction: blobhash sees only the reveal's own.
    send_in_blobs(blob_game.chain, payload)
    with raises("BlobMissing"):  # a reveal in blob mode carrying no blobs
        comp.reveal_blobs(sid, payload, salt, sender=who, blob_list=[])
    assert comp.submission(sid).status == Status.COMMITTED
    comp.reveal_blobs(sid, payload, salt, sender=who)  # and the honest one still lands
    assert comp.submission(sid).status == Status.REVEALED


def test_each_mode_refuses_the_other_reveal(
    blob_game: Game, create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    who = competitors[0]
    payload = os.urandom(1_000)
    sid = committed(blob_game, who, payload)
    with raises("WrongRevealMode"):
        blob_game.competition.reveal(sid, payload, blob_game.salts[sid], sender=who)
    calldata_game = create()
    sid = committed(calldata_game, who, payload)
    with raises("WrongRevealMode"):
        calldata_game.competition.reveal_blobs(sid, payload, calldata_game.salts[sid], sender=who)


def test_a_blob_competition_caps_models_at_what_six_blobs_hold(
    create: Callable[..., Game],
) -> None:
    with raises("ModelCapInvalid"):
        create(reveal_mode=RevealMode.BLOB, max_model_bytes=blobs.MAX_PAYLOAD_BYTES + 1)
    game = create(reveal_mode=RevealMode.BLOB, max_model_bytes=blobs.MAX_PAYLOAD_BYTES)
    assert game.competition.params().max_model_bytes == blobs.MAX_PAYLOAD_BYTES
