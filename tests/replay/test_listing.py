"""Recorded spaces listed, filtered and paged, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from replay_api.errors import BadRequest
from replay_api.listing import Filters, Page, decode_cursor, encode_cursor, recorded_spaces
from stoa.catalog import Catalog, SpaceState
from stoa.catalog.models import Space
from tests.conftest import LiveServer

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def add(
    catalog: Catalog,
    host: str,
    state: SpaceState,
    started: datetime | None,
    title: str = "Talk",
) -> str:
    space, _ = catalog.create_space(
        title=title, host_name=host, scheduled_for=None, host_device=None
    )
    with catalog.engine.begin() as connection:
        connection.execute(
            update(Space)
            .where(Space.id == space.id)
            .values(state=state, started_at=started, created_at=started or T0)
        )
    return space.id


def every_page(catalog: Catalog, filters: Filters, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page: Page = recorded_spaces(catalog.engine, filters, limit=limit, cursor=cursor)
        pages.append([item.space.id for item in page.spaces])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_pages_are_newest_first_without_repeats_or_gaps(catalog: Catalog) -> None:
    ids = [add(catalog, "Ann", SpaceState.REPLAYABLE, T0 + timedelta(hours=i)) for i in range(7)]
    # Three more started at the same moment as ids[3]: the id breaks the tie.
    tied = [add(catalog, "Ben", SpaceState.RECORDED, T0 + timedelta(hours=3)) for _ in range(3)]
    add(catalog, "Live Lou", SpaceState.LIVE, T0 + timedelta(hours=9))
    add(catalog, "Sched Sue", SpaceState.SCHEDULED, None)
    # Ended before it started: listed by its creation (T0, as ids[0]).
    unstarted = add(catalog, "Eve", SpaceState.ENDED, None)

    whole = recorded_spaces(catalog.engine, Filters(), limit=100, cursor=None)
    assert whole.next_cursor is None
    order = [item.space.id for item in whole.spaces]
    assert set(order) == {*ids, *tied, unstarted}
    times = [item.recorded_at for item in whole.spaces]
    assert times == sorted(times, reverse=True)
    assert order[:3] == [ids[6], ids[5], ids[4]]
    assert set(order[3:7]) == {ids[3], *tied}
    assert order[7:9] == [ids[2], ids[1]]
    assert set(order[9:]) == {ids[0], unstarted}

    pages = every_page(catalog, Filters(), limit=3)
    assert [len(page) for page in pages] == [3, 3, 3, 2]
    assert [i for page in pages for i in page] == order

    # A space ending meanwhile does not move the pages still to come.
    first = recorded_spaces(catalog.engine, Filters(), limit=3, cursor=None)
    add(catalog, "Ann", SpaceState.ENDED, T0 + timedelta(hours=20))
    rest = every_page_from(catalog, first.next_cursor)
    assert [i.space.id for i in first.spaces] + rest == order


def every_page_from(catalog: Catalog, cursor: str | None) -> list[str]:
    found: list[str] = []
    while cursor is not None:
        page = recorded_spaces(catalog.engine, Filters(), limit=4, cursor=cursor)
        found += [item.space.id for item in page.spaces]
        cursor = page.next_cursor
    return found


def test_filters_by_host_date_and_state(catalog: Catalog) -> None:
    ann = add(catalog, "Ann Smith", SpaceState.REPLAYABLE, T0)
    anna = add(catalog, "JOANNA", SpaceState.RECORDED, T0 + timedelta(days=1))
    odd = add(catalog, "50%_off", SpaceState.ENDED, T0 + timedelta(days=2))
    ben = add(catalog, "Ben", SpaceState.ENDED, T0 + timedelta(days=3))

    def ids(**filters: object) -> list[str]:
        page = recorded_spaces(catalog.engine, Filters(**filters), limit=50, cursor=None)  # type: ignore[arg-type]
        return [item.space.id for item in page.spaces]

    assert ids(host="ann") == [anna, ann]
    assert ids(host="%") == [odd]  # LIKE's wildcards are the host's letters here
    assert ids(host="_") == [odd]
    assert ids(host="nobody") == []
    assert ids(since=T0 + timedelta(days=1)) == [ben, odd, anna]
    assert ids(until=T0 + timedelta(days=1)) == [ann]
    assert ids(since=T0 + timedelta(hours=12), until=T0 + timedelta(days=2, hours=1)) == [
        odd,
        anna,
    ]
    assert ids(states=(SpaceState.ENDED,)) == [ben, odd]
    assert ids(states=(SpaceState.REPLAYABLE, SpaceState.RECORDED)) == [anna, ann]
    page = recorded_spaces(catalog.engine, Filters(host="ann"), limit=1, cursor=None)
    assert page.spaces[0].host_name == "JOANNA"
    assert page.spaces[0].recorded_at == T0 + timedelta(days=1)


def test_a_cursor_is_opaque_and_checked() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    cursor = encode_cursor(at, "abc_-123")
    assert "abc" not in cursor and "2030" not in cursor
    assert decode_cursor(cursor) == (at, "abc_-123")
    for bad in ("", "not a cursor", "W10", encode_cursor(at, "x")[:-3], "bnVsbA"):
        with pytest.raises(BadRequest):
            decode_cursor(bad)


async def test_the_list_over_http(live_server: LiveServer) -> None:
    catalog: Catalog = live_server.app.state.catalog
    for i in range(3):
        add(catalog, f"Host {i}", SpaceState.ENDED, T0 + timedelta(minutes=i), title=f"T{i}")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await client.get("/api/replays", params={"limit": 2})
        assert r.status_code == 200
        body = r.json()
        assert [s["title"] for s in body["spaces"]] == ["T2", "T1"]
        assert body["spaces"][0]["host"]["name"] == "Host 2"
        assert body["spaces"][0]["url"] == f"/spaces/{body['spaces'][0]['id']}"
        r = await client.get("/api/replays", params={"limit": 2, "cursor": body["next_cursor"]})
        assert [s["title"] for s in r.json()["spaces"]] == ["T0"]
        assert r.json()["next_cursor"] is None

        # A time without a zone is UTC; one out of range is a 400, never a 500.
        r = await client.get("/api/replays", params={"since": "2030-03-01T12:01:00"})
        assert [s["title"] for s in r.json()["spaces"]] == ["T2", "T1"]
        r = await client.get("/api/replays", params={"until": "0001-01-01T00:00:00+05:00"})
        assert r.status_code == 400
        r = await client.get("/api/replays", params={"cursor": "garbage!"})
        assert r.status_code == 400 and "cursor" in r.json()["detail"]
        r = await client.get("/api/replays", params={"state": "live"})
        assert r.status_code == 422
        r = await client.get("/api/replays", params=[("state", "ended"), ("state", "recorded")])
        assert len(r.json()["spaces"]) == 3
