"""The web client in real Chromium: voices heard through the relay, the stage, moderation."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OpenPage
from tests.browser.helpers import (
    HEARD_RMS,
    SILENT_RMS,
    create_space,
    join,
    seat_rms,
    seats,
    wait_connected,
    wait_heard,
    wait_role,
    you,
)


def test_host_is_heard_by_a_listener(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Morning coffee", "Hana Host")
    wait_connected(host, publishing=True)

    listener = open_page(f"/spaces/{space_id}")
    expect(listener.locator("#speakers")).to_contain_text("Hana Host")
    join(listener, "Lia")
    wait_connected(listener, publishing=False)

    rms = wait_heard(listener, 0)
    assert max(rms) > HEARD_RMS
    # Speech comes and goes, but mostly it is there.
    assert sum(r > HEARD_RMS / 4 for r in rms) > len(rms) / 3
    # An empty seat stays silent: the energy above is the host's voice, not noise.
    assert max(seat_rms(listener, 1, ms=600)) < SILENT_RMS
    # The relay's levels light the host's speaking ring on the listener's page.
    expect(listener.locator("#speakers .speaker.is-speaking")).to_contain_text("Hana Host")
    expect(host.locator("#listener-count")).to_have_text("1")
    expect(host.locator("#listeners")).to_contain_text("Lia")


def test_invited_listener_publishes_and_is_heard(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Open mic", "Hana Host")
    speaker = open_page(f"/spaces/{space_id}")
    join(speaker, "Sam")
    audience = open_page(f"/spaces/{space_id}")
    join(audience, "Ada")
    wait_connected(audience, publishing=False)
    assert max(seat_rms(audience, 1, ms=600)) < SILENT_RMS

    speaker.get_by_role("button", name="Raise hand").click()
    invite = host.get_by_role("button", name="Invite Sam to speak")
    expect(host.locator("#listeners .has-hand")).to_contain_text("Sam")
    invite.click()

    # Sam's page renegotiates: a new connection with the microphone first.
    wait_connected(speaker, publishing=True)
    wait_role(speaker, "speaker")
    expect(speaker.get_by_role("button", name="Mute your microphone")).to_be_visible()
    sam_id = you(speaker)["id"]
    audience.wait_for_function(f"window.stoa.state.seats[1] === {sam_id!r}")
    assert seats(audience)[1] == sam_id

    rms = wait_heard(audience, 1)
    assert max(rms) > HEARD_RMS
    # The host hears Sam too, on Sam's seat of the host's own connection.
    wait_heard(host, 1)


def test_removed_listener_is_told_and_cannot_rejoin(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Moderated", "Hana Host")
    troll = open_page(f"/spaces/{space_id}")
    join(troll, "Rex")
    wait_connected(troll, publishing=False)

    host.get_by_role("button", name="Manage Rex").click()
    host.get_by_role("button", name="Remove Rex").click()
    host.get_by_role("button", name="Yes, remove Rex for good").click()

    notice = troll.get_by_role("alert").filter(has_text="removed")
    expect(notice).to_contain_text("You were removed from this space")
    expect(host.locator("#listeners")).not_to_contain_text("Rex")
    troll.wait_for_function("window.stoa.pc === null")
    assert troll.evaluate(f"localStorage.getItem('stoa:token:{space_id}')") is None

    troll.reload()
    expect(troll.locator("#notice")).to_be_hidden()
    join_button = troll.get_by_role("button", name="Join", exact=True)
    troll.get_by_label("Your name").fill("Rex again")
    join_button.click()
    expect(troll.get_by_role("alert").filter(has_text="removed")).to_contain_text(
        re.compile("cannot rejoin", re.IGNORECASE)
    )
    assert troll.evaluate("window.stoa.phase") == "removed"
    expect(host.locator("#listeners")).not_to_contain_text("Rex")
