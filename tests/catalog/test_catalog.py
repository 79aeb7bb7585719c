"""Spaces and participants in the catalog, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from stoa.catalog import Catalog, ParticipantRecord, Role, SpaceRecord, SpaceState
from stoa.errors import CatalogError, NotFound

LATER = datetime(2031, 5, 17, 18, 30, tzinfo=UTC)


def assert_utc(*stamps: datetime | None) -> None:
    for stamp in stamps:
        assert stamp is not None
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


def live_space(catalog: Catalog, title: str = "Live") -> tuple[SpaceRecord, ParticipantRecord]:
    return catalog.create_space(title=title, host_name="Hana", scheduled_for=None, host_device="d0")


# Spaces


def test_a_space_without_a_date_is_live_at_once(catalog: Catalog) -> None:
    before = datetime.now(UTC)
    space, host = live_space(catalog)
    assert space.state is SpaceState.LIVE
    assert space.scheduled_for is None
    assert space.ended_at is None
    assert space.started_at is not None
    assert before <= space.created_at <= datetime.now(UTC)
    assert space.started_at == space.created_at
    assert catalog.get_space(space.id) == space

    assert host.id == space.host_id
    assert host.role is Role.HOST
    assert host.name == "Hana"
    assert host.device_id == "d0"
    assert host.removed_at is None
    assert catalog.get_participant(host.id) == host
    assert catalog.participants(space.id) == [host]


def test_a_scheduled_space_waits_to_start(catalog: Catalog) -> None:
    space, host = catalog.create_space(
        title="Later", host_name="Hana", scheduled_for=LATER, host_device=None
    )
    stored = catalog.get_space(space.id)
    assert stored.state is SpaceState.SCHEDULED
    assert stored.scheduled_for == LATER
    assert stored.started_at is None
    assert stored.ended_at is None
    assert host.device_id is None

    started = catalog.start_space(space.id)
    assert started.state is SpaceState.LIVE
    assert started.started_at is not None
    assert started.started_at >= stored.created_at
    assert started.scheduled_for == LATER
    assert catalog.get_space(space.id) == started


def test_ending_a_space(catalog: Catalog) -> None:
    space, _ = live_space(catalog)
    ended = catalog.end_space(space.id)
    assert ended.state is SpaceState.ENDED
    assert ended.started_at == space.started_at
    assert ended.ended_at is not None and space.started_at is not None
    assert ended.ended_at >= space.started_at
    assert catalog.get_space(space.id) == ended


def test_timestamps_come_back_aware_in_utc(catalog: Catalog) -> None:
    space, _ = catalog.create_space(
        title="Stamps", host_name="Hana", scheduled_for=LATER, host_device="d0"
    )
    catalog.start_space(space.id)
    catalog.end_space(space.id)
    lia = catalog.add_participant(space_id=space.id, name="Lia", role=Role.LISTENER, device_id="d1")
    catalog.remove_participant(lia.id)
    stored = catalog.get_space(space.id)
    assert_utc(stored.created_at, stored.scheduled_for, stored.started_at, stored.ended_at)
    for listed in catalog.list_spaces():
        assert_utc(listed.created_at)
    for participant in catalog.participants(space.id):
        assert_utc(participant.joined_at)
    removed = [p for p in catalog.participants(space.id) if p.removed_at is not None]
    assert len(removed) == 1
    assert_utc(removed[0].removed_at)


def test_a_date_in_another_zone_is_the_same_instant(catalog: Catalog) -> None:
    in_paris = LATER.astimezone(timezone(timedelta(hours=2)))
    space, _ = catalog.create_space(
        title="Zones", host_name="Hana", scheduled_for=in_paris, host_device=None
    )
    scheduled_for = catalog.get_space(space.id).scheduled_for
    assert scheduled_for == LATER
    assert_utc(scheduled_for)


def test_list_spaces_newest_first_by_state(catalog: Catalog) -> None:
    scheduled, _ = catalog.create_space(
        title="Scheduled", host_name="A", scheduled_for=LATER, host_device=None
    )
    live, _ = live_space(catalog, "Live")
    ended, _ = live_space(catalog, "Ended")
    catalog.end_space(ended.id)

    assert [s.id for s in catalog.list_spaces()] == [ended.id, live.id, scheduled.id]
    assert [s.id for s in catalog.list_spaces(states=[SpaceState.LIVE])] == [live.id]
    assert [s.id for s in catalog.list_spaces(states=[SpaceState.SCHEDULED])] == [scheduled.id]
    assert [s.id for s in catalog.list_spaces(states=[SpaceState.LIVE, SpaceState.SCHEDULED])] == [
        live.id,
        scheduled.id,
    ]
    assert [s.id for s in catalog.list_spaces(states=[SpaceState.ENDED])] == [ended.id]
    assert [s.id for s in catalog.list_spaces(limit=2)] == [ended.id, live.id]
    assert all(s.state is SpaceState.ENDED for s in catalog.list_spaces(states=[SpaceState.ENDED]))


def test_list_spaces_of_an_empty_catalog(catalog: Catalog) -> None:
    assert catalog.list_spaces() == []


def test_ids_are_unique_and_url_safe(catalog: Catalog) -> None:
    ids = set()
    for _ in range(20):
        space, host = live_space(catalog)
        ids |= {space.id, host.id}
    assert len(ids) == 40
    for id_ in ids:
        assert id_.replace("-", "").replace("_", "").isalnum()


def test_unknown_ids_are_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        catalog.get_space("nope")
    with pytest.raises(NotFound):
        catalog.start_space("nope")
    with pytest.raises(NotFound):
        catalog.end_space("nope")
    with pytest.raises(NotFound):
        catalog.get_participant("nope")
    assert catalog.participants("nope") == []


# Participants


def test_add_and_list_participants_in_joining_order(catalog: Catalog) -> None:
    space, host = live_space(catalog)
    lia = catalog.add_participant(space_id=space.id, name="Lia", role=Role.LISTENER, device_id="d1")
    sam = catalog.add_participant(space_id=space.id, name="Sam", role=Role.SPEAKER, device_id=None)
    other, _ = live_space(catalog, "Other")
    catalog.add_participant(space_id=other.id, name="Ola", role=Role.LISTENER, device_id="d1")

    assert lia.space_id == space.id
    assert lia.role is Role.LISTENER
    assert lia.removed_at is None
    assert host.joined_at <= lia.joined_at <= sam.joined_at
    assert catalog.participants(space.id) == [host, lia, sam]
    assert catalog.get_participant(sam.id) == sam


def test_a_participant_needs_an_existing_space(catalog: Catalog) -> None:
    with pytest.raises(CatalogError):
        catalog.add_participant(space_id="nope", name="Lia", role=Role.LISTENER, device_id=None)


def test_set_role(catalog: Catalog) -> None:
    space, _ = live_space(catalog)
    lia = catalog.add_participant(space_id=space.id, name="Lia", role=Role.LISTENER, device_id="d1")
    catalog.set_role(lia.id, Role.SPEAKER)
    assert catalog.get_participant(lia.id).role is Role.SPEAKER
    catalog.set_role(lia.id, Role.COHOST)
    assert catalog.get_participant(lia.id).role is Role.COHOST
    catalog.set_role(lia.id, Role.LISTENER)
    assert catalog.get_participant(lia.id).role is Role.LISTENER


def test_removed_participants_are_banned_by_device(catalog: Catalog) -> None:
    space, host = live_space(catalog)
    other, _ = live_space(catalog, "Other")
    lia = catalog.add_participant(space_id=space.id, name="Lia", role=Role.LISTENER, device_id="d1")
    anon = catalog.add_participant(
        space_id=space.id, name="Anon", role=Role.LISTENER, device_id=None
    )
    assert not catalog.is_banned(space.id, "d1")

    catalog.remove_participant(lia.id)
    catalog.remove_participant(anon.id)
    removed = catalog.get_participant(lia.id)
    assert removed.removed_at is not None
    assert removed.removed_at >= lia.joined_at
    assert catalog.is_banned(space.id, "d1")
    assert not catalog.is_banned(space.id, "d2")
    assert not catalog.is_banned(space.id, host.device_id or "")
    assert not catalog.is_banned(other.id, "d1")
    # Removal keeps the row: the list is the space's history.
    assert [p.id for p in catalog.participants(space.id)] == [host.id, lia.id, anon.id]


def test_changing_an_unknown_participant_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        catalog.set_role("nobody", Role.SPEAKER)
    with pytest.raises(NotFound):
        catalog.remove_participant("nobody")
