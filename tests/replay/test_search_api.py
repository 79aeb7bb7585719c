"""GET /api/search and the /search page over the real app: hits, pages, hostile queries."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import text

from stoa.search import Document, SearchIndex
from tests.conftest import LiveServer
from tests.rtc_clients import create_space


@pytest.fixture
async def replayable(client: httpx.AsyncClient, live_server: LiveServer) -> str:
    host = await create_space(client, "Night <b>talk</b>")
    catalog = live_server.app.state.live.catalog
    with catalog.engine.begin() as connection:
        connection.execute(
            text("UPDATE spaces SET state = 'replayable' WHERE id = :id"), {"id": host.space_id}
        )
    index: SearchIndex = live_server.app.state.search
    index.replace_space(
        host.space_id,
        [
            Document(host.space_id, "p1", "Ann", 10.0 + i, 11.0 + i, f"night number {i} <b>")
            for i in range(25)
        ],
    )
    return host.space_id


@pytest.fixture
async def client(live_server: LiveServer) -> httpx.AsyncClient:  # type: ignore[misc]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


async def test_search_pages_through_hits(client: httpx.AsyncClient, replayable: str) -> None:
    r = await client.get("/api/search", params={"q": "night", "limit": 10})
    assert r.status_code == 200
    body = r.json()
    assert len(body["hits"]) == 10 and body["next_offset"] == 10
    hit = body["hits"][0]
    assert hit["space_id"] == replayable and hit["space_title"] == "Night <b>talk</b>"
    assert hit["url"].startswith(f"/spaces/{replayable}?t=")
    assert "<mark>night</mark>" in hit["snippet"] and "&lt;b&gt;" in hit["snippet"]
    seen = {h["start"] for h in body["hits"]}
    offset = body["next_offset"]
    while offset is not None:
        page = (await client.get("/api/search", params={"q": "night", "offset": offset})).json()
        seen |= {h["start"] for h in page["hits"]}
        offset = page["next_offset"]
    assert len(seen) == 25
    r = await client.get(f"/api/spaces/{replayable}/search", params={"q": '"number 7"'})
    assert [h["start"] for h in r.json()["hits"]] == [17.0]


@pytest.mark.parametrize(
    "q", ['"', "*", "NEAR(a b)", "a OR", "(((", "night)", "' OR 1=1 --", "\\", "é*", "x" * 200]
)
async def test_hostile_queries_are_200_or_a_clear_400(
    client: httpx.AsyncClient, replayable: str, q: str
) -> None:
    r = await client.get("/api/search", params={"q": q})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["detail"]


async def test_bad_parameters(client: httpx.AsyncClient, replayable: str) -> None:
    assert (await client.get("/api/search")).status_code == 422
    assert (await client.get("/api/search", params={"q": "a", "limit": 0})).status_code == 422
    r = await client.get("/api/search", params={"q": "x" * 201})
    assert r.status_code == 422


async def test_the_search_page_pages_through_the_same_hits(
    client: httpx.AsyncClient, replayable: str
) -> None:
    api = (await client.get("/api/search", params={"q": "night", "limit": 25})).json()
    links = re.compile(r'<a class="hit-link" href="([^"]+)"')
    r = await client.get("/search", params={"q": "night"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    first = links.findall(r.text)
    assert len(first) == 20 and "Results 1–20" in r.text
    assert "Night &lt;b&gt;talk&lt;/b&gt;" in r.text and "<b>" not in r.text
    more = re.search(r'rel="next" href="([^"]+)"', r.text)
    assert more is not None and 'rel="prev"' not in r.text
    r = await client.get(html.unescape(more[1]))
    second = links.findall(r.text)
    assert "Results 21–25" in r.text and 'rel="prev"' in r.text and 'rel="next"' not in r.text
    assert [html.unescape(u) for u in first + second] == [h["url"] for h in api["hits"]]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"q": "night", "offset": "x"}, 200, "Results 1–20"),
        ({"q": "night", "offset": "²"}, 200, "Results 1–20"),
        ({"q": "night", "offset": "9" * 5000}, 200, "past the first 10000 results"),
        ({"q": "x" * 201}, 400, "at most 200 characters; this one has 201"),
        ({"q": "(((" * 3 + "ni*"}, 400, "a prefix needs at least 3 letters"),
        ({"q": "   "}, 200, "a result opens the replay at its moment"),
    ],
)
async def test_the_search_page_answers_odd_input_in_words(
    client: httpx.AsyncClient, replayable: str, params: dict[str, str], status: int, says: str
) -> None:
    r = await client.get("/search", params=params)
    assert r.status_code == status and says in r.text, r.text[-800:]
