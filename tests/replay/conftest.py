"""A replayable space built by the real pipeline, served by the real app on 127.0.0.1.

Two speakers say espeak-ng phrases at known times; the real recorder writes their tracks
(``tests/workers/spaces.py``); the pipeline processes them on dramatiq's in-process broker with
the real engine and the tiny random Whisper model (its words are noise, its timings follow the
speech), publishing the replay audio, peaks, captions and transcripts. One space per module:
building it takes a few seconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import webvtt

from live.tokens import TokenSigner
from stoa.catalog import Catalog, ProcessingState, SpaceState
from stoa.settings import Settings
from stoa.storage.local import LocalStore
from tests.conftest import LiveServer, free_port, service_missing
from tests.transcribe.tiny_model import write_tiny_model
from tests.workers.conftest import make_context, process
from tests.workers.spaces import PHRASES, Placed, RecordedSpace, record_space

TITLE = '<img src=x onerror="window.__xss=1">Replay & talk'
HOST = "Ann <b>Host</b>"
GUEST = "Ben & Co"
# Ann and Ben take turns, with pauses between phrases so each phrase is a cue of its own.
PLACED = [
    Placed(HOST, 0.5, PHRASES[0]),
    Placed(GUEST, 4.5, PHRASES[3]),
    Placed(HOST, 8.5, PHRASES[1]),
    Placed(GUEST, 12.5, PHRASES[2]),
]
DURATION = 16.0
SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str
    text: str
    raw: str
    """The cue's text as the file has it: voice span, escapes, line breaks."""


@dataclass
class Replay:
    server: LiveServer
    recorded: RecordedSpace
    host_token: str
    guest_token: str
    """A valid token of the space's other speaker: not the host's."""
    cues: list[Cue]
    """The published captions, read by webvtt-py."""

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def space_id(self) -> str:
        return self.recorded.space.id

    @property
    def objects(self) -> LocalStore:
        return LocalStore(self.server.settings.data_dir / "objects")

    def outputs(self) -> dict[str, str]:
        catalog: Catalog = self.server.app.state.catalog
        record = catalog.processing(self.space_id)
        assert record is not None
        return record.outputs


_VOICE = re.compile(r"^<v ([^>]*)>")


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def read_cues(text: str) -> list[Cue]:
    """Cues of a WebVTT file, as webvtt-py reads them (voice from the ``<v>`` span)."""
    cues = []
    for caption in webvtt.from_string(text):
        raw = caption.raw_text
        voice = _VOICE.match(raw)
        body = raw[voice.end() :] if voice else raw
        cues.append(
            Cue(
                _seconds(caption.start),
                _seconds(caption.end),
                _unescape(voice[1]) if voice else "",
                _unescape(" ".join(body.split())),
                raw,
            )
        )
    return cues


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-whisper"))


def build_replayable(folder: Path, settings: Settings, model: Path) -> RecordedSpace:
    """Record PLACED and run the real pipeline on it until the space is replayable."""
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    store = LocalStore(settings.data_dir / "objects")
    try:
        recorded = record_space(
            catalog, store, folder / "recordings", PLACED, DURATION, title=TITLE
        )
        record = process(make_context(catalog, store, folder, model=str(model)), recorded.space.id)
        assert record.state is ProcessingState.DONE, record.error
        assert catalog.get_space(recorded.space.id).state is SpaceState.REPLAYABLE
        return recorded
    finally:
        catalog.close()


def replay_settings(data_dir: Path, model: Path, **overrides: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        host="127.0.0.1",
        port=free_port(),
        secret_key=SECRET,
        rtc_bind_addresses=["127.0.0.1"],
        whisper_model=str(model),
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[Replay]:
    folder = tmp_path_factory.mktemp("replay")
    settings = replay_settings(folder / "data", tiny_model)
    recorded = build_replayable(folder, settings, tiny_model)
    with serve(settings) as server:
        signer = TokenSigner(SECRET, 3600)
        guest = recorded.participants[GUEST]
        vtt = httpx.get(f"{server.url}/api/spaces/{recorded.space.id}/captions.vtt")
        assert vtt.status_code == 200, vtt.text
        yield Replay(
            server=server,
            recorded=recorded,
            host_token=signer.issue(
                participant_id=recorded.space.host_id, space_id=recorded.space.id
            ),
            guest_token=signer.issue(participant_id=guest, space_id=recorded.space.id),
            cues=read_cues(vtt.text),
        )


class serve:
    """The real app under uvicorn in a thread (as tests/conftest.py's ``live_server``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> LiveServer:
        from stoa.app import create_app

        app = create_app(self.settings)
        config = uvicorn.Config(
            app,
            host=self.settings.host,
            port=self.settings.port,
            log_level="warning",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return LiveServer(
            f"http://{self.settings.host}:{self.settings.port}", self.settings, self.server, app
        )

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# Headless Chromium (Debian's; Playwright never downloads one), as in tests/browser.

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.browser.conftest import CHROMIUM

    if not CHROMIUM.exists():
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


OpenPage = Callable[..., Any]


@pytest.fixture
def open_page(browser: object, replay: Replay) -> Iterator[OpenPage]:
    """Open a page of the replay's server in a fresh context; uncaught page errors fail."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    contexts = []
    errors: list[str] = []

    def open_page(
        path: str, *, viewport: dict[str, int] | None = None, init_script: str = ""
    ) -> Any:
        context = browser.new_context(
            base_url=replay.url,
            viewport=viewport or {"width": 1000, "height": 800},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
