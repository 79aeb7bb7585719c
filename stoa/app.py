"""The ASGI app factory: one FastAPI app with the parts a process serves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from live.api import router as live_router
from live.api import spaces_router
from live.card_image import CardCache
from live.errors import LiveError, RateLimited
from live.pages import STATIC_DIR
from live.pages import router as pages_router
from live.relay import RelayConfig
from live.room import ReactionLimit
from live.rtp_hooks import restrict_host_addresses
from live.service import LiveService
from live.tokens import TokenSigner
from recorder.recorder import Recorder
from replay_api.api import router as replay_router
from replay_api.errors import ReplayError
from replay_api.pages import STATIC_DIR as REPLAY_STATIC_DIR
from replay_api.pages import STATIC_PATH as REPLAY_STATIC_PATH
from replay_api.pages import router as replay_pages_router
from stoa import __version__
from stoa.catalog import Catalog
from stoa.errors import CatalogError
from stoa.search import open_index
from stoa.settings import Settings
from stoa.storage import open_store
from workers.runtime import PipelineRuntime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def create_app(settings: Settings, *, relay: bool = True, pages: bool = True) -> FastAPI:
    """Stoa's HTTP side.

    ``stoa up`` serves everything in one process. For bigger set-ups, ``stoa relay`` serves
    the live rooms (relay, live actions, events) and ``stoa api`` the catalog and the pages;
    a reverse proxy sends ``/api/spaces/{id}/...`` live routes to the relay. Both share the
    catalog, which is where the relay loads a space's room from.
    """
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    search = open_index(catalog.engine)
    search.create_schema()
    restrict_host_addresses(settings.rtc_bind_addresses)
    store = open_store(settings)
    # The relay records, so it hands recorded spaces to the pipeline: to a broker server's
    # workers (STOA_BROKER_URL), or to worker threads in this process.
    pipeline = PipelineRuntime.from_settings(settings, catalog, store) if relay else None
    service = LiveService(
        catalog,
        TokenSigner(
            settings.signing_key(), settings.token_ttl_seconds, settings.host_token_ttl_seconds
        ),
        RelayConfig(
            ice_servers=tuple(settings.ice_servers),
            announced_address=settings.rtc_announced_address,
        ),
        ReactionLimit(burst=settings.reaction_burst, per_second=settings.reaction_per_second),
        recorder=Recorder(catalog, store, settings.data_dir / "recordings") if relay else None,
        on_recorded=pipeline.pipeline.on_recorded if pipeline else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The relay process owns the rooms: it ends spaces a crash left live and saves
        # their recordings before it serves anyone.
        await service.start()
        if pipeline is not None:
            # After the recorder's recovery: spaces it archived are processed too.
            await asyncio.to_thread(pipeline.start, strict=False)
        try:
            yield
        finally:
            await service.close()
            if pipeline is not None:
                await asyncio.to_thread(pipeline.close)
            catalog.close()

    app = FastAPI(
        title="Stoa",
        version=__version__,
        summary="Live audio rooms with recording, transcription and replay.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.cards = CardCache()
    app.state.search = search
    app.state.catalog = catalog
    app.state.store = store
    app.state.live = service
    app.state.pipeline = pipeline
    app.state.ice_servers = [s.model_dump(exclude_none=True) for s in settings.ice_servers]
    app.include_router(spaces_router)
    app.include_router(replay_router)
    if relay:
        app.include_router(live_router)
    if pages:
        app.include_router(pages_router)
        # /spaces/{id}: the live room until the space ends, then its replay.
        app.include_router(replay_pages_router)
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
        app.mount(
            REPLAY_STATIC_PATH,
            StaticFiles(directory=REPLAY_STATIC_DIR),
            name="replay-static",
        )
    app.add_exception_handler(LiveError, _live_error)
    app.add_exception_handler(ReplayError, _replay_error)
    app.add_exception_handler(CatalogError, _catalog_error)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


async def _live_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LiveError)
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(
        {"detail": str(exc), "code": exc.code}, status_code=exc.status_code, headers=headers
    )


async def _replay_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReplayError)
    return JSONResponse(
        {"detail": str(exc), "code": exc.code},
        status_code=exc.status_code,
        headers=dict(exc.headers),
    )


async def _catalog_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the catalog is unavailable; try again shortly"}, status_code=503
    )


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI turns other errors while reading a body into a 400.
                    raise HTTPException(413, detail=self._message)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await self._refuse(send)

    @property
    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse({"detail": self._message}, status_code=413)
        await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
