"""The space page's other paths in real Chromium: scheduling, muting, reactions, leaving, errors."""

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
    wait_connected,
    wait_heard,
    wait_role,
    you,
)

# getUserMedia refuses, as when the person blocks the microphone, until the test allows it.
REFUSING_MIC = """
(() => {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__allowMic = false;
  navigator.mediaDevices.getUserMedia = (constraints) =>
    window.__allowMic
      ? original(constraints)
      : Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
})();
"""


def test_scheduled_space_is_started_then_ended_by_the_host(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Friday planning", "Hana Host", when="2099-06-01T18:30")
    expect(host.locator("#state")).to_have_text("Scheduled")
    expect(host.locator("#when")).to_contain_text("Starts")
    assert host.evaluate("window.stoa.pc") is None  # nothing to hear before the start

    guest = open_page(f"/spaces/{space_id}")
    expect(guest.get_by_text("This space has not started yet")).to_be_visible()
    expect(guest.get_by_role("button", name="Join", exact=True)).to_be_disabled()

    host.get_by_role("button", name="Start the space").click()
    expect(guest.locator("#state")).to_have_text("Live")
    wait_connected(host, publishing=True)
    join(guest, "Gus")
    wait_connected(guest, publishing=False)

    host.get_by_role("button", name="End space").click()
    host.get_by_role("button", name="End it for everyone").click()
    expect(guest.get_by_role("alert")).to_contain_text("This space has ended")
    expect(host.get_by_role("alert")).to_contain_text("This space has ended")
    guest.wait_for_function("window.stoa.pc === null")
    expect(guest.get_by_role("button", name="Leave", exact=True)).to_be_hidden()

    home = open_page("/")
    expect(home.locator("#ended-list")).to_contain_text("Friday planning")
    guest.reload()
    expect(guest.get_by_role("alert")).to_contain_text("This space has ended")


def test_speaker_mutes_and_unmutes_themselves(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Quiet please", "Hana Host")
    listener = open_page(f"/spaces/{space_id}")
    join(listener, "Lia")
    wait_connected(listener, publishing=False)
    wait_heard(listener, 0)

    host.get_by_role("button", name="Mute your microphone").click()
    expect(listener.locator("#speakers")).to_contain_text("Muted")
    listener.wait_for_timeout(300)  # what was already in flight
    assert max(seat_rms(listener, 0, ms=1000)) < SILENT_RMS

    host.get_by_role("button", name="Unmute your microphone").click()
    expect(listener.locator("#speakers")).not_to_contain_text("Muted")
    assert max(wait_heard(listener, 0)) > HEARD_RMS


def test_reactions_float_and_a_burst_is_refused_in_words(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Cheers", "Hana Host")
    listener = open_page(f"/spaces/{space_id}")
    join(listener, "Lia")

    listener.get_by_role("button", name="React 🔥").click()
    bubble = host.locator("#floating .bubble").filter(has_text="Lia")
    expect(bubble).to_contain_text("🔥")

    clap = listener.get_by_role("button", name="React 👏")
    for _ in range(5):  # the default burst is 5 reactions; one went already
        clap.click()
    expect(listener.locator("#toast")).to_contain_text(
        re.compile(r"too many reactions; try again in [\d.]+ s", re.IGNORECASE)
    )


def test_leaving_and_rejoining(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Drop in", "Hana Host")
    listener = open_page(f"/spaces/{space_id}")
    join(listener, "Lia")
    expect(host.locator("#listener-count")).to_have_text("1")
    first_id = you(listener)["id"]

    listener.get_by_role("button", name="Leave", exact=True).click()
    expect(listener.get_by_role("alert")).to_contain_text("You left the space")
    expect(host.locator("#listener-count")).to_have_text("0")
    listener.wait_for_function("window.stoa.pc === null")

    listener.get_by_role("button", name="Rejoin").click()
    expect(host.locator("#listener-count")).to_have_text("1")
    assert you(listener)["id"] == first_id  # the same participant, not a new one
    wait_connected(listener, publishing=False)


def test_refused_microphone_is_explained_and_can_be_retried(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Mic check", "Hana Host")
    guest = open_page(f"/spaces/{space_id}", init_script=REFUSING_MIC)
    join(guest, "Max")
    guest.get_by_role("button", name="Raise hand").click()
    host.get_by_role("button", name="Invite Max to speak").click()

    expect(guest.get_by_role("alert")).to_contain_text("Microphone access was refused")
    # Still on stage and hearing the room, just not sending.
    wait_connected(guest, publishing=False)
    wait_role(guest, "speaker")
    wait_heard(guest, 0)

    guest.evaluate("window.__allowMic = true")
    guest.get_by_role("button", name="Try the microphone again").click()
    wait_connected(guest, publishing=True)
    expect(guest.get_by_role("alert")).to_be_hidden()
    assert max(wait_heard(host, 1)) > HEARD_RMS


def test_cohost_moderates_but_only_the_host_makes_cohosts(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Shared duty", "Hana Host")
    cohost = open_page(f"/spaces/{space_id}")
    join(cohost, "Cleo")
    listener = open_page(f"/spaces/{space_id}")
    join(listener, "Lia")

    host.get_by_role("button", name="Manage Cleo").click()
    host.get_by_role("button", name="Make Cleo a co-host").click()
    wait_connected(cohost, publishing=True)
    expect(cohost.locator("#speakers")).to_contain_text("Co-host")

    # A co-host manages listeners, but cannot make co-hosts or touch the host.
    cohost.get_by_role("button", name="Manage Lia").click()
    expect(cohost.get_by_role("button", name="Invite Lia to speak")).to_be_visible()
    expect(cohost.get_by_role("button", name="Make Lia a co-host")).to_have_count(0)
    expect(cohost.get_by_role("button", name="Manage Hana Host")).to_have_count(0)
    cohost.get_by_role("button", name="Invite Lia to speak").click()
    wait_connected(listener, publishing=True)
    expect(host.locator("#speakers")).to_contain_text("Lia")

    # The co-host mutes Lia; Lia's page says who did it, and Lia can leave the stage.
    cohost.get_by_role("button", name="Manage Lia").click()
    cohost.get_by_role("button", name="Mute Lia").click()
    expect(listener.locator("#toast")).to_contain_text("Cleo muted you")
    expect(listener.get_by_role("button", name="Unmute your microphone")).to_be_visible()
    listener.get_by_role("button", name="Leave the stage").click()
    wait_connected(listener, publishing=False)
    wait_role(listener, "listener")
    expect(listener.get_by_role("button", name="Raise hand")).to_be_visible()


def test_dropped_socket_reconnects_and_catches_up(open_page: OpenPage) -> None:
    host = open_page()
    space_id = create_space(host, "Flaky wifi", "Hana Host")
    listener = open_page(f"/spaces/{space_id}")
    join(listener, "Lia")
    expect(listener.locator("#speakers")).to_contain_text("Hana Host")

    # The socket drops (as on a network change); meanwhile the host mutes themselves.
    listener.evaluate("window.stoa.socket.ws.close()")
    expect(listener.locator("#toast")).to_contain_text("Connection lost; reconnecting")
    host.get_by_role("button", name="Mute your microphone").click()
    expect(listener.locator("#speakers")).to_contain_text("Muted")
    expect(listener.locator("#toast")).to_be_hidden()
    assert listener.evaluate("window.stoa.socket.ws.readyState") == 1  # open again
    assert listener.evaluate("window.stoa.phase") == "joined"
