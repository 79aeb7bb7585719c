"""The space's page, ``/spaces/{space_id}``: the live room until the space ends, then its replay.

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
from replay_api.spaces import replay_out
from stoa.catalog import SpaceState

WEB_DIR = Path(__file__).parent / "web"
STATIC_DIR = WEB_DIR / "static"
STATIC_PATH = "/replay/static"
# Replay templates first; live's base template and error page behind them.
templates = Jinja2Templates(directory=[WEB_DIR / "templates", LIVE_WEB_DIR / "templates"])

router = APIRouter(include_in_schema=False)

_BEFORE = frozenset({SpaceState.SCHEDULED, SpaceState.LIVE})


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
