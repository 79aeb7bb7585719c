"""A replay's published files (audio, peaks, captions, transcripts) as HTTP responses.

The pipeline writes each run's files under keys of their own (``workers.keys``) and the
catalog's ``processing.outputs`` names the published run's, so a storage key is a version: the
ETag is made from it, and a reprocessed space gets new ETags. Responses carry Cache-Control so
that browsers and CDNs keep them; ``If-None-Match`` gets a 304.

Text files (captions, transcripts, peaks) are read from storage and served by the app, so the
page's ``<track>`` and ``fetch`` stay same-origin. The audio is served from the local folder
with HTTP Range requests (Starlette's ``FileResponse``), or from S3 by a redirect to a
short-lived presigned URL, so the bytes never pass through the app.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from replay_api.errors import NotFound, NotReady, Unavailable
from stoa import errors as stoa_errors
from stoa.catalog import Catalog, ProcessingRecord, ProcessingState, SpaceRecord, SpaceState
from stoa.errors import ObjectNotFound, StorageError
from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from stoa.storage.s3 import S3Store
from workers import keys

# Public files: kept 5 minutes, then revalidated (a 304 while the published run is the same).
PUBLIC = "public, max-age=300"
# A public transcript: shorter, as its host may make it private again.
PUBLIC_TRANSCRIPT = "public, max-age=60"
# The host's own transcript: the host's browser only, never a shared cache.
PRIVATE = "private, max-age=300"
# The redirect to a presigned URL lives shorter than the URL it points to.
REDIRECT = "private, max-age=60"
PRESIGNED_SECONDS = 900

CONTENT_TYPES = keys.CONTENT_TYPES

T = TypeVar("T")


@dataclass(frozen=True)
class Published:
    """One published output of a replayable space."""

    space: SpaceRecord
    name: str
    key: str

    @property
    def etag(self) -> str:
        # The key names the run that made the file: a new run, a new tag.
        return '"' + hashlib.sha256(self.key.encode()).hexdigest()[:32] + '"'


def not_ready(space: SpaceRecord, processing: ProcessingRecord | None) -> NotReady | NotFound:
    """Why a space that is not replayable has no replay files, in words."""
    if space.state in (SpaceState.SCHEDULED, SpaceState.LIVE):
        return NotReady("this space has not ended; its replay comes once it has")
    if not space.record:
        return NotFound("this space was not recorded, so it has no replay")
    if space.started_at is None:
        return NotFound("this space ended before it started, so nothing was recorded")
    if space.state is SpaceState.ENDED:
        return NotReady("this space has ended and its recording is being saved")
    if processing is None:
        return NotReady("this space's recording is waiting to be processed")
    if processing.state is ProcessingState.FAILED:
        return NotReady(f"preparing this space's replay failed: {processing.error}")
    return NotReady(
        f"this space's replay is being prepared ({processing.stage}, "
        f"{int(processing.progress)}% done); try again shortly"
    )


async def published(catalog: Catalog, space_id: str, name: str) -> Published:
    """The published output ``name`` (a ``workers.keys`` name) of a replayable space."""
    # One trip to a worker thread for both reads: under load, each hop costs more than a read.
    space, processing = await asyncio.to_thread(_space_and_processing, catalog, space_id)
    if space.state is not SpaceState.REPLAYABLE or processing is None:
        raise not_ready(space, processing)
    key = processing.outputs.get(name)
    if not key:
        raise NotFound(f"this space's replay has no {name} file")
    return Published(space, name, key)


def _space_and_processing(
    catalog: Catalog, space_id: str
) -> tuple[SpaceRecord, ProcessingRecord | None]:
    try:
        space = catalog.get_space(space_id)
    except stoa_errors.NotFound as exc:
        raise NotFound(f"there is no space {space_id!r}") from exc
    return space, catalog.processing(space_id)


def not_modified(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags


def _headers(output: Published, cache_control: str, vary: str | None) -> dict[str, str]:
    headers = {"ETag": output.etag, "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    return headers


async def text_response(
    request: Request,
    store: ObjectStore,
    output: Published,
    *,
    cache_control: str,
    vary: str | None = None,
    filename: str | None = None,
) -> Response:
    """A small published file, read from storage; a 304 when the client has it."""
    headers = _headers(output, cache_control, vary)
    if not_modified(request, output.etag):
        return Response(status_code=304, headers=headers)
    data = await _read(store, output)
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(data, media_type=CONTENT_TYPES[output.name], headers=headers)


async def media_response(
    request: Request, store: ObjectStore, output: Published, *, cache_control: str
) -> Response:
    """A large published file: served with Range requests, or a redirect to S3."""
    headers = _headers(output, cache_control, None)
    if not_modified(request, output.etag):
        return Response(status_code=304, headers=headers)
    if isinstance(store, S3Store):
        url = await _storage(output, store.presigned_url, output.key, PRESIGNED_SECONDS)
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": REDIRECT})
    if isinstance(store, LocalStore):
        path = store.path(output.key)
        if not await asyncio.to_thread(path.is_file):
            raise _missing(output)
        # Starlette answers Range and If-Range itself (206, 416, multipart), with our ETag.
        return FileResponse(path, media_type=CONTENT_TYPES[output.name], headers=headers)
    # Another store (an in-memory one in tests): the whole file, no ranges.
    data = await _read(store, output)
    headers["Accept-Ranges"] = "none"
    return Response(data, media_type=CONTENT_TYPES[output.name], headers=headers)


async def _read(store: ObjectStore, output: Published) -> bytes:
    return await _storage(output, store.get_bytes, output.key)


async def _storage(output: Published, call: Callable[..., T], *args: object) -> T:
    """Call the store in a thread; its errors as the replay's."""
    try:
        return await asyncio.to_thread(call, *args)
    except ObjectNotFound as exc:
        raise _missing(output) from exc
    except StorageError as exc:
        raise Unavailable(
            f"the replay's {output.name} file cannot be read from storage now; try again shortly"
        ) from exc


def _missing(output: Published) -> NotFound:
    return NotFound(
        f"this space's {output.name} file is missing from storage; "
        "the operator can rebuild it with `stoa reprocess`"
    )
