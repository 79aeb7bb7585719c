"""Transcript downloads: the host's right, unless the host makes them public.

The host proves it with the host token (``Authorization: Bearer``), checked as the live API
checks participant tokens; the choice is kept in the catalog (``spaces.transcript_public``).
The captions (``captions.vtt``) are public regardless: they are how everyone follows the audio.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from replay_api.deps import CatalogDep, StoreDep, Viewer, ViewerDep
from replay_api.media import ERRORS
from replay_api.outputs import PRIVATE, PUBLIC_TRANSCRIPT, published, text_response
from stoa.catalog import SpaceState
from workers import keys

router = APIRouter(prefix="/api/spaces/{space_id}", tags=["replay"])

Format = Literal["txt", "srt", "vtt", "json"]
_OUTPUT = {fmt: name for name, fmt in keys.CAPTION_FORMATS.items()}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Private: no host token, or one that is not valid."},
    403: {"description": "Private, and the token is not the host's."},
}


class TranscriptInfo(BaseModel):
    public: bool = Field(description="Anyone may download the transcript.")
    host: bool = Field(description="The caller sent the host's token.")
    can_download: bool
    ready: bool = Field(description="The space is replayable: the files exist.")
    formats: dict[str, str] = Field(description="Download URL by format.")


class Visibility(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: StrictBool = Field(description="true: anyone may download; false: the host only.")


def _info(viewer: Viewer, public: bool) -> TranscriptInfo:
    base = f"/api/spaces/{viewer.space.id}"
    return TranscriptInfo(
        public=public,
        host=viewer.is_host,
        can_download=public or viewer.is_host,
        ready=viewer.space.state is SpaceState.REPLAYABLE,
        formats={fmt: f"{base}/transcript.{fmt}" for fmt in _OUTPUT},
    )


@router.get("/transcript", response_model=TranscriptInfo, responses=_AUTH_ERRORS)
async def transcript_info(viewer: ViewerDep) -> TranscriptInfo:
    """Who may download the transcript, and whether the caller is the host."""
    return _info(viewer, viewer.space.transcript_public)


@router.post("/transcript/visibility", response_model=TranscriptInfo, responses=_AUTH_ERRORS)
async def set_visibility(
    body: Visibility, viewer: ViewerDep, catalog: CatalogDep
) -> TranscriptInfo:
    """The host makes the transcript public (anyone may download it) or private again."""
    viewer.require_host("choosing who may download the transcript")
    space = await asyncio.to_thread(catalog.set_transcript_public, viewer.space.id, body.public)
    return _info(viewer, space.transcript_public)


@router.get(
    "/transcript.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "The transcript, as an attachment.",
            "content": {
                "text/plain": {},
                "application/x-subrip": {},
                "text/vtt": {},
                "application/json": {},
            },
        },
        **_AUTH_ERRORS,
        **ERRORS,
    },
)
async def transcript(
    request: Request, fmt: Format, viewer: ViewerDep, catalog: CatalogDep, store: StoreDep
) -> Response:
    """The transcript as text, SRT, WebVTT or JSON (``transcribe/transcript.schema.json``)."""
    space = viewer.space
    if not space.transcript_public:
        viewer.require_host("this transcript")
    output = await published(catalog, space.id, _OUTPUT[fmt])
    return await text_response(
        request,
        store,
        output,
        cache_control=PUBLIC_TRANSCRIPT if space.transcript_public else PRIVATE,
        # The answer depends on the token: caches keep one per Authorization.
        vary="Authorization",
        filename=f"{_slug(space.title)}-{space.id}.{fmt}",
    )


def _slug(title: str) -> str:
    """The title as a safe ASCII file name part."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-").lower()[:60].strip("-")
    return slug or "transcript"
