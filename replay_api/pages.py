"""The space's page, ``/spaces/{space_id}``: the live room until the space ends, then its replay;
and ``/search``, what was said across every replayable space, each hit a link to its moment.

The route lives here, downstream of live (data flows live -> recorder -> workers -> replay), so
live's page is a plain function (`live.pages.render_space_page`) this route calls for scheduled
and live spaces. The replay page is a template plus ES modules under ``replay_api/web``, which
reuse live's base template, styles and small modules (``/static/api.js``, ``/static/dom.js``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from live.api import ServiceDep, space_out
from live.errors import LiveError
from live.pages import WEB_DIR as LIVE_WEB_DIR
from live.pages import IceDep, base_url, oembed_url, render_error, render_space_page
from live.preview import preview
from replay_api.deps import CatalogDep
from replay_api.errors import BadRequest
from replay_api.search import MAX_OFFSET, MAX_QUERY_CHARS, SearchResults, run_search
from replay_api.spaces import replay_out
from stoa.catalog import SpaceState

WEB_DIR = Path(__file__).parent / "web"
STATIC_DIR = WEB_DIR / "static"
STATIC_PATH = "/replay/static"
# Replay templates first; live's base template and error page behind them.
templates = Jinja2Templates(directory=[WEB_DIR / "templates", LIVE_WEB_DIR / "templates"])

router = APIRouter(include_in_schema=False)

_BEFORE = frozenset({SpaceState.SCHEDULED, SpaceState.LIVE})
SEARCH_PAGE_HITS = 20


@router.get("/spaces/{space_id}", response_class=HTMLResponse)
async def space_page(
    request: Request, space_id: str, service: ServiceDep, catalog: CatalogDep, ice: IceDep
) -> HTMLResponse:
    """The live room of a scheduled or live space; the replay of one that is over."""
    try:
        record = await service.space(space_id)
        space = await space_out(service, record)
    except LiveError as exc:
        return render_error(request, exc)
    if record.state in _BEFORE:
        return render_space_page(request, space, ice)
    replay = await replay_out(catalog, record)
    card = preview(space, base_url(request))
    return templates.TemplateResponse(
        request,
        "replay.html",
        {
            "replay": replay,
            "replay_json": replay.model_dump(mode="json"),
            "duration": duration_text(replay.duration_s),
            "preview": card,
            "oembed_url": oembed_url(request, card),
            "static": STATIC_PATH,
        },
    )


@router.get("/search", response_class=HTMLResponse)
async def search_page(request: Request, q: str = "", offset: str = "0") -> HTMLResponse:
    """Search what was said in every replayable space; a hit opens the replay at its moment.

    A page of plain links and a form (it works without JavaScript); a query that cannot be
    searched is a 400 page that says why, with the query left in the box to fix.
    """
    q = q.strip()
    results: SearchResults | None = None
    error: str | None = None
    if len(q) > MAX_QUERY_CHARS:
        error = f"A search is at most {MAX_QUERY_CHARS} characters; this one has {len(q)}."
    elif q:
        try:
            results = await run_search(
                request.app.state.search,
                q,
                space_id=None,
                limit=SEARCH_PAGE_HITS,
                offset=_page_offset(offset),
            )
        except BadRequest as exc:
            error = str(exc)
    return templates.TemplateResponse(
        request,
        "search.html",
        {
            "q": q,
            "results": results,
            "error": error,
            "offset": _page_offset(offset),
            "page_hits": SEARCH_PAGE_HITS,
            "max_chars": MAX_QUERY_CHARS,
            "clock": clock_text,
        },
        status_code=400 if error else 200,
    )


def _page_offset(offset: str) -> int:
    """The page's offset from its link: hits to skip (at most ``MAX_OFFSET``); not a number: 0."""
    if not (offset.isascii() and offset.isdigit()):
        return 0
    digits = offset.lstrip("0") or "0"
    return MAX_OFFSET if len(digits) > len(str(MAX_OFFSET)) else min(int(digits), MAX_OFFSET)


def clock_text(seconds: float) -> str:
    """``1:02:05`` or ``2:05``: a moment in a space, as a player shows it."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def duration_text(seconds: float | None) -> str:
    """``1 h 05 min``, ``12 min 03 s`` or ``40 s``; empty when unknown."""
    if seconds is None:
        return ""
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
