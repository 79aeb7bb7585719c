"""Preview cards: meta tags on the space page, the card image, oEmbed and the embed page."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
from PIL import Image

from live.api import ParticipantOut, SpaceOut
from live.preview import people_line, status_line
from stoa.catalog import Role, SpaceState
from tests.conftest import LiveServer
from tests.rtc_clients import join

NASTY = "<script>alert('x')</script> & \"quotes\""


def meta(page: str) -> dict[str, str]:
    tags = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)">', page)
    return {name: html.unescape(content) for name, content in tags}


async def test_space_page_carries_escaped_open_graph_tags(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    r = await client.post("/api/spaces", json={"title": NASTY, "host_name": "Ann <b>"})
    space_id = r.json()["space"]["id"]
    await join(client, space_id, "Lia")
    page = (await client.get(f"/spaces/{space_id}")).text
    assert "<script>alert" not in page
    tags = meta(page)
    assert tags["og:title"] == NASTY
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:image"] == f"{live_server.url}/spaces/{space_id}/card.png"
    assert tags["og:description"].startswith("Hosted by Ann <b>")
    assert "Live now" in tags["og:description"]
    assert f'href="{live_server.url}/oembed?url=' in page


async def test_card_image_is_a_cached_png_of_the_right_size(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/spaces", json={"title": NASTY * 4, "host_name": "Ann"})
    space_id = r.json()["space"]["id"]
    host = {"Authorization": f"Bearer {r.json()['host_token']}"}
    r = await client.get(f"/spaces/{space_id}/card.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(r.content)) as image:
        assert image.size == (1200, 630)
    etag = r.headers["etag"]
    assert "max-age" in r.headers["cache-control"]
    again = await client.get(f"/spaces/{space_id}/card.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    # What the card shows changed (the space ended): a new card.
    await client.post(f"/api/spaces/{space_id}/end", headers=host)
    changed = await client.get(f"/spaces/{space_id}/card.png", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert (await client.get("/spaces/nope/card.png")).status_code == 404


async def test_oembed(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    r = await client.post("/api/spaces", json={"title": NASTY, "host_name": "Ann"})
    space_id = r.json()["space"]["id"]
    url = f"{live_server.url}/spaces/{space_id}"
    r = await client.get("/oembed", params={"url": url})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "rich" and body["version"] == "1.0"
    assert body["title"] == NASTY
    assert body["thumbnail_url"] == f"{url}/card.png"
    assert f'src="{url}/card"' in body["html"] and "<script>" not in body["html"]
    assert (await client.get("/oembed", params={"url": url, "format": "xml"})).status_code == 501
    r = await client.get("/oembed", params={"url": "https://elsewhere.example/x"})
    assert r.status_code == 404
    r = await client.get("/oembed", params={"url": f"{live_server.url}/spaces/unknown"})
    assert r.status_code == 404
    embed = (await client.get(f"/spaces/{space_id}/card")).text
    assert "<script>alert" not in embed
    title = re.search(r'<strong class="card-title">([^<]*)</strong>', embed)
    assert title is not None and html.unescape(title.group(1)) == NASTY


def space(state: SpaceState, **kw: object) -> SpaceOut:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    host = ParticipantOut(id="h", name="Ann", role=Role.HOST)
    values: dict[str, object] = {
        "id": "s",
        "title": "T",
        "state": state,
        "host": host,
        "created_at": now,
        "scheduled_for": None,
        "started_at": now,
        "ended_at": None,
        "speakers": [host],
    }
    values.update(kw)
    return SpaceOut(**values)  # type: ignore[arg-type]


def test_status_and_people_lines() -> None:
    start = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert status_line(space(SpaceState.LIVE, listener_count=1)) == "Live now · 1 listener"
    assert status_line(space(SpaceState.LIVE, listener_count=12)) == "Live now · 12 listeners"
    scheduled = space(SpaceState.SCHEDULED, scheduled_for=start + timedelta(days=1))
    assert status_line(scheduled) == "Scheduled · Tue 24 Nov 2026, 18:00 UTC"
    ended = space(SpaceState.RECORDED, ended_at=start + timedelta(minutes=75, seconds=3))
    assert status_line(ended) == "Ended · 1 h 15 min · Recorded"
    speakers = [ParticipantOut(id=str(i), name=f"S{i}", role=Role.SPEAKER) for i in range(5)]
    assert people_line(space(SpaceState.LIVE, speakers=speakers)) == (
        "Hosted by Ann, with S0, S1, S2 and 2 more"
    )
