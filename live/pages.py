"""The web client's pages: templates plus ES modules, no front-end build step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from live.api import ServiceDep, space_out
from live.errors import LiveError
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
    ended = await service.list_spaces([SpaceState.ENDED, SpaceState.RECORDED], 20)
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


@router.get("/spaces/{space_id}", response_class=HTMLResponse)
async def space_page(
    request: Request, space_id: str, service: ServiceDep, ice: IceDep
) -> HTMLResponse:
    try:
        space = await space_out(service, await service.space(space_id))
    except LiveError as exc:
        return templates.TemplateResponse(
            request, "error.html", {"message": str(exc)}, status_code=exc.status_code
        )
    return templates.TemplateResponse(
        request,
        "space.html",
        {
            "space": space,
            "space_json": space.model_dump(mode="json"),
            "ice_servers": ice,
            "reactions": REACTIONS,
        },
    )
