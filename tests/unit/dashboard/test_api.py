"""The dashboard's JSON API and pages, against an anvil chain holding played competitions."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from deml.chain.client import Chain
from deml.chain.localnode import NodeInfo
from deml.contracts.bindings import CompetitionFactory
from deml.dashboard.app import create_app
from deml.dashboard.data import reader_chain
from tests.helpers.dashboard import TEST_SET, World, create_game, played_on
from tests.helpers.game import DATASET_CID, FEE, PRIZE, STAKE, TEST_CID
from tests.helpers.project import free_port

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its test client; the installed httpx works the same.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient

NOBODY = "0x000000000000000000000000000000000000dEaD"


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


def by_id(view: dict) -> dict[int, dict]:
    return {entry["id"]: entry for entry in view["leaderboard"]}


def test_competitions_lists_each_with_address_and_phase(client: TestClient, world: World) -> None:
    reply = client.get("/api/competitions")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    rows = reply.json()
    assert [(r["address"], r["phase"], r["outcome"]) for r in rows] == [
        (world.voting.competition.address, "vote_reveal", "pending"),
        (world.second.competition.address, "finalized", "winner"),
        (world.finished.competition.address, "finalized", "winner"),
    ]
    voting = rows[0]
    assert voting["prize"] == str(PRIZE)  # wei as a string: JSON numbers stop at 2**53
    assert voting["pool"] == str(PRIZE + 2 * FEE + 3 * STAKE)
    assert voting["next_deadline"] == world.voting.params.vote_reveal_deadline
    assert (voting["submissions"], voting["revealed"], voting["miners"]) == (2, 2, 3)


def test_finished_leaderboard_ranks_validated_scores(client: TestClient, world: World) -> None:
    view = client.get(f"/api/competitions/{world.finished.competition.address}").json()
    c1, c2, c3 = (a.address for a in world.competitors)
    ranked = [(e["rank"], e["id"], e["owner"], e["score"]) for e in view["leaderboard"]]
    assert ranked == [(1, 3, c2, 320), (2, 2, c1, 310), (3, 1, c1, 300), (None, 4, c3, None)]
    winner = by_id(view)[3]
    assert winner["winner"] and winner["status"] == "validated"
    assert winner["accuracy"] == pytest.approx(320 / TEST_SET)
    assert winner["settled_at"] is not None
    assert by_id(view)[4]["status"] == "committed"  # never revealed
    assert (view["dataset_cid"], view["test_cid"]) == (DATASET_CID, TEST_CID)
    assert [s["state"] for s in view["timeline"]] == ["done"] * 5 + ["current"]
    assert view["timeline"][0]["ends_at"] == world.finished.params.submit_deadline


def test_miners_show_agreement_and_slashes(client: TestClient, world: World) -> None:
    view = client.get(f"/api/competitions/{world.finished.competition.address}").json()
    miners = {m["address"]: m for m in view["miners"]}
    m1, m2, m3, m4, m5 = (a.address for a in world.miners)
    for honest in (m1, m2, m3):
        assert miners[honest]["agreeing"] == 3 and miners[honest]["agreement"] == 1.0
        assert not miners[honest]["slashed"]
    assert miners[m4]["slashed"] and miners[m4]["disagreeing"] == 3
    assert miners[m4]["agreement"] == 0.0
    assert miners[m5]["slashed"] and "never revealed" in miners[m5]["slash_reason"]
    assert view["miners_slashed"] == 1  # the contract counts only the settled slash


def test_payouts_account_for_every_wei(client: TestClient, world: World) -> None:
    view = client.get(f"/api/competitions/{world.finished.competition.address}").json()
    payouts = view["payouts"]
    entries = {e["address"]: e for e in payouts["entries"]}
    c2 = world.competitors[1].address
    m1, m2 = world.miners[0].address, world.miners[1].address
    assert payouts["outcome"] == "winner" and payouts["winner_id"] == 3
    assert entries[c2]["claimed"] == payouts["winner_amount"] and entries[c2]["claimable"] == "0"
    assert entries[m1]["claimed"] == entries[m2]["claimable"] != "0"
    assert entries[world.host.address]["owed"] == payouts["host_amount"]
    # Nothing stranded: the owed amounts add up to everything paid in.
    assert sum(int(e["owed"]) for e in entries.values()) == PRIZE + 4 * FEE + 5 * STAKE


def test_voting_competition_shows_pending_scores(client: TestClient, world: World) -> None:
    view = client.get(f"/api/competitions/{world.voting.competition.address}").json()
    board = by_id(view)
    assert (board[1]["pending_score"], board[1]["top_votes"], board[1]["votes"]) == (330, 1, 1)
    assert board[2]["pending_score"] == 290
    assert board[1]["score"] is None and board[1]["rank"] is None
    assert board[1]["accuracy"] == pytest.approx(330 / TEST_SET)
    assert view["payouts"] is None
    current = [s for s in view["timeline"] if s["state"] == "current"]
    assert current == [
        {
            "phase": "vote_reveal",
            "ends_at": world.voting.params.vote_reveal_deadline,
            "state": "current",
        }
    ]


def test_a_new_block_refreshes_the_answers(client: TestClient, rollback: World) -> None:
    voting = rollback.voting
    url = f"/api/competitions/{voting.competition.address}"
    assert by_id(client.get(url).json())[1]["top_votes"] == 1
    voting.reveal_votes(rollback.miners[1])
    assert by_id(client.get(url).json())[1]["top_votes"] == 2
    voting.to_settle()
    voting.competition.settle([1, 2], sender=rollback.anyone)
    board = by_id(client.get(url).json())
    assert (board[1]["rank"], board[1]["score"], board[1]["pending_score"]) == (1, 330, None)


def test_a_reverted_chain_forgets_what_it_undid(client: TestClient, world: World) -> None:
    snapshot = world.chain.snapshot()
    create_game(world.chain, world.factory, world.host)
    assert len(client.get("/api/competitions").json()) == 4
    world.chain.revert(snapshot)
    for _ in range(3):  # beyond the undone block: only its hash shows the change
        world.chain.mine()
    assert len(client.get("/api/competitions").json()) == 3


def test_address_history_charts_validated_accuracy(client: TestClient, world: World) -> None:
    c1 = world.competitors[0].address
    view = client.get(f"/api/addresses/{c1.lower()}").json()
    assert view["address"] == c1
    subs = [(s["competition"], s["id"], s["status"], s["score"]) for s in view["submissions"]]
    finished, second, voting = (
        world.finished.competition.address,
        world.second.competition.address,
        world.voting.competition.address,
    )
    assert subs == [
        (finished, 1, "validated", 300),
        (finished, 2, "validated", 310),
        (second, 1, "validated", 340),
        (voting, 1, "revealed", None),
    ]
    assert [s["accuracy"] for s in view["submissions"]] == pytest.approx(
        [300 / TEST_SET, 310 / TEST_SET, 340 / TEST_SET, None]
    )
    # Each point's time is the block time of the SubmissionSettled event that validated it.
    settled = world.second.competition.submission_settlements()
    block = world.chain.w3.eth.get_block(settled[0].log.block_number)
    assert view["submissions"][2]["settled_at"] == block["timestamp"]
    assert view["submissions"][3]["pending_score"] == 330
    (claim,) = view["claims"]
    assert claim["competition"] == second and int(claim["amount"]) > 0


def test_address_shows_claimable_and_mining(client: TestClient, world: World) -> None:
    m2 = world.miners[1].address
    view = client.get(f"/api/addresses/{m2}").json()
    assert view["submissions"] == [] and view["claims"] == []
    assert [o["competition"] for o in view["claimable"]] == [
        world.finished.competition.address,
        world.second.competition.address,
    ]
    assert [(m["status"], m["agreeing"]) for m in view["mining"]] == [
        ("settled", 3),
        ("settled", 2),
        ("committed", 0),
    ]


def test_an_address_with_nothing_has_empty_lists(client: TestClient) -> None:
    view = client.get(f"/api/addresses/{NOBODY}").json()
    assert view == {
        "address": NOBODY,
        "submissions": [],
        "claims": [],
        "claimable": [],
        "mining": [],
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
    assert page.status_code == 503 and 'id="leaderboard"' in page.text


def test_a_missing_factory_is_explained(anvil_node: NodeInfo, world: World) -> None:
    chain = reader_chain(anvil_node.url, dev=True)
    unset = TestClient(create_app(chain, None))
    reply = unset.get("/api/competitions")
    assert (reply.status_code, reply.json()["error"]) == (503, "factory_missing")
    assert "--factory" in reply.json()["detail"]
    wrong = TestClient(create_app(chain, NOBODY)).get("/api/competitions")
    assert wrong.status_code == 503 and "no CompetitionFactory at" in wrong.json()["detail"]
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
    host, competitor = chain.accounts[:2]
    factory = CompetitionFactory.deploy(chain, sender=host)
    game = create_game(chain, factory, host)
    game.submit(competitor)
    client = TestClient(create_app(chain, factory.address, head_ttl_s=0))
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
    assert view["miners"] == [] and view["payouts"] is None
