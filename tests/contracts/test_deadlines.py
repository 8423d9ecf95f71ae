"""`--watch` wakes at the end of each phase (deml.roles.standing.next_deadline): the host's
key goes out a second after its window opens, not up to a whole poll interval later."""

from __future__ import annotations

from collections.abc import Callable

from eth_account.signers.local import LocalAccount

from deml.roles.standing import next_deadline
from tests.helpers.game import Game


def test_the_next_deadline_is_the_end_of_the_phase_the_chain_is_in(
    create: Callable[..., Game], competitors: list[LocalAccount]
) -> None:
    game = create()
    comp, chain, params = game.competition, game.chain, game.params

    def ahead() -> int | None:
        return next_deadline(comp, chain.timestamp())

    assert ahead() == params.submit_deadline
    game.submit(competitors[0])
    game.to_reveal()
    game.draw()
    assert ahead() == params.reveal_deadline
    game.reveal(1, competitors[0])
    game.to_key()
    assert ahead() == params.key_deadline
    game.reveal_key()  # the key window's end is still ahead: one more wake-up, harmless
    assert ahead() == params.key_deadline < game.round().commit_deadline
    game.to_key_deadline()
    assert ahead() == game.round().commit_deadline
    game.to_vote_reveal()
    assert ahead() == game.round().reveal_deadline
    game.to_tally()
    assert ahead() == game.round().tally_deadline
    game.to_tally_end()
    assert ahead() is None
