"""Real headless Chromium against the real server on 127.0.0.1, with a speaking fake microphone.

Chromium is Debian's (``/usr/bin/chromium``); Playwright never downloads a browser. Without it
the browser tests skip locally and fail in CI, like the other services (``service_missing``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, service_missing

CHROMIUM = Path("/usr/bin/chromium")
SPEECH = (
    "Hello everyone, and welcome to the space. Today we talk about open source audio, "
    "self hosting, and how a relay forwards every speaker to all the listeners."
)
MIC_SECONDS = 30


@pytest.fixture(scope="session")
def fake_mic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 30 s of espeak-ng speech as 48 kHz mono 16-bit WAV; Chromium loops it as its mic."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            service_missing(tool, FileNotFoundError(tool))
    folder = tmp_path_factory.mktemp("mic")
    speech = folder / "speech.wav"
    mic = folder / "mic.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), SPEECH], check=True, capture_output=True)
    subprocess.run(
        # Repeat the sentence (with a short breath after it) until the file lasts 30 s.
        ["sox", str(speech), "-r", "48000", "-c", "1", "-b", "16", str(mic), "pad", "0", "0.3"]
        + ["repeat", "10", "trim", "0", str(MIC_SECONDS)],
        check=True,
        capture_output=True,
    )
    return mic


def chromium_args(mic: Path) -> list[str]:
    return [
        "--no-sandbox",
        "--headless=new",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]


@pytest.fixture(scope="module")
def browser(fake_mic: Path) -> Iterator[object]:
    """One Chromium per test module; each participant gets a context of its own (own cookies)."""
    if not CHROMIUM.exists():
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=chromium_args(fake_mic)
        )
        yield browser
        browser.close()


OpenPage = Callable[..., object]


@pytest.fixture
def open_page(browser: object, live_server: LiveServer) -> Iterator[OpenPage]:
    """Open a page for a new participant (a fresh browser context: its own device cookie).

    Uncaught errors in any page fail the test: the client must not throw.
    """
    from playwright.sync_api import Browser, Page

    assert isinstance(browser, Browser)
    contexts = []
    errors: list[str] = []

    def open_page(
        path: str = "/", *, viewport: dict[str, int] | None = None, init_script: str = ""
    ) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or {"width": 1000, "height": 800},
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
