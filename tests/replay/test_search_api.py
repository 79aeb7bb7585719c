"""GET /api/search over the real app: hits, pages, and hostile queries that are never a 500."""

from __future__ import annotations

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
