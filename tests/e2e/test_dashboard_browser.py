"""The dashboard in a real headless Chromium, served over HTTP against an anvil chain.

The browser is Debian's chromium driven by playwright-core (tests/js/dashboard_browser.mjs);
screenshots go to tests/output/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from deml.chain import blobs
from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import LocalNode, NodeInfo
from deml.contracts.types import RevealMode
from deml.dashboard.app import create_app
from deml.dashboard.data import reader_chain
from tests.helpers.dashboard import World, play_revote, played_on, ranked
from tests.helpers.game import create_game
from tests.helpers.project import ROOT, free_port

DRIVER = ROOT / "tests" / "js" / "dashboard_browser.mjs"
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "tests" / "output"
POLL_MS = 300  # the page polls this often; a new block shows within about this long


class Browser:
    """One headless Chromium page, driven over the node script's pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _do(self, op: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the browser driver exited ({self.proc.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"{op} {args}: {answer['error']}")
        return answer["ok"]

    def goto(self, url: str) -> int:
        return int(self._do("goto", url=url))

    def eval(self, js: str) -> Any:
        return self._do("eval", js=js)

    def wait(self, js: str, timeout_ms: int = 15_000) -> None:
        self._do("wait", js=js, timeout_ms=timeout_ms)

    def text(self, selector: str) -> str:
        return str(self.eval(f"document.querySelector({json.dumps(selector)}).innerText"))

    def wait_text(self, selector: str, fragment: str) -> None:
        """Wait until the element's text contains `fragment`."""
        self.wait(
            f"(document.querySelector({json.dumps(selector)})?.innerText ?? '')"
            f".includes({json.dumps(fragment)})"
        )

    def rendered(self) -> None:
        """Wait for the first render from the API."""
        self.wait("document.body.dataset.block !== undefined")

    def screenshot(self, name: str) -> Path:
        OUTPUT.mkdir(exist_ok=True)
        return Path(self._do("screenshot", path=str(OUTPUT / f"dashboard-{name}.png")))

    def errors(self) -> list[str]:
        return list(self._do("errors"))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Server:
    """uvicorn serving an app on a free port, in a thread of this process."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the dashboard server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("needs node and playwright-core from npm (`make setup`)")
    if not CHROMIUM.is_file():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (`make setup`)")
    driver = Browser()
    yield driver
    driver.close()


@pytest.fixture(autouse=True)
def own_errors(browser: Browser) -> None:
    """Each test sees only its own console errors: the browser is shared by the module, and
    a page visited by an earlier test (the 404 page on purpose) may have logged some, or go on
    polling a competition the test's rollback removed (a 404 each poll). So each test starts on
    a blank page. Tests run in any order across the xdist workers."""
    browser._do("goto", url="about:blank")
    browser.errors()


@pytest.fixture(scope="module")
def world(anvil_node: NodeInfo) -> Iterator[World]:
    """Three played competitions on the session's anvil node, rolled back after the module."""
    with played_on(anvil_node) as played:
        yield played


@pytest.fixture(scope="module")
def server(world: World, anvil_node: NodeInfo) -> Iterator[Server]:
    app = create_app(
        reader_chain(anvil_node.url, dev=True),
        world.factory.address,
        rpc_url=anvil_node.url,
        head_ttl_s=0.1,
        poll_ms=POLL_MS,
    )
    running = Server(app)
    yield running
    running.stop()


@pytest.fixture
def rollback(world: World) -> Iterator[World]:
    """The world, with whatever the test adds to the chain rolled back afterwards."""
    snapshot = world.chain.snapshot()
    yield world
    world.chain.revert(snapshot)


def count(browser: Browser, selector: str) -> int:
    return int(browser.eval(f"document.querySelectorAll({json.dumps(selector)}).length"))


def test_competition_page_follows_votes_and_publication_without_reload(
    browser: Browser, server: Server, rollback: World
) -> None:
    voting = rollback.voting
    jury = voting.jury()
    assert browser.goto(f"{server.url}/competitions/{voting.competition.address}") == 200
    browser.rendered()
    assert "Vote reveal" in browser.text("#timeline li.current")
    assert "ends in" in browser.text("#timeline li.current")  # the live countdown
    assert browser.text("#dataset-cid").startswith("bafkrei")
    # The drawn jury: one row per juror, only the revealer's vote shown so far.
    assert count(browser, "#jury tbody tr") == len(jury)
    revealer = f"#jury tr[data-juror='{rollback.revealer}']"
    assert "Revealed" in browser.text(revealer) and "A" in browser.text(f"{revealer} .vote-chip")
    hidden = browser.eval(
        "[...document.querySelectorAll('#jury tbody tr')]"
        ".filter((row) => row.innerText.includes('hidden until revealed')).length"
    )
    assert hidden == len(jury) - 1
    vote = "#votes tbody tr:first-child"
    assert "#1 wins with 330" in browser.text(vote)
    assert f"{jury[rollback.revealer]} of 5" in browser.text(vote) and "Leads" in browser.text(vote)
    assert "once the competition is finalized" in browser.text("#payouts")
    browser.screenshot("competition-voting")
    browser.eval("window.notReloaded = true")

    # New blocks: the other jurors reveal, and the vote gets its majority.
    for juror in ranked(jury)[1:]:
        voting.reveal_vote(juror)
    browser.wait_text(vote, "5 of 5")
    browser.wait_text(vote, "Majority")
    assert count(browser, "#jury .vote-chip") == len(jury)
    # The reveal window closes and the winning vector is published: the scores appear.
    voting.to_tally()
    browser.wait_text("#timeline li.current", "Settle")
    assert "skipped" in browser.text("#timeline li[data-phase='tally']")
    voting.publish_all()
    browser.wait_text("#leaderboard tbody tr:first-child", "330 / 360")
    first = browser.text("#leaderboard tbody tr:first-child")
    assert first.startswith("1") and "91.7%" in first and "Root" in first
    voting.finalize()
    browser.wait_text("#payouts", "Submission #1 wins")
    assert "Winner" in browser.text("#leaderboard tr.winner")
    assert browser.eval("window.notReloaded") is True
    browser.screenshot("competition-finalized")
    assert browser.errors() == []


