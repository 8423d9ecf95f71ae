"""The dashboard's JSON API and pages, against an anvil chain holding played competitions."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from deml.chain import blobs
from deml.chain.client import Chain
from deml.chain.localnode import NodeInfo
from deml.contracts.types import HOST_FAULT, RevealMode
from deml.dashboard.app import create_app
from deml.dashboard.data import reader_chain
from tests.helpers.dashboard import (
    FINISHED_SCORES,
    SEATS,
    UNITS,
    VOTING_SCORES,
    World,
    draw_where,
    play_revote,
    played_on,
    ranked,
)
from tests.helpers.game import (
    BOUNTY,
    DATASET_CID,
    FEE,
    PRIZE,
    SEAT,
    TEST_CID,
    TEST_SET,
    Game,
    create_game,
    deploy_factory,
    vector,
)
from tests.helpers.project import free_port

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its test client; the installed httpx works the same.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

NOBODY = "0x000000000000000000000000000000000000dEaD"
STEPS = [
    "submit",
    "reveal",
    "key",
    "vote_commit",
    "vote_reveal",
    "tally",
    "revote",
    "settle",
    "finalized",
]


@pytest.fixture(scope="module")
def world(anvil_node: NodeInfo) -> Iterator[World]:
    """Three played competitions on the session's anvil node, rolled back after the module."""
    with played_on(anvil_node) as played:
        yield played


@pytest.fixture
def rollback(world: World) -> Iterator[World]:
    """The world, with whatever the test adds to the chain rolled back afterwards."""
    snapshot = world.chain.snapshot()
    yield world
    world.chain.revert(snapshot)


@pytest.fixture
def client(world: World, anvil_node: NodeInfo) -> TestClient:
    """The dashboard over its own read-only connection, seeing every new block at once."""
    app = create_app(
        reader_chain(anvil_node.url, dev=True),
        world.factory.address,
        rpc_url=anvil_node.url,
        head_ttl_s=0,
    )
    return TestClient(app)


def view_of(client: TestClient, game: Game) -> dict:
    reply = client.get(f"/api/competitions/{game.competition.address}")
    assert reply.status_code == 200, reply.text
    return reply.json()


def by_id(view: dict) -> dict[int, dict]:
    return {entry["id"]: entry for entry in view["leaderboard"]}


def jurors_of(view: dict, r: int = 1) -> dict[str, dict]:
    return {j["address"]: j for j in view["jurors"] if j["round"] == r}


def states(view: dict) -> dict[str, str]:
    return {step["phase"]: step["state"] for step in view["timeline"]}


def block_time(world: World, block: int) -> int:
    return int(world.chain.w3.eth.get_block(block)["timestamp"])


def test_competitions_lists_each_with_phase_outcome_and_jury(
    client: TestClient, world: World
) -> None:
    reply = client.get("/api/competitions")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    rows = reply.json()
    assert [(r["address"], r["phase"], r["outcome"]) for r in rows] == [
        (world.voting.competition.address, "vote_reveal", "pending"),
        (world.host_fault.competition.address, "finalized", "host_fault"),
        (world.finished.competition.address, "finalized", "winner"),
    ]
    voting = rows[0]
    assert voting["prize"] == str(PRIZE)  # wei as a string: JSON numbers stop at 2**53
    # Held: the prize, the host's bond, the bounties (the draw's is owed, not yet claimed) and
    # two buy-ins.
    assert voting["pool"] == str(2 * PRIZE + 3 * BOUNTY + 2 * FEE)
    assert voting["next_deadline"] == world.voting.competition.round(1).reveal_deadline
    assert (voting["submissions"], voting["revealed"], voting["seats"], voting["round"]) == (
        2,
        2,
        SEATS,
        1,
    )


