"""A replay's public files: the audio, its waveform peaks, and the captions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from replay_api.deps import CatalogDep, StoreDep
from replay_api.outputs import PUBLIC, media_response, published, text_response
from workers import keys

router = APIRouter(prefix="/api/spaces/{space_id}", tags=["replay"])

ERRORS: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match tag is current."},
    404: {"description": "No such space, or it was not recorded."},
    409: {"description": "No replay yet: the space is live, or being saved or processed."},
    503: {"description": "Object storage did not answer; try again."},
}


def _content(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {}}, "description": description}}


@router.get(
    "/audio",
    response_class=Response,
    responses={
        **_content("audio/mp4", "The replay (AAC in MP4, faststart); Range requests get a 206."),
        206: {"description": "The byte range asked for (local storage)."},
        307: {"description": "On S3: a redirect to a short-lived presigned URL."},
        416: {"description": "A range past the end of the file."},
        **ERRORS,
    },
)
async def audio(request: Request, space_id: str, catalog: CatalogDep, store: StoreDep) -> Response:
    """The replay's audio: every speaker mixed, with byte ranges for seeking."""
    output = await published(catalog, space_id, keys.AUDIO)
    return await media_response(request, store, output, cache_control=PUBLIC)


@router.get(
    "/peaks.json",
    response_class=Response,
    responses={
        **_content("application/json", "Waveform peaks, audiowaveform JSON version 2."),
        **ERRORS,
    },
)
async def peaks(request: Request, space_id: str, catalog: CatalogDep, store: StoreDep) -> Response:
    """The replay's waveform: a minimum and maximum per 100 ms, as 8-bit values."""
    output = await published(catalog, space_id, keys.PEAKS)
    return await text_response(request, store, output, cache_control=PUBLIC)


@router.get(
    "/captions.vtt",
    response_class=Response,
    responses={
        **_content("text/vtt", "WebVTT captions, each cue's speaker in a <v> voice span."),
        **ERRORS,
    },
)
async def captions(
    request: Request, space_id: str, catalog: CatalogDep, store: StoreDep
) -> Response:
    """The replay's captions, public like its audio."""
    output = await published(catalog, space_id, keys.VTT)
    return await text_response(request, store, output, cache_control=PUBLIC)