def test_finished_competition_shows_jury_votes_and_payouts(
    browser: Browser, server: Server, world: World
) -> None:
    finished = world.finished
    assert browser.goto(f"{server.url}/competitions/{finished.competition.address}") == 200
    browser.rendered()
    assert "320 / 360" in browser.text("#leaderboard tr.winner")
    majority = browser.text("#votes tr.majority")
    assert "#3 wins with 320" in majority and "Majority" in majority
    assert "#1 wins with 320" in browser.text("#votes tbody tr:not(.majority)")
    # Two jurors lose their seats, each with its reason; the burned stake is counted.
    liar = browser.text(f"#jury tr[data-juror='{world.liar}']")
    assert "burned 0.1 ETH: voted against the majority's vote" in liar
    assert "never revealed" in browser.text(f"#jury tr[data-juror='{world.silent}']")
    assert count(browser, "#jury tr.slashed") == 2
    assert "2 seat(s) burned: 0.2 ETH" in browser.text("#seats-burned")
    assert "kept (released)" in browser.text(f"#jury tr[data-juror='{world.honest[0]}']")
    assert "0.3466 ETH" in browser.text(f"#jury tr[data-juror='{world.honest[0]}']")
    assert "Submission #3 wins 9.36 ETH" in browser.text("#payouts")
    assert "skipped" in browser.text("#timeline li[data-phase='revote']")
    assert "80 units" in browser.text("#pool")
    browser.screenshot("competition-finished")
    assert browser.errors() == []


def test_host_fault_shows_the_vote_and_the_burned_bond(
    browser: Browser, server: Server, world: World
) -> None:
    game = world.host_fault
    assert browser.goto(f"{server.url}/competitions/{game.competition.address}") == 200
    browser.rendered()
    majority = browser.text("#votes tr.majority")
    assert "HOST_FAULT" in majority and "Majority" in majority
    assert "voted against the majority's vote" in browser.text("#jury tr.slashed")
    assert "Host Fault" in browser.text("#payouts .outcome")
    assert "the host's bond is burned" in browser.text("#payouts")
    assert "4.5 ETH" in browser.text("#payouts")  # the prize per revealed model
    assert "10 ETH" in browser.text("#burned")
    assert "Nothing was scored" in browser.text("#leaderboard")
    browser.screenshot("competition-host-fault")
    assert browser.errors() == []


def test_revote_page_shows_both_rounds_and_follows_the_new_draw(
    browser: Browser, server: Server, rollback: World
) -> None:
    game, absent = play_revote(rollback)
    assert browser.goto(f"{server.url}/competitions/{game.competition.address}") == 200
    browser.rendered()
    assert "Re-vote" in browser.text("#timeline li.current")
    assert "done" in browser.text("#timeline li[data-phase='tally']")
    assert "fresh jury of 11 seats" in browser.text("#votes .round[data-round='2']")
    absent_row = browser.text(f"#jury .round[data-round='1'] tr[data-juror='{absent}']")
    assert "burned 0.1 ETH: drafted for the first vote, never revealed a vote" in absent_row
    assert browser.eval("window.notReloaded = true")
    game.draw()  # a new block: the re-vote's jury
    browser.wait("document.querySelectorAll(\"#jury .round[data-round='2'] tbody tr\").length > 0")
    assert "11 seats drawn" in browser.text("#jury .round[data-round='2']")
    current = browser.text("#timeline li.current")
    assert "Vote commit" in current and "(re-vote)" in current and "ends in" in current
    assert "done" in browser.text("#timeline li[data-phase='revote']")
    assert browser.eval("window.notReloaded") is True
    browser.screenshot("competition-revote")
    assert browser.errors() == []