def test_timeline_marks_the_phases_a_competition_passed_by(
    client: TestClient, world: World
) -> None:
    finished = view_of(client, world.finished)
    assert [s["phase"] for s in finished["timeline"]] == STEPS
    # A root won: no tally, no re-vote.
    assert states(finished) == {
        **dict.fromkeys(STEPS[:5], "done"),
        "tally": "skipped",
        "revote": "skipped",
        "settle": "done",
        "finalized": "current",
    }
    assert finished["timeline"][0]["ends_at"] == world.finished.params.submit_deadline
    voting = view_of(client, world.voting)
    current = [s for s in voting["timeline"] if s["state"] == "current"]
    # The vote's windows run from its draw, not from the creation parameters.
    assert current == [
        {
            "phase": "vote_reveal",
            "ends_at": world.voting.competition.round(1).reveal_deadline,
            "state": "current",
        }
    ]
    assert [states(voting)[p] for p in STEPS[5:]] == ["upcoming"] * 4


def test_root_majority_ranks_the_published_scores(client: TestClient, world: World) -> None:
    view = view_of(client, world.finished)
    c1, c2, c3 = (a.address for a in world.competitors)
    ranked_rows = [
        (e["rank"], e["id"], e["owner"], e["score"], e["scored_by"]) for e in view["leaderboard"]
    ]
    assert ranked_rows == [
        (1, 3, c2, 320, "root"),
        (2, 2, c1, 310, "root"),
        (3, 1, c1, 300, "root"),
        (None, 4, c3, None, None),  # never revealed: not in the vote
    ]
    board = by_id(view)
    assert board[3]["winner"] and not board[2]["winner"]
    assert board[3]["accuracy"] == pytest.approx(320 / TEST_SET)
    assert board[4]["status"] == "committed" and board[3]["status"] == "revealed"
    # Scored when the winning vector's leaves were published.
    (published,) = world.finished.competition.scores_published()
    assert board[3]["scored_at"] == block_time(world, published.log.block_number)
    assert (view["dataset_cid"], view["test_cid"]) == (DATASET_CID, TEST_CID)


def test_votes_show_each_root_its_seats_and_the_majority(client: TestClient, world: World) -> None:
    view = view_of(client, world.finished)
    game = world.finished
    jury = game.jury()
    honest_seats = sum(jury[j] for j in world.honest)
    winning, lost = view["votes"]
    assert winning == {
        "round": 1,
        "vote": "0x" + game.ballots[world.honest[0]][0].hex(),
        "host_fault": False,
        "root": "0x" + vector(FINISHED_SCORES).root.hex(),
        "winner_id": 3,
        "winner_score": 320,
        "seats": honest_seats,
        "leads": True,
        "majority": True,
    }
    assert (lost["winner_id"], lost["seats"], lost["leads"], lost["majority"]) == (
        1,
        jury[world.liar],
        False,
        False,
    )
    (round_,) = view["rounds"]
    assert (round_["drawn"], round_["seats"], round_["backed_seats"]) == (True, SEATS, SEATS)
    # The silent juror's seats never came in: they count against every vote.
    assert round_["revealed_seats"] == SEATS - jury[world.silent]
    assert (round_["leader"], round_["leader_seats"], round_["majority"]) == (
        winning["vote"],
        honest_seats,
        True,
    )


def test_jury_shows_who_keeps_its_seats_and_who_burns_them(
    client: TestClient, world: World
) -> None:
    view = view_of(client, world.finished)
    jurors = jurors_of(view)
    jury = world.finished.jury()
    assert set(jurors) == set(jury)
    assert sum(j["seats"] for j in jurors.values()) == SEATS
    assert {a: j["backed"] for a, j in jurors.items()} == jury
    liar, silent = jurors[world.liar], jurors[world.silent]
    assert liar["slashed"] and liar["slash_reason"] == "voted against the majority's vote"
    assert liar["vote"] == "0x" + world.finished.ballots[world.liar][0].hex()
    assert silent["slashed"] and "never revealed" in silent["slash_reason"]
    assert (silent["state"], silent["vote"]) == ("committed", None)  # its vote stays hidden
    for honest in world.honest:
        assert not jurors[honest]["slashed"] and jurors[honest]["slash_reason"] is None
    # The honest juror that claimed was settled by its claim: paid per backed seat.
    claimed = jurors[world.honest[0]]
    assert claimed["state"] == "settled"
    assert claimed["reward"] == str(int(view["payouts"]["per_seat"]) * claimed["backed"])
    assert jurors[world.honest[1]]["reward"] is None  # not settled yet
    assert view["miner_pool"] == {
        "address": world.pool.address,
        "seat_stake": str(SEAT),
        "total_units": 8 * UNITS,
        "open_seals": 0,
    }


