"""A vote's jury is drawn in batches of seats; readers see one jury per vote."""

from __future__ import annotations

from deml.contracts.types import JuryDrawn, Log, whole_juries

A, B, C = "0xA", "0xB", "0xC"


def batch(r: int, jurors: list[str], block: int, deadline: int = 100) -> JuryDrawn:
    return JuryDrawn(r, jurors, [True] * len(jurors), deadline, Log(block, f"0x{block:02x}"))


def test_batches_of_one_vote_join_in_draw_order():
    first = batch(1, [A, B, A], block=5, deadline=100)
    second = batch(1, [C, A], block=6, deadline=110)
    (jury,) = whole_juries([first, second])
    assert jury.jurors == [A, B, A, C, A]
    assert jury.jurors.count(A) == 3  # one juror, its seats from both batches
    assert jury.backed == [True] * 5
    assert jury.log == first.log  # where the draw began
    assert jury.commit_deadline == 110  # the last batch's


def test_a_re_vote_stays_its_own_jury():
    juries = whole_juries([batch(1, [A], 5), batch(1, [B], 6), batch(2, [C], 9)])
    assert [(j.round, j.jurors) for j in juries] == [(1, [A, B]), (2, [C])]


def test_no_batches_no_juries():
    assert whole_juries([]) == []
