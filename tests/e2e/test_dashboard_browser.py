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

from deml.chain.client import DEV_MNEMONIC
from deml.chain.localnode import LocalNode, NodeInfo
from deml.dashboard.app import create_app
from deml.dashboard.data import reader_chain
from tests.helpers.dashboard import World, played_on
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


def test_competition_page_follows_new_blocks_without_reload(
    browser: Browser, server: Server, rollback: World
) -> None:
    voting = rollback.voting
    assert browser.goto(f"{server.url}/competitions/{voting.competition.address}") == 200
    browser.rendered()
    row = "#leaderboard tr[data-id='1']"
    assert "330 (1 of 1 votes)" in browser.text(row)
    assert "290 (1 of 1 votes)" in browser.text("#leaderboard tr[data-id='2']")
    assert "Vote reveal" in browser.text("#timeline li.current")
    assert "ends in" in browser.text("#timeline li.current")  # the live countdown
    assert browser.text("#dataset-cid").startswith("bafkrei")
    assert "once the competition is finalized" in browser.text("#payouts")
    browser.screenshot("competition-voting")
    browser.eval("window.notReloaded = true")

    voting.reveal_votes(rollback.miners[1])  # a new block: a second vote on each submission
    browser.wait_text(row, "330 (2 of 2 votes)")
    voting.to_settle()
    voting.competition.settle([1, 2], sender=rollback.anyone)
    browser.wait_text("#leaderboard tbody tr:first-child", "Validated")
    first = browser.text("#leaderboard tbody tr:first-child")
    assert "330" in first and "91.7%" in first and first.startswith("1")
    assert browser.eval("window.notReloaded") is True
    browser.screenshot("competition-settled")
    assert browser.errors() == []


def test_finished_competition_shows_miners_and_payouts(
    browser: Browser, server: Server, world: World
) -> None:
    finished = world.finished
    assert browser.goto(f"{server.url}/competitions/{finished.competition.address}") == 200
    browser.rendered()
    assert "Winner" in browser.text("#leaderboard tr.winner")
    assert "320" in browser.text("#leaderboard tr.winner")
    slashed = browser.eval("[...document.querySelectorAll('#miners tr.slashed')].length")
    assert slashed == 2  # one outvoted, one that never revealed
    assert "submission #3 wins 9.36 ETH" in browser.text("#payouts")
    browser.screenshot("competition-finished")
    assert browser.errors() == []


def test_address_page_charts_verified_accuracy_live(
    browser: Browser, server: Server, rollback: World
) -> None:
    c1 = rollback.competitors[0].address
    assert browser.goto(f"{server.url}/addresses/{c1}") == 200
    browser.rendered()
    chart = "document.querySelector('#chart')"
    assert browser.eval(f"{chart}.dataset.points") == "3"  # the three validated submissions
    assert browser.eval(f"{chart}.querySelector('canvas') !== null")  # uPlot drew it
    assert "340 / 360" in browser.text("#submissions")
    assert "pending 330" in browser.text("#submissions")
    assert "9.18 ETH" in browser.text("#claims")
    browser.screenshot("address")
    browser.eval("window.notReloaded = true")

    voting = rollback.voting
    voting.reveal_votes(rollback.miners[1])
    voting.to_settle()
    voting.competition.settle([1, 2], sender=rollback.anyone)
    browser.wait(f"{chart}.dataset.points === '4'")
    assert "330 / 360" in browser.text("#submissions")
    assert browser.eval("window.notReloaded") is True
    browser.screenshot("address-settled")
    assert browser.errors() == []


def test_list_and_error_pages_help(browser: Browser, server: Server, world: World) -> None:
    assert browser.goto(server.url) == 200
    browser.rendered()
    rows = browser.eval("[...document.querySelectorAll('#competitions tbody tr')].length")
    assert rows == 3
    assert "Vote Reveal" in browser.text(f"tr[data-address='{world.voting.competition.address}']")
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
    assert "No validated submissions yet" in browser.text("#chart")


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
