"""The pages themselves: they fit a phone, escape what people type, and hand over ICE servers."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import OpenPage
from tests.browser.helpers import create_space, join, wait_connected
from tests.conftest import LiveServer

PHONE = {"width": 390, "height": 844}
HOSTILE_TITLE = '<img src=x onerror="window.__xss=1">Tea & talk'
HOSTILE_NAME = "<script>window.__xss=2</script>Mallory"
# Elements that would only be there if a page parsed someone's text as HTML.
INJECTED = "main img, main script:not([type='application/json'])"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def fits_the_width(page: Page) -> None:
    """Nothing sticks out sideways: no horizontal scrolling on a phone."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def in_view(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5, box


def test_pages_render_on_a_phone(open_page: OpenPage, tmp_path: Path) -> None:
    host = open_page()
    space_id = create_space(host, "A fairly long title for a small phone screen", "Hana Host")
    wait_connected(host, publishing=True)

    phone = open_page(f"/spaces/{space_id}", viewport=PHONE)
    expect(phone.locator("#speakers")).to_contain_text("Hana Host")
    in_view(phone, "#join-button")
    join(phone, "Lia Listener")
    wait_connected(phone, publishing=False)
    expect(phone.get_by_role("button", name="Raise hand")).to_be_visible()
    expect(phone.locator("#recording")).to_have_text(re.compile("^Recording: "))
    fits_the_width(phone)
    for selector in ("#title", "#speakers .speaker", "#controls", "#reactions"):
        expect(phone.locator(selector).first).to_be_visible()
    in_view(phone, "#controls")
    shot = tmp_path / "space-phone.png"
    phone.screenshot(path=str(shot), full_page=False)
    assert png_size(shot) == (PHONE["width"], PHONE["height"])
    assert shot.stat().st_size > 10_000  # a real picture, not a blank page

    home = open_page("/", viewport=PHONE)
    expect(home.locator("#live-list")).to_contain_text("A fairly long title")
    expect(home.get_by_label("Title")).to_be_visible()
    fits_the_width(home)
    home.screenshot(path=str(tmp_path / "home-phone.png"), full_page=True)
    width, height = png_size(tmp_path / "home-phone.png")
    assert width == PHONE["width"] and height >= PHONE["height"]


def test_user_text_is_shown_as_text(open_page: OpenPage, live_server: LiveServer) -> None:
    created = httpx.post(
        f"{live_server.url}/api/spaces", json={"title": HOSTILE_TITLE, "host_name": HOSTILE_NAME}
    )
    assert created.status_code == 201, created.text
    space_id = created.json()["space"]["id"]

    home = open_page("/")
    expect(home.locator("#live-list")).to_contain_text(HOSTILE_TITLE)
    assert home.locator(INJECTED).count() == 0

    page = open_page(f"/spaces/{space_id}")
    expect(page.locator("#title")).to_have_text(HOSTILE_TITLE)
    expect(page.locator("#host-name")).to_have_text(HOSTILE_NAME)
    join(page, HOSTILE_NAME)
    expect(page.locator("#listeners")).to_contain_text(HOSTILE_NAME)
    expect(page.locator("#speakers")).to_contain_text(HOSTILE_NAME)
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("window.__xss") is None
    assert home.evaluate("window.__xss") is None


def test_error_page_says_what_is_wrong(open_page: OpenPage) -> None:
    page = open_page("/spaces/no-such-space")
    expect(page.get_by_role("alert")).to_contain_text(re.compile("there is no space"))
    expect(page.get_by_role("link", name="See the spaces that are live")).to_be_visible()


def test_home_form_explains_mistakes(open_page: OpenPage) -> None:
    page = open_page("/")
    page.get_by_label("Title").fill("Late night")
    page.locator("#create-submit").click()
    expect(page.get_by_role("alert")).to_have_text("Say who is hosting: give your name.")
    page.get_by_label("Your name").fill("Nia")
    page.get_by_label("Schedule for later").fill("2001-01-01T10:00")
    expect(page.locator("#create-submit")).to_have_text("Schedule")
    page.locator("#create-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("That time has passed")
    assert page.url.endswith("/")


def test_host_can_choose_not_to_record(open_page: OpenPage, live_server: LiveServer) -> None:
    page = open_page("/")
    expect(page.get_by_label("Record this space")).to_be_checked()
    page.get_by_label("Record this space").uncheck()
    space_id = create_space(page, "Off the record", "Hana Host", keep_form=True)
    expect(page.locator("#state")).to_have_text("Live")
    expect(page.locator("#recording")).to_be_hidden()
    space = httpx.get(f"{live_server.url}/api/spaces/{space_id}").json()
    assert space["record"] is False
