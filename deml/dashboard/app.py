"""The dashboard's web app: HTML pages that render from the JSON API and follow new blocks.

Pages are thin shells; the browser fetches `/api/...`, renders, and polls `/api/head` to
refresh when a new block arrives. The chart library (uPlot) is served from node_modules.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from deml import _paths
from deml.chain.client import Chain
from deml.dashboard.data import FactorySource, ReadModel, checked_address
from deml.dashboard.views import AccountView, ChainHead, CompetitionRow, CompetitionView
from deml.exceptions import (
    ChainError,
    DemlError,
    FactoryMissing,
    MalformedAddress,
    UnknownCompetition,
)

PACKAGE = resources.files("deml.dashboard")
# The checkout's node_modules (a wheel has none: the page then says the chart library is
# missing, and shows the tables).
# Only these files of node_modules are served, never the folder itself.
VENDOR_FILES = {
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}
# (HTTP status, error code) of each error the API and the pages explain.
ERRORS: dict[type[DemlError], tuple[int, str]] = {
    MalformedAddress: (400, "malformed_address"),
    UnknownCompetition: (404, "unknown_competition"),
    FactoryMissing: (503, "factory_missing"),
    ChainError: (503, "chain_unreachable"),
}


def create_app(
    chain: Chain,
    factory_address: FactorySource,
    *,
    rpc_url: str | None = None,
    expected_chain_id: int | None = None,
    head_ttl_s: float = 1.0,
    poll_ms: int = 2_000,
    node_modules: Path | None = None,
) -> FastAPI:
    """The dashboard over `chain`, listing the competitions of the factory at `factory_address`
    (or of whichever one the function returns, looked up again until one is found)."""
    model = ReadModel(
        chain,
        factory_address,
        rpc_url=rpc_url,
        expected_chain_id=expected_chain_id,
        head_ttl_s=head_ttl_s,
    )
    vendor = node_modules or _paths.node_modules()
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    app = FastAPI(
        title="DeML dashboard",
        summary="Competitions, leaderboards and submission histories, live from the chain.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.model = model
    app.mount("/static", StaticFiles(directory=str(PACKAGE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context |= {"poll_ms": poll_ms, "rpc_url": rpc_url or ""}
        return templates.TemplateResponse(request, name, context, status_code=status)

    def error_page(request: Request, exc: DemlError) -> Response:
        status, code = _error(exc)
        return page(request, "error.html", status, code=code, message=str(exc), page="error")

    @app.exception_handler(DemlError)
    async def explain(request: Request, exc: DemlError) -> Response:
        if request.url.path.startswith("/api/"):
            status, code = _error(exc)
            return JSONResponse({"error": code, "detail": str(exc)}, status_code=status)
        return error_page(request, exc)

    @app.middleware("http")
    async def no_store(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        # Live data: a browser or proxy must never show an old block's answer.
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    # -- JSON API (sync routes run in a thread pool; the read model serialises chain reads) --

    @app.get("/api/head", tags=["api"])
    def api_head() -> ChainHead:
        """The latest block: poll it to know when to refresh."""
        return model.head()

    @app.get("/api/competitions", tags=["api"])
    def api_competitions() -> list[CompetitionRow]:
        """Every competition the factory created, newest first."""
        return model.competitions()

    @app.get("/api/competitions/{address}", tags=["api"])
    def api_competition(address: str) -> CompetitionView:
        """One competition: timeline, miner pool, rounds, votes, jurors, leaderboard, payouts."""
        return model.competition(address)

    @app.get("/api/addresses/{address}", tags=["api"])
    def api_address(address: str) -> AccountView:
        """One address across every competition: submissions, claims, jury seats, pool bond."""
        return model.account(address)

    # -- pages ------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        return page(request, "index.html", page="competitions")

    @app.get("/competitions/{address}", include_in_schema=False)
    def competition_page(request: Request, address: str) -> Response:
        address = checked_address(address)
        status = 200
        try:
            model.require_competition(address)
        except (ChainError, FactoryMissing) as exc:
            # Serve the page anyway: it says why, and renders as soon as the chain answers.
            status, _ = _error(exc)
        return page(request, "competition.html", status, page="competition", address=address)

    @app.get("/addresses/{address}", include_in_schema=False)
    def address_page(request: Request, address: str) -> Response:
        address = checked_address(address)
        return page(request, "address.html", page="address", address=address)

    @app.get("/search", include_in_schema=False)
    def search(q: str = "") -> Response:
        """The header's search box: a competition's page, or else an address's."""
        text = q.strip()
        if not text:
            return RedirectResponse("/", status_code=303)
        try:
            target = f"/competitions/{model.require_competition(text)}"
        except DemlError:
            # Not a competition (or no chain to ask): the address page explains what it is.
            target = f"/addresses/{quote(text, safe='')}"
        return RedirectResponse(target, status_code=303)

    @app.get("/vendor/{name}", include_in_schema=False)
    def vendor_file(name: str) -> Response:
        relative = VENDOR_FILES.get(name)
        path = vendor / relative if relative else None
        if path is None or not path.is_file():
            return JSONResponse(
                {"error": "not_found", "detail": f"{name} is not installed: run `make setup`"},
                status_code=404,
            )
        return FileResponse(path)

    return app


def _error(exc: DemlError) -> tuple[int, str]:
    for kind, answer in ERRORS.items():
        if isinstance(exc, kind):
            return answer
    return 500, "error"