def test_a_blob_reveal_shows_its_blobs(browser: Browser, server: Server, rollback: World) -> None:
    world = rollback
    game = create_game(
        world.chain, world.factory, world.host, reveal_mode=RevealMode.BLOB, max_model_bytes=300_000
    )
    who = world.competitors[0]
    model = bytes(range(256)) * 800  # two blobs
    game.submit(who, model)
    game.to_reveal()
    game.competition.reveal_blobs(1, model, game.salts[1], sender=who)
    assert browser.goto(f"{server.url}/competitions/{game.competition.address}") == 200
    browser.rendered()
    assert "EIP-4844 blobs" in browser.text("#reveal-mode")
    badge = "#leaderboard tr[data-id='1'] .badge.blob"
    # The first render may come from the cache as it was before the reveal's block (seen in CI
    # with both workers busy): the page shows it within a poll or two.
    browser.wait_text(badge, "in 2 blobs")
    assert browser.text(badge) == "in 2 blobs"
    hashes = browser.eval(f"document.querySelector({json.dumps(badge)}).title").split("\n")
    assert hashes == ["0x" + h.hex() for h in blobs.versioned_hashes(blobs.encode(model))]
    browser.screenshot("blob-reveal")
    assert browser.errors() == []


def test_address_page_charts_accuracy_live(
    browser: Browser, server: Server, rollback: World
) -> None:
    c1 = rollback.competitors[0].address
    assert browser.goto(f"{server.url}/addresses/{c1}") == 200
    browser.rendered()
    chart = "document.querySelector('#chart')"
    assert browser.eval(f"{chart}.dataset.points") == "2"  # the two scored submissions
    assert browser.eval(f"{chart}.querySelector('canvas') !== null")  # uPlot drew it
    assert "310 / 360" in browser.text("#submissions")
    assert "4.6 ETH" in browser.text("#claims")
    assert "never bonded" in browser.text("#bond")
    browser.screenshot("address")
    browser.eval("window.notReloaded = true")

    voting = rollback.voting
    for juror in ranked(voting.jury())[1:]:
        voting.reveal_vote(juror)
    voting.to_tally()
    voting.publish_all()
    browser.wait(f"{chart}.dataset.points === '3'")
    assert "330 / 360" in browser.text("#submissions")
    assert browser.eval("window.notReloaded") is True
    browser.screenshot("address-scored")
    assert browser.errors() == []


def test_juror_page_shows_seats_rewards_and_bond(
    browser: Browser, server: Server, world: World
) -> None:
    juror = world.honest[0]
    assert browser.goto(f"{server.url}/addresses/{juror}") == 200
    browser.rendered()
    first = browser.text(f"#jury tr[data-competition='{world.finished.competition.address}']")
    assert "Settled" in first and "kept (released)" in first and "0.3466 ETH" in first
    assert "10 units (1 ETH)" in browser.text("#bond")
    assert "No submissions yet" in browser.text("#submissions")
    assert "No scored submissions yet" in browser.text("#chart")
    liar = world.liar
    assert browser.goto(f"{server.url}/addresses/{liar}") == 200
    browser.rendered()
    assert "burned: voted against the majority's vote" in browser.text("#jury tr.slashed")
    browser.screenshot("address-juror")
    assert browser.errors() == []


def test_list_and_error_pages_help(browser: Browser, server: Server, world: World) -> None:
    assert browser.goto(server.url) == 200
    browser.rendered()
    assert count(browser, "#competitions tbody tr") == 3
    assert "Vote Reveal" in browser.text(f"tr[data-address='{world.voting.competition.address}']")
    fault = browser.text(f"tr[data-address='{world.host_fault.competition.address}']")
    assert "Finalized" in fault and "Host Fault" in fault
    assert "block" in browser.text("#chain-status")
    browser.screenshot("competitions")

    nobody = "0x000000000000000000000000000000000000dEaD"
    assert browser.goto(f"{server.url}/competitions/{nobody}") == 404
    assert "never created one there" in browser.text("#error")
    assert browser.goto(f"{server.url}/addresses/0xnope") == 400
    assert "40 hex digits" in browser.text("#error")
    assert browser.goto(f"{server.url}/addresses/{nobody}") == 200
    browser.rendered()
    assert "No submissions yet" in browser.text("#submissions")
    assert "not been drawn" in browser.text("#jury")


def test_page_says_when_no_chain_answers_and_recovers(
    browser: Browser, world: World, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    down = Server(create_app(reader_chain(url, dev=True), world.factory.address, rpc_url=url))
    node = LocalNode(tmp_path)
    try:
        assert browser.goto(down.url) == 200
        browser.wait("!document.getElementById('banner').hidden")
        assert "no chain answers" in browser.text("#banner")
        assert "deml chain up" in browser.text("#banner")
        assert browser.text("#chain-status") == "chain unreachable"
        assert "Waiting for the chain" in browser.text("#competitions")
        browser.screenshot("no-chain")
        # A fresh chain comes up: the page notices by itself, and says what is missing now.
        node.start(port=port, chain_id=31337, mnemonic=DEV_MNEMONIC)
        browser.wait_text("#chain-status", "block 0")
        browser.wait_text("#banner", "no CompetitionFactory at")
    finally:
        node.stop()
        down.stop()
