"""The replay page in headless Chromium, on a space the real pipeline made replayable.

The captions are read twice: by Chromium's own WebVTT parser (the page's ``<track>``) and by
webvtt-py here; the page's lines, highlight and seeks are checked against the latter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import jsonschema
import pytest
from playwright.sync_api import Page, expect

from stoa.catalog import Catalog, PartSpec
from tests.browser.test_pages import INJECTED, PHONE, fits_the_width, in_view
from tests.replay.conftest import GUEST, HOST, TITLE, Cue, OpenPage, Replay
from transcribe.captions import schema

# Cues long enough to land in the middle of with a seek.
MIN_CUE = 0.4


def spanning(cues: list[Cue], t: float) -> list[int]:
    return [i for i, c in enumerate(cues) if c.start <= t < c.end]


def long_cues(replay: Replay) -> list[int]:
    found = [i for i, c in enumerate(replay.cues) if c.end - c.start >= MIN_CUE]
    assert len(found) >= 3, f"the pipeline made too few cues to test with: {replay.cues}"
    return found


def wait_lines(page: Page, replay: Replay) -> None:
    page.wait_for_function(
        "(n) => window.stoa.lines && window.stoa.lines.length === n", arg=len(replay.cues)
    )


def seek(page: Page, t: float) -> None:
    page.evaluate("(t) => { window.stoa.audio.pause(); window.stoa.player.seek(t); }", t)


def current_time(page: Page) -> float:
    return float(page.evaluate("window.stoa.audio.currentTime"))


def test_chromium_parses_the_captions_into_the_expected_cues(
    open_page: OpenPage, replay: Replay
) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    parsed = page.evaluate(
        "Array.from(window.stoa.track.cues, (c) => [c.startTime, c.endTime, c.text])"
    )
    assert len(parsed) == len(replay.cues)
    for (start, end, text), cue in zip(parsed, replay.cues, strict=True):
        assert start == pytest.approx(cue.start, abs=0.0005)
        assert end == pytest.approx(cue.end, abs=0.0005)
        assert text == cue.raw
    # Each line shows its cue's speaker (Chromium decodes the escaped voice names) and text.
    lines = page.evaluate("window.stoa.lines.map((l) => [l.speaker, l.text])")
    assert lines == [[c.speaker, c.text] for c in replay.cues]
    assert {c.speaker for c in replay.cues} == {HOST, GUEST}
    expect(page.locator("#lines .line")).to_have_count(len(replay.cues))
    expect(page.locator("#lines .line-speaker").first).to_have_text(replay.cues[0].speaker)


def test_the_highlighted_line_is_the_cue_that_spans_the_time(
    open_page: OpenPage, replay: Replay
) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    for i in long_cues(replay):
        cue = replay.cues[i]
        for t in (cue.start + 0.1, (cue.start + cue.end) / 2, cue.end - 0.1):
            seek(page, t)
            expected = spanning(replay.cues, t)
            page.wait_for_function(
                "(want) => JSON.stringify(window.stoa.current) === JSON.stringify(want)",
                arg=expected,
            )
            current = page.locator("#lines .line.is-current")
            expect(current).to_have_count(len(expected))
            expect(current.first.locator(".line-text")).to_have_text(cue.text)
            expect(current.first.locator("button")).to_have_attribute("aria-current", "true")
            expect(page.locator("#caption-now")).to_contain_text(cue.text)
    # Between two cues nothing is highlighted.
    gaps = [
        (a.end + b.start) / 2
        for a, b in zip(replay.cues, replay.cues[1:], strict=False)
        if b.start - a.end > 0.3
    ]
    assert gaps, "no pause between cues"
    seek(page, gaps[0])
    page.wait_for_function("window.stoa.current.length === 0")
    expect(page.locator("#lines .line.is-current")).to_have_count(0)


def test_the_transcript_scrolls_along_with_the_audio(open_page: OpenPage, replay: Replay) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    # A short list, so that the lines do not all fit.
    page.add_style_tag(content="#lines { max-height: 90px !important; }")
    last = long_cues(replay)[-1]
    cue = replay.cues[last]
    seek(page, (cue.start + cue.end) / 2)
    page.wait_for_function(
        """(i) => {
          const list = document.getElementById("lines");
          const item = list.children[i];
          return list.scrollTop > 0 && item.offsetTop >= list.scrollTop
            && item.offsetTop + item.offsetHeight <= list.scrollTop + list.clientHeight + 1;
        }""",
        arg=last,
    )
    # Not following: the list stays where the reader put it.
    page.get_by_label("Follow the audio").uncheck()
    page.evaluate("document.getElementById('lines').scrollTop = 0")
    first = long_cues(replay)[0]
    seek(page, (replay.cues[first].start + replay.cues[last].end) / 2)
    seek(page, replay.cues[last].start + 0.1)
    page.wait_for_function(f"window.stoa.current.includes({last})")
    assert page.evaluate("document.getElementById('lines').scrollTop") == 0


def test_clicking_a_line_seeks_there(open_page: OpenPage, replay: Replay) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    for i in reversed(long_cues(replay)[-2:]):
        cue = replay.cues[i]
        page.locator("#lines .line").nth(i).get_by_role("button").click()
        page.wait_for_function(
            "(start) => Math.abs(window.stoa.audio.currentTime - start) < 1.0"
            " && window.stoa.audio.currentTime >= start - 0.01",
            arg=cue.start,
        )
        page.wait_for_function(f"window.stoa.current.includes({i})")
        page.evaluate("window.stoa.audio.pause()")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()


def test_a_deep_link_starts_at_its_moment(open_page: OpenPage, replay: Replay) -> None:
    i = long_cues(replay)[1]
    cue = replay.cues[i]
    t = round((cue.start + cue.end) / 2, 2)
    page = open_page(f"/spaces/{replay.space_id}?t={t}")
    page.wait_for_function(
        "(t) => window.stoa.audio.readyState >= 1"
        " && Math.abs(window.stoa.audio.currentTime - t) < 0.05",
        arg=t,
    )
    page.wait_for_function(
        "(want) => JSON.stringify(window.stoa.current) === JSON.stringify(want)",
        arg=spanning(replay.cues, t),
    )
    minutes, seconds = divmod(int(t), 60)
    expect(page.locator("#current")).to_have_text(f"{minutes}:{seconds:02d}")
    # Other spellings of a moment: 0:SS and 5s.
    page.goto(f"/spaces/{replay.space_id}?t=0:{int(t):02d}")
    page.wait_for_function(
        "(t) => window.stoa.audio.readyState >= 1"
        " && Math.abs(window.stoa.audio.currentTime - t) < 0.05",
        arg=int(t),
    )
    # "Link to this moment" writes it into the address.
    page.get_by_role("button", name="Link to this moment").click()
    expect(page).to_have_url(re.compile(rf"\?t={int(t)}$"))


def test_player_controls_and_keyboard(open_page: OpenPage, replay: Replay) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    page.wait_for_function("window.stoa.audio.readyState >= 1")
    assert page.evaluate("window.stoa.audio.duration") == pytest.approx(
        replay.recorded.duration, abs=0.3
    )
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("!window.stoa.audio.paused && window.stoa.audio.currentTime > 0.2")
    page.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_function("window.stoa.audio.paused")

    page.get_by_label("Speed").select_option("1.5")
    assert page.evaluate("window.stoa.audio.playbackRate") == 1.5

    # The keyboard, from the page itself (nothing focused).
    page.evaluate("document.activeElement.blur()")
    seek(page, 2.0)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("Math.abs(window.stoa.audio.currentTime - 7.0) < 0.05")
    page.keyboard.press("j")
    page.wait_for_function("window.stoa.audio.currentTime === 0")
    page.keyboard.press("l")
    page.wait_for_function("Math.abs(window.stoa.audio.currentTime - 15.0) < 0.05")
    page.keyboard.press("k")
    page.wait_for_function("!window.stoa.audio.paused")
    page.keyboard.press("k")
    page.wait_for_function("window.stoa.audio.paused")

    # Tab to a line and press Enter: it seeks there.
    i = long_cues(replay)[1]
    button = page.locator("#lines .line").nth(i).get_by_role("button")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(start) => Math.abs(window.stoa.audio.currentTime - start) < 1.0",
        arg=replay.cues[i].start,
    )
    page.evaluate("window.stoa.audio.pause()")
    # The seek bar is a slider with its position in words.
    slider = page.get_by_role("slider", name="Position")
    expect(slider).to_have_attribute("aria-valuetext", re.compile(r"seconds? of 16 seconds"))


def test_search_within_the_transcript(open_page: OpenPage, replay: Replay) -> None:
    page = open_page(f"/spaces/{replay.space_id}")
    wait_lines(page, replay)
    i = long_cues(replay)[-1]
    word = max(replay.cues[i].text.split(), key=len)
    matching = [
        n for n, c in enumerate(replay.cues) if word.lower() in f"{c.speaker} {c.text}".lower()
    ]
    page.get_by_label("Search the transcript").fill(word)
    expect(page.locator("#lines .line:visible")).to_have_count(len(matching))
    expect(page.locator("#find-count")).to_contain_text(f"{len(matching)} line")
    expect(page.locator("#lines .line:visible mark").first).to_have_text(
        re.compile(re.escape(word), re.IGNORECASE)
    )
    # Enter goes to the next matching line after the current moment.
    seek(page, 0.0)
    page.get_by_label("Search the transcript").press("Enter")
    first = replay.cues[matching[0]]
    page.wait_for_function(
        "(t) => Math.abs(window.stoa.audio.currentTime - t) < 0.05", arg=first.start
    )
    page.get_by_label("Search the transcript").fill("zzqx nothing like this")
    expect(page.locator("#find-count")).to_have_text("No line has those words.")
    expect(page.locator("#lines .line:visible")).to_have_count(0)
    page.get_by_label("Search the transcript").press("Escape")
    expect(page.locator("#lines .line:visible")).to_have_count(len(replay.cues))
    # A speaker's name finds their lines.
    page.get_by_label("Search the transcript").fill("Ben")
    expect(page.locator("#lines .line:visible")).to_have_count(
        sum(c.speaker == GUEST for c in replay.cues)
    )


def host_script(replay: Replay) -> str:
    return (
        f"localStorage.setItem({json.dumps(f'stoa:host:{replay.space_id}')}, "
        f"{json.dumps(replay.host_token)});"
    )


def test_the_host_downloads_and_shares_the_transcript(
    open_page: OpenPage, replay: Replay, tmp_path: Path
) -> None:
    visitor = open_page(f"/spaces/{replay.space_id}")
    wait_lines(visitor, replay)
    expect(visitor.locator("#downloads")).to_be_hidden()

    host = open_page(f"/spaces/{replay.space_id}", init_script=host_script(replay))
    expect(host.locator("#downloads")).to_be_visible()
    with host.expect_download() as download:
        host.get_by_role("button", name="JSON").click()
    path = tmp_path / "transcript.json"
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(f"-{replay.space_id}.json")
    document = json.loads(path.read_text())
    jsonschema.validate(document, schema())
    assert [s["name"] for s in document["speakers"]] == [HOST, GUEST]
    with host.expect_download() as download:
        host.get_by_role("button", name="SRT").click()
    assert download.value.suggested_filename.endswith(".srt")

    # The host makes it public: anyone gets plain download links.
    host.get_by_label("Anyone can download the transcript").check()
    expect(host.get_by_label("Anyone can download the transcript")).to_be_checked()
    try:
        visitor.reload()
        expect(visitor.locator("#downloads")).to_be_visible()
        expect(visitor.get_by_label("Anyone can download the transcript")).to_be_hidden()
        link = visitor.get_by_role("link", name="Text")
        with visitor.expect_download() as download:
            link.click()
        download.value.save_as(tmp_path / "transcript.txt")
        assert HOST in (tmp_path / "transcript.txt").read_text()
    finally:
        host.get_by_label("Anyone can download the transcript").uncheck()
        expect(host.get_by_label("Anyone can download the transcript")).not_to_be_checked()
    visitor.reload()
    wait_lines(visitor, replay)
    expect(visitor.locator("#downloads")).to_be_hidden()


def test_the_replay_page_fits_a_phone_and_escapes_user_text(
    open_page: OpenPage, replay: Replay, tmp_path: Path
) -> None:
    page = open_page(f"/spaces/{replay.space_id}", viewport=PHONE)
    wait_lines(page, replay)
    expect(page.locator("#title")).to_have_text(TITLE)
    expect(page.locator("#host-name")).to_have_text(HOST)
    expect(page.locator("#speaker-names")).to_have_text(GUEST)
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("window.__xss") is None
    fits_the_width(page)
    for selector in ("#play", "#seek", "#speed"):
        in_view(page, selector)
    # The player stays in view while the page scrolls down to the transcript.
    page.locator("#lines .line").last.scroll_into_view_if_needed()
    in_view(page, "#play")
    page.screenshot(path=str(tmp_path / "replay-phone.png"))


def test_a_space_being_processed_says_how_far_it_has_come(
    open_page: OpenPage, replay: Replay
) -> None:
    catalog: Catalog = replay.server.app.state.catalog
    space, _host = catalog.create_space(
        title="Still cooking", host_name="Hana", scheduled_for=None, host_device=None
    )
    catalog.end_space(space.id)
    catalog.record_tracks(space.id, [], manifest_key=f"spaces/{space.id}/manifest.json")
    part = "transcribe/someone"
    record, released = catalog.start_processing(
        space.id, [PartSpec(name=part, stage="transcribe", position=1, weight=1.0)]
    )
    catalog.begin_part(space.id, record.run, part, released[0].message_id)
    catalog.report_progress(space.id, record.run, part, 0.4)

    page = open_page(f"/spaces/{space.id}")
    expect(page.get_by_role("alert")).to_contain_text("This space has ended.")
    expect(page.get_by_role("alert")).to_contain_text("being prepared")
    expect(page.locator("#progress-text")).to_have_text("Transcribing what was said · 40% done")
    assert page.locator("#audio").count() == 0
    catalog.report_progress(space.id, record.run, part, 0.75)
    expect(page.locator("#progress-text")).to_have_text("Transcribing what was said · 75% done")
    expect(page.locator("#progress")).to_have_attribute("value", "75")
    catalog.fail_processing(space.id, record.run, part, "the model could not be loaded")
    expect(page.locator("#progress-text")).to_have_text(
        "Preparing the replay failed: the model could not be loaded"
    )
    expect(page.get_by_role("alert")).to_have_text(
        "This space has ended. Its replay could not be prepared."
    )
    page.reload()
    expect(page.get_by_role("alert")).to_have_text(
        "This space has ended. Its replay could not be prepared."
    )


def test_an_unrecorded_space_says_there_is_no_replay(open_page: OpenPage, replay: Replay) -> None:
    catalog: Catalog = replay.server.app.state.catalog
    space, _host = catalog.create_space(
        title="Off the record",
        host_name="Hana",
        scheduled_for=None,
        host_device=None,
        record=False,
    )
    catalog.end_space(space.id)
    page = open_page(f"/spaces/{space.id}")
    expect(page.get_by_role("alert")).to_have_text(
        "This space has ended. It was not recorded, so there is no replay."
    )
    expect(page.locator("#progress-box")).to_be_hidden()


def test_the_live_page_leads_to_the_replay_when_the_space_ends(
    open_page: OpenPage, replay: Replay
) -> None:
    created = httpx.post(
        f"{replay.url}/api/spaces", json={"title": "Short one", "host_name": "Hana"}
    ).json()
    space_id = created["space"]["id"]
    page = open_page(f"/spaces/{space_id}")
    expect(page.locator("#state")).to_have_text("Live")
    assert page.locator("#audio").count() == 0
    ended = httpx.post(
        f"{replay.url}/api/spaces/{space_id}/end",
        headers={"Authorization": f"Bearer {created['host_token']}"},
    )
    assert ended.status_code == 200
    expect(page.get_by_role("alert")).to_contain_text("This space has ended")
    page.get_by_role("link", name="See the replay").click()
    expect(page.locator("#replay")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This space has ended.")
    # Nobody spoke: the pipeline says so, and the page follows it there.
    expect(page.locator("#progress-text")).to_have_text(
        re.compile("^Preparing the replay failed: nothing was recorded"), timeout=30_000
    )


def test_a_space_ended_before_it_started_has_no_replay(open_page: OpenPage, replay: Replay) -> None:
    created = httpx.post(
        f"{replay.url}/api/spaces",
        json={"title": "Never held", "host_name": "Hana", "scheduled_for": "2099-01-01T10:00:00Z"},
    ).json()
    space_id = created["space"]["id"]
    httpx.post(
        f"{replay.url}/api/spaces/{space_id}/end",
        headers={"Authorization": f"Bearer {created['host_token']}"},
    ).raise_for_status()
    page = open_page(f"/spaces/{space_id}")
    expect(page.get_by_role("alert")).to_have_text(
        "This space has ended. It ended before it started, so nothing was recorded."
    )
    expect(page.locator("#progress-box")).to_be_hidden()
    r = httpx.get(f"{replay.url}/api/spaces/{space_id}/captions.vtt")
    assert r.status_code == 404 and "before it started" in r.json()["detail"]


def test_search_across_spaces_opens_the_replay_at_the_moment(
    open_page: OpenPage, replay: Replay, tmp_path: Path
) -> None:
    word = max(replay.cues[long_cues(replay)[-1]].text.split(), key=len)
    api = httpx.get(f"{replay.url}/api/search", params={"q": word}).json()
    assert api["hits"], f"the index has no {word!r}"
    # From any page's header, on a phone.
    page = open_page("/", viewport=PHONE)
    fits_the_width(page)
    page.get_by_label("Search what was said").fill(word)
    page.get_by_label("Search what was said").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))
    hits = page.locator("#hits .hit")
    expect(hits).to_have_count(len(api["hits"]))
    fits_the_width(page)
    # The page shows the API's hits in its order: the moment, the space, who said what.
    assert [hits.nth(i).locator("a").get_attribute("href") for i in range(len(api["hits"]))] == [
        h["url"] for h in api["hits"]
    ]
    first = api["hits"][0]
    expect(hits.first.locator(".hit-space")).to_have_text(TITLE)
    expect(hits.first.locator(".hit-speaker")).to_have_text(first["speaker"])
    expect(hits.first.locator("mark").first).to_have_text(re.compile(re.escape(word), re.I))
    assert page.locator(INJECTED).count() == 0
    page.screenshot(path=str(tmp_path / "search-phone.png"))

    hits.first.locator(".hit-link").click()
    expect(page).to_have_url(re.compile(rf"/spaces/{replay.space_id}\?t="))
    # The replay page's module may not have run yet when the address has changed.
    page.wait_for_function(
        "(t) => window.stoa && window.stoa.audio && window.stoa.audio.readyState >= 1"
        " && Math.abs(window.stoa.audio.currentTime - t) < 0.05",
        arg=round(first["start"], 2),
    )
    assert page.evaluate("window.__xss") is None


def test_the_search_page_explains_what_it_cannot_search(open_page: OpenPage) -> None:
    page = open_page("/search")
    expect(page.get_by_role("heading", name="Search what was said")).to_be_visible()
    response = page.goto("/search?q=a*")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("3 letters")
    expect(page.locator("#search-q")).to_have_value("a*")
    page.goto("/search?q=zzqx+nothing+like+this")
    expect(page.locator("#search-count")).to_have_text("Nothing said in a replay matches that.")
    hostile = '"<img src=x onerror=window.__xss=3>'
    page.goto("/search?" + str(httpx.QueryParams({"q": hostile})))
    expect(page.locator("#search-q")).to_have_value(hostile)
    assert page.locator(INJECTED).count() == 0
    assert page.evaluate("window.__xss") is None
