"""The web client's pages: templates plus ES modules, no front-end build step."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from live.api import ServiceDep, SpaceOut, space_out
from live.card_image import CardCache
from live.errors import LiveError
from live.preview import Preview, preview
from live.room import REACTIONS
from stoa.catalog import SpaceState

WEB_DIR = Path(__file__).parent / "web"
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

router = APIRouter(include_in_schema=False)


def ice_servers(request: Request) -> list[dict[str, Any]]:
    """The STUN/TURN servers browsers get, as RTCIceServer objects (urls, username, credential)."""
    servers: list[dict[str, Any]] = request.app.state.ice_servers
    return servers


IceDep = Annotated[list[dict[str, Any]], Depends(ice_servers)]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, service: ServiceDep) -> HTMLResponse:
    live = await service.list_spaces([SpaceState.LIVE], 50)
    scheduled = await service.list_spaces([SpaceState.SCHEDULED], 50)
    ended = await service.list_spaces(
        [SpaceState.ENDED, SpaceState.RECORDED, SpaceState.REPLAYABLE], 20
    )
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "live": [await space_out(service, s) for s in live],
            "scheduled": sorted(
                [await space_out(service, s) for s in scheduled],
                key=lambda s: s.scheduled_for or s.created_at,
            ),
            "ended": [await space_out(service, s) for s in ended],
        },
    )


def render_space_page(request: Request, space: SpaceOut, ice: list[dict[str, Any]]) -> HTMLResponse:
    """The page of a scheduled or live space: the room, joining, the stage and the controls.

    The route is replay_api's (``/spaces/{space_id}``): it shows this page until the space
    ends, and the replay after. Data flows one way, so live never imports the replay.
    """
    card = preview(space, base_url(request))
    return templates.TemplateResponse(
        request,
        "space.html",
        {
            "space": space,
            "space_json": space.model_dump(mode="json"),
            "ice_servers": ice,
            "reactions": REACTIONS,
            "preview": card,
            "oembed_url": oembed_url(request, card),
        },
    )


def render_error(request: Request, exc: LiveError) -> HTMLResponse:
    """The page for a space that cannot be shown (there is none), saying why."""
    return templates.TemplateResponse(
        request, "error.html", {"message": str(exc)}, status_code=exc.status_code
    )


def oembed_url(request: Request, card: Preview) -> str:
    return f"{base_url(request)}/oembed?" + urlencode({"url": card.url})


def base_url(request: Request) -> str:
    configured: str | None = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/spaces/{space_id}/card.png")
async def card_png(request: Request, space_id: str, service: ServiceDep) -> Response:
    """The space's preview card image (1200x630 PNG), cached by what it shows."""
    space = await space_out(service, await service.space(space_id))
    cards: CardCache = request.app.state.cards
    card = preview(space, base_url(request))
    etag = f'"{CardCache.key(card)}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    _, png = await asyncio.to_thread(cards.get, card)
    return Response(png, media_type="image/png", headers=headers)


@router.get("/spaces/{space_id}/card", response_class=HTMLResponse)
async def card_page(request: Request, space_id: str, service: ServiceDep) -> HTMLResponse:
    """A small page to embed (the oEmbed iframe): title, people, status, a link to join."""
    space = await space_out(service, await service.space(space_id))
    return templates.TemplateResponse(
        request, "card.html", {"space": space, "preview": preview(space, base_url(request))}
    )


@router.get("/oembed", include_in_schema=True, tags=["pages"])
async def oembed(
    request: Request,
    service: ServiceDep,
    url: str,
    format: str = "json",
    maxwidth: int | None = None,
) -> JSONResponse:
    """oEmbed (https://oembed.com) for links to spaces: a "rich" embed of the space's card."""
    if format != "json":
        raise HTTPException(501, detail="only format=json is served")
    match = _SPACE_URL.match(urlsplit(url).path)
    if match is None:
        raise HTTPException(404, detail="not a link to a space on this server")
    space = await space_out(service, await service.space(match.group(1)))
    body = preview(space, base_url(request)).oembed()
    if maxwidth is not None and maxwidth < int(str(body["width"])):
        body["width"] = max(200, maxwidth)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})


_SPACE_URL = re.compile(r"^/spaces/([A-Za-z0-9_-]{1,32})/?$")