def test_payouts_account_for_every_wei(client: TestClient, world: World) -> None:
    view = view_of(client, world.finished)
    payouts = view["payouts"]
    entries = {e["address"]: e for e in payouts["entries"]}
    c2 = world.competitors[1].address
    assert (payouts["outcome"], payouts["winner_id"]) == ("winner", 3)
    # 90% of the prize and the (uncapped) buy-ins; the rest to the earning seats.
    assert payouts["winner_amount"] == str(9 * (PRIZE + 4 * FEE) // 10)
    assert entries[c2]["claimed"] == payouts["winner_amount"] and entries[c2]["claimable"] == "0"
    assert entries[c2]["roles"] == ["competitor"]
    # The host's bond comes back, with the second draw bounty nobody needed.
    assert entries[world.host.address]["owed"] == str(PRIZE + BOUNTY)
    # Whoever drew the jury and published the scores earned both bounties.
    assert (entries[world.anyone.address]["roles"], entries[world.anyone.address]["owed"]) == (
        ["bounty"],
        str(2 * BOUNTY),
    )
    assert entries[world.liar]["owed"] == entries[world.silent]["owed"] == "0"
    assert entries[world.honest[0]]["claimed"] == str(
        int(payouts["per_seat"]) * world.finished.jury()[world.honest[0]]
    )
    # Nothing stranded: what is still claimable is exactly what the contract holds.
    competition = world.finished.competition
    claimable = sum(int(e["claimable"]) for e in entries.values())
    assert claimable == competition.liabilities() == competition.balance()
    assert int(payouts["burned"]) < SEATS  # rounding dust only


def test_host_fault_majority_burns_the_bond_and_splits_the_prize(
    client: TestClient, world: World
) -> None:
    view = view_of(client, world.host_fault)
    game = world.host_fault
    fault, dissent = view["votes"]
    assert (fault["vote"], fault["host_fault"], fault["root"], fault["winner_id"]) == (
        "0x" + HOST_FAULT.hex(),
        True,
        None,
        None,
    )
    assert fault["majority"] and fault["seats"] == SEATS - game.jury()[world.dissenter]
    assert not dissent["host_fault"] and dissent["winner_id"] == 1
    jurors = jurors_of(view)
    assert jurors[world.dissenter]["slash_reason"] == "voted against the majority's vote"
    assert [a for a, j in jurors.items() if j["slashed"]] == [world.dissenter]
    # Nothing was scored; the host loses its whole bond.
    assert all(e["score"] is None and e["rank"] is None for e in view["leaderboard"])
    payouts = view["payouts"]
    assert payouts["outcome"] == "host_fault" and payouts["winner_id"] is None
    assert PRIZE <= int(payouts["burned"]) < PRIZE + SEATS
    assert int(view["burned"]) == int(payouts["burned"])
    jury_share = PRIZE // 10
    assert payouts["jury_amount"] == str(jury_share)
    assert payouts["prize_per_reveal"] == str((PRIZE - jury_share) // 2)
    entries = {e["address"]: e for e in payouts["entries"]}
    for competitor in (world.competitors[0], world.competitors[2]):
        # Its share of the prize, and its buy-in back.
        assert entries[competitor.address]["owed"] == str((PRIZE - jury_share) // 2 + FEE)
    assert entries[world.host.address]["owed"] == str(2 * BOUNTY)  # bounties nobody earned
    assert states(view)["tally"] == "skipped"


def test_voting_competition_shows_the_jury_before_the_votes_are_in(
    client: TestClient, world: World
) -> None:
    view = view_of(client, world.voting)
    jury = world.voting.jury()
    (vote,) = view["votes"]
    assert (vote["winner_id"], vote["winner_score"], vote["seats"]) == (
        1,
        VOTING_SCORES[1],
        jury[world.revealer],
    )
    assert vote["leads"] and not vote["majority"]
    (round_,) = view["rounds"]
    assert (round_["revealed_seats"], round_["majority"]) == (jury[world.revealer], False)
    jurors = jurors_of(view)
    assert jurors[world.revealer]["state"] == "revealed"
    assert jurors[world.revealer]["vote"] == vote["vote"]
    others = [j for a, j in jurors.items() if a != world.revealer]
    assert others and all(j["state"] == "committed" and j["vote"] is None for j in others)
    # Until the reveal window closes nobody has lost a seat.
    assert not any(j["slashed"] for j in jurors.values())
    assert all(e["score"] is None for e in view["leaderboard"])
    assert view["payouts"] is None and view["outcome"] == "pending"


def test_a_new_block_refreshes_the_answers(client: TestClient, rollback: World) -> None:
    voting = rollback.voting
    for juror in ranked(voting.jury())[1:]:
        voting.reveal_vote(juror)
    view = view_of(client, voting)
    (vote,) = view["votes"]
    assert vote["seats"] == SEATS and vote["majority"]
    voting.to_tally()
    view = view_of(client, voting)
    assert view["phase"] == "settle" and states(view)["tally"] == "skipped"
    voting.publish_all()
    board = by_id(view_of(client, voting))
    assert [(board[i]["rank"], board[i]["score"]) for i in (1, 2)] == [(1, 330), (2, 290)]
    voting.finalize()
    view = view_of(client, voting)
    assert (view["payouts"]["outcome"], view["payouts"]["winner_id"]) == ("winner", 1)
    assert by_id(view)[1]["winner"]


def test_a_tally_scores_what_a_majority_of_seats_agree_on(
    client: TestClient, rollback: World
) -> None:
    # One model that honest machines score differently: every root differs, so no root wins,
    # and the tally validates submission 1 (all seats agree); submission 2 has no majority: it
    # scores zero and is not ranked, and the board says why.
    world = rollback
    game = create_game(world.chain, world.factory, world.host, seats=SEATS)
    game.know(world.miners)
    c1, c2 = world.competitors[:2]
    game.submit(c1)
    game.submit(c2)
    game.to_reveal()
    jury = draw_where(game, lambda j: max(j.values()) < 3)  # no juror is a majority alone
    order = ranked(jury)
    game.reveal(1, c1)
    game.reveal(2, c2)
    game.to_key()
    game.reveal_key()
    game.play_votes(lambda j: {1: 300, 2: 200 + order.index(j)})
    view = view_of(client, game)
    assert view["phase"] == "tally" and states(view)["tally"] == "current"
    assert not any(v["majority"] for v in view["votes"]) and len(view["votes"]) == len(order)
    game.publish_vectors()
    game.to_tally_end()
    game.settle_tally()
    board = by_id(view_of(client, game))
    assert [(board[i]["rank"], board[i]["score"], board[i]["scored_by"]) for i in (1, 2)] == [
        (1, 300, "tally"),
        (None, 0, "no majority"),
    ]
    settled = game.competition.submission_settlements()
    assert board[1]["scored_at"] == block_time(world, settled[0].log.block_number)
    game.to_disputes_end()
    game.finalize()
    view = view_of(client, game)
    assert states(view)["tally"] == "done" and states(view)["revote"] == "skipped"
    assert view["payouts"]["winner_id"] == 1
    # Every vector was published and none disagreed with a validated score: nobody burns.
    assert not any(j["slashed"] for j in view["jurors"])


def test_a_revote_shows_both_rounds(client: TestClient, rollback: World) -> None:
    game, absent = play_revote(rollback)
    voters = [j for j in game.competition.jury(1) if j != absent]
    assert len(voters) >= 2
    view = view_of(client, game)
    assert (view["phase"], view["round"]) == ("revote", 2)
    assert (states(view)["tally"], states(view)["revote"]) == ("done", "current")
    assert [(r["round"], r["drawn"]) for r in view["rounds"]] == [(1, True), (2, False)]
    first = jurors_of(view, 1)
    assert first[absent]["slash_reason"] == "drafted for the first vote, never revealed a vote"
    assert not any(first[j]["slashed"] for j in voters)  # revealed: released, unpaid
    game.draw()
    view = view_of(client, game)
    # The re-vote's jury, twice the seats plus one, votes on its own clock.
    assert (view["phase"], view["rounds"][1]["seats"]) == ("vote_commit", 2 * SEATS + 1)
    assert (states(view)["revote"], states(view)["vote_commit"]) == ("done", "current")
    commit = next(s for s in view["timeline"] if s["phase"] == "vote_commit")
    assert commit["ends_at"] == game.competition.round(2).commit_deadline
    assert sum(j["seats"] for j in view["jurors"] if j["round"] == 2) == 2 * SEATS + 1
    row = next(r for r in client.get("/api/competitions").json() if r["address"] == view["address"])
    assert (row["round"], row["phase"], row["next_deadline"]) == (
        2,
        "vote_commit",
        commit["ends_at"],
    )


def test_a_reverted_chain_forgets_what_it_undid(client: TestClient, world: World) -> None:
    snapshot = world.chain.snapshot()
    create_game(world.chain, world.factory, world.host)
    assert len(client.get("/api/competitions").json()) == 4
    world.chain.revert(snapshot)
    for _ in range(3):  # beyond the undone block: only its hash shows the change
        world.chain.mine()
    assert len(client.get("/api/competitions").json()) == 3


def test_address_history_charts_scored_accuracy(client: TestClient, world: World) -> None:
    c1 = world.competitors[0].address
    view = client.get(f"/api/addresses/{c1.lower()}").json()
    assert view["address"] == c1
    finished, host_fault, voting = (
        world.finished.competition,
        world.host_fault.competition,
        world.voting.competition,
    )
    subs = [(s["competition"], s["id"], s["status"], s["score"]) for s in view["submissions"]]
    assert subs == [
        (finished.address, 1, "revealed", 300),
        (finished.address, 2, "revealed", 310),
        (host_fault.address, 1, "revealed", None),
        (voting.address, 1, "revealed", None),
    ]
    assert [s["accuracy"] for s in view["submissions"]] == pytest.approx(
        [300 / TEST_SET, 310 / TEST_SET, None, None]
    )
    # Each point's time is the block time of the chunk that published its score.
    (published,) = finished.scores_published()
    assert view["submissions"][0]["scored_at"] == block_time(world, published.log.block_number)
    assert view["submissions"][2]["scored_at"] is None
    (commit,) = [c for c in voting.commits() if c.committer == c1]
    assert view["submissions"][3]["committed_at"] == block_time(world, commit.log.block_number)
    (claim,) = view["claims"]
    assert claim["competition"] == host_fault.address and claim["to"] == c1
    assert claim["amount"] == str((PRIZE - PRIZE // 10) // 2 + FEE)
    assert (view["claimable"], view["jury"], view["bond"]) == ([], [], None)


def test_address_shows_jury_seats_claimable_and_bond(client: TestClient, world: World) -> None:
    games = (world.finished, world.host_fault, world.voting)
    liar = world.liar
    view = client.get(f"/api/addresses/{liar}").json()
    drafted = [g for g in games if g.jury().get(liar)]
    assert [(s["competition"], s["round"]) for s in view["jury"]] == [
        (g.competition.address, 1) for g in drafted
    ]
    seat = view["jury"][0]
    assert (seat["slashed"], seat["slash_reason"]) == (True, "voted against the majority's vote")
    assert seat["backed"] == world.finished.jury()[liar]
    owed = [(g.competition.address, g.competition.claimable(liar)) for g in games]
    assert [(o["competition"], int(o["amount"])) for o in view["claimable"]] == [
        (address, amount) for address, amount in owed if amount
    ]
    # No seat of the liar's is settled yet: each one it was drafted for is still locked.
    locked = sum(g.jury()[liar] for g in drafted)
    assert view["bond"] == {
        "seat_stake": str(SEAT),
        "units": UNITS,
        "locked": locked,
        "pending_units": 0,
        "pending_slash": 0,
        "unbonding": 0,
        "unbond_at": 0,
    }
    honest = client.get(f"/api/addresses/{world.honest[0]}").json()
    first = honest["jury"][0]
    assert (first["competition"], first["state"], first["slashed"]) == (
        world.finished.competition.address,
        "settled",
        False,
    )
    (claim,) = honest["claims"]
    assert claim["amount"] == first["reward"] != "0"
    # Its claim released its seats of the finished competition.
    assert honest["bond"]["locked"] == sum(g.jury().get(world.honest[0], 0) for g in games[1:])


def test_an_address_with_nothing_has_empty_lists(client: TestClient) -> None:
    view = client.get(f"/api/addresses/{NOBODY}").json()
    assert view == {
        "address": NOBODY,
        "submissions": [],
        "claims": [],
        "claimable": [],
        "jury": [],
        "bond": None,
    }


@pytest.mark.parametrize("path", ["/api/addresses/0x1234", "/api/competitions/not-an-address"])
def test_a_malformed_address_is_a_400_that_says_why(client: TestClient, path: str) -> None:
    reply = client.get(path)
    assert reply.status_code == 400
    assert reply.json()["error"] == "malformed_address"
    assert "40 hex digits" in reply.json()["detail"]
    page = client.get(path.removeprefix("/api"))
    assert page.status_code == 400 and "40 hex digits" in page.text


def test_an_unknown_competition_is_a_404_that_says_why(client: TestClient, world: World) -> None:
    reply = client.get(f"/api/competitions/{NOBODY}")
    assert reply.status_code == 404
    assert reply.json()["error"] == "unknown_competition"
    assert world.factory.address in reply.json()["detail"]
    page = client.get(f"/competitions/{NOBODY}")
    assert page.status_code == 404 and "never created one there" in page.text


def test_no_chain_reachable_is_a_503_with_the_fix(world: World) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = TestClient(create_app(reader_chain(url, dev=True), world.factory.address, rpc_url=url))
    for path in ("/api/head", "/api/competitions", f"/api/addresses/{NOBODY}"):
        reply = client.get(path)
        assert reply.status_code == 503, path
        assert reply.json()["error"] == "chain_unreachable"
        assert url in reply.json()["detail"] and "deml chain up" in reply.json()["detail"]
    # The page is served anyway: it shows the problem and renders once the chain answers.
    page = client.get(f"/competitions/{world.voting.competition.address}")
    assert page.status_code == 503 and 'id="jury"' in page.text


def test_a_missing_factory_is_explained(anvil_node: NodeInfo, world: World) -> None:
    chain = reader_chain(anvil_node.url, dev=True)
    unset = TestClient(create_app(chain, None))
    reply = unset.get("/api/competitions")
    assert (reply.status_code, reply.json()["error"]) == (503, "factory_missing")
    assert "--factory" in reply.json()["detail"]
    wrong = TestClient(create_app(chain, NOBODY)).get("/api/competitions")
    assert wrong.status_code == 503 and "no CompetitionFactory at" in wrong.json()["detail"]
    assert TestClient(create_app(chain, NOBODY)).get(f"/api/addresses/{NOBODY}").status_code == 503
    found_later: list[str | None] = [None]
    late = TestClient(create_app(chain, lambda: found_later[0]))
    assert late.get("/api/competitions").status_code == 503
    found_later[0] = world.factory.address
    assert len(late.get("/api/competitions").json()) == 3


def test_pages_are_shareable_urls(client: TestClient, world: World) -> None:
    address = world.voting.competition.address
    for path, marker in (
        ("/", 'data-page="competitions"'),
        (f"/competitions/{address.lower()}", f'data-address="{address}"'),
        (f"/addresses/{world.host.address}", 'id="chart"'),
    ):
        page = client.get(path)
        assert page.status_code == 200 and marker in page.text, path
    found = client.get("/search", params={"q": address.lower()}, follow_redirects=False)
    assert found.headers["location"] == f"/competitions/{address}"
    other = client.get("/search", params={"q": world.host.address}, follow_redirects=False)
    assert other.headers["location"] == f"/addresses/{world.host.address}"


def test_the_chart_library_is_served_from_node_modules(client: TestClient) -> None:
    script = client.get("/vendor/uPlot.iife.min.js")
    assert script.status_code == 200 and "uPlot" in script.text
    assert client.get("/vendor/package.json").status_code == 404  # nothing else of node_modules
    assert client.get("/static/dashboard.js").status_code == 200


def test_the_api_is_documented(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/head",
        "/api/competitions",
        "/api/competitions/{address}",
        "/api/addresses/{address}",
    }


def test_the_in_process_chain_serves_the_same_api() -> None:
    chain = Chain.in_process()
    host, competitor, miner = chain.accounts[:3]
    factory = deploy_factory(chain, host)
    client = TestClient(create_app(chain, factory.address, head_ttl_s=0))
    # A miner bonds before any competition exists (enough for a re-vote's 2 * 3 + 1 seats): its
    # bond shows at once.
    factory.pool().bond(7, sender=miner)
    assert client.get("/api/competitions").json() == []
    bond = client.get(f"/api/addresses/{miner.address}").json()["bond"]
    assert (bond["units"], bond["locked"], bond["seat_stake"]) == (7, 0, str(SEAT))
    game = create_game(chain, factory, host)
    game.submit(competitor)
    (row,) = client.get("/api/competitions").json()
    assert (row["address"], row["phase"], row["submissions"]) == (
        game.competition.address,
        "submit",
        1,
    )
    view = client.get(f"/api/competitions/{game.competition.address}").json()
    assert [(e["id"], e["owner"], e["status"]) for e in view["leaderboard"]] == [
        (1, competitor.address, "committed")
    ]
    assert (view["jurors"], view["votes"], view["payouts"]) == ([], [], None)
    assert [r["drawn"] for r in view["rounds"]] == [False]
    assert view["miner_pool"]["total_units"] == 7


def test_a_blob_competition_names_each_reveals_blobs(client: TestClient, rollback: World) -> None:
    world = rollback
    game = create_game(
        world.chain, world.factory, world.host, reveal_mode=RevealMode.BLOB, max_model_bytes=300_000
    )
    c1, c2 = world.competitors[:2]
    large = bytes(range(256)) * 800  # 204,800 bytes: two blobs
    game.submit(c1, large)
    game.submit(c2)
    game.to_reveal()
    game.competition.reveal_blobs(1, large, game.salts[1], sender=c1, cid=DATASET_CID)
    view = client.get(f"/api/competitions/{game.competition.address}").json()
    assert view["reveal_mode"] == "blob"
    board = {e["id"]: e for e in view["leaderboard"]}
    expected = ["0x" + h.hex() for h in blobs.versioned_hashes(blobs.encode(large))]
    assert (board[1]["revealed_in"], board[1]["versioned_hashes"]) == ("blob", expected)
    assert (board[1]["size"], len(expected)) == (len(large), 2)
    assert (board[2]["status"], board[2]["revealed_in"], board[2]["versioned_hashes"]) == (
        "committed",
        None,
        [],
    )
    calldata = client.get(f"/api/competitions/{world.finished.competition.address}").json()
    assert calldata["reveal_mode"] == "calldata"
    revealed = [e for e in calldata["leaderboard"] if e["status"] == "revealed"]
    assert revealed and {e["revealed_in"] for e in revealed} == {"calldata"}
