"""Processing state in the catalog, on SQLite and PostgreSQL: runs, parts, claims, releases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

import stoa.catalog
from stoa.catalog import (
    CaptionRecord,
    Catalog,
    Claim,
    PartSpec,
    PartState,
    ProcessingState,
    Role,
    SpaceState,
    TrackRecord,
    TrackSegmentRecord,
)
from workers.plan import Stage, part_name, plan

MIGRATIONS = Path(stoa.catalog.__file__).parent / "migrations"


def recorded_space(catalog: Catalog, speakers: int = 2) -> tuple[str, list[TrackRecord]]:
    space, host = catalog.create_space(
        title="Done", host_name="Hana", scheduled_for=None, host_device=None
    )
    tracks = [
        TrackRecord(
            participant_id=host.id if i == 0 else f"p{i}",
            name=f"Speaker {i}",
            storage_key=f"spaces/{space.id}/tracks/p{i}.ogg",
            start_offset_ms=1000.0 * i,
            duration_ms=60_000.0,
            bytes=1000,
            packets={},
            codec={},
        )
        for i in range(speakers)
    ]
    assert space.started_at is not None
    catalog.end_space_at(space.id, space.started_at + timedelta(minutes=1))
    catalog.record_tracks(space.id, tracks, f"spaces/{space.id}/manifest.json")
    return space.id, catalog.tracks(space.id)


def names(parts: object) -> set[str]:
    return {p.name for p in parts}  # type: ignore[attr-defined]


def test_a_run_starts_with_the_parts_that_wait_for_nothing(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    record, released = catalog.start_processing(space_id, plan(tracks), model="large-v3")
    assert record.run == 1 and record.state is ProcessingState.RUNNING
    assert record.stage == Stage.PREPARE and record.progress == 0.0 and record.model == "large-v3"
    assert names(released) == {part_name(Stage.PREPARE, t.participant_id) for t in tracks}
    assert len({p.message_id for p in released}) == len(released)
    parts = catalog.parts(space_id)
    assert len(parts) == 2 * len(tracks) + 4
    waiting = [p for p in parts if p.state is PartState.WAITING]
    assert names(waiting) == names(parts) - names(released)
    assert all(p.message_id is None for p in waiting)


def test_claims(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    _, released = catalog.start_processing(space_id, plan(tracks))
    part = released[0]
    assert catalog.begin_part(space_id, 1, part.name, "someone-else") is Claim.STALE
    assert catalog.begin_part(space_id, 2, part.name, part.message_id) is Claim.STALE
    waiting = part_name(Stage.TRANSCRIBE, tracks[0].participant_id)
    assert catalog.begin_part(space_id, 1, waiting, part.message_id) is Claim.STALE
    assert catalog.begin_part(space_id, 1, part.name, part.message_id) is Claim.PROCEED
    # Delivered again (its worker died): the same message carries on.
    assert catalog.begin_part(space_id, 1, part.name, part.message_id) is Claim.PROCEED
    assert catalog.part(space_id, 1, part.name).attempts == 2
    catalog.complete_part(space_id, 1, part.name, result={"ok": True})
    assert catalog.begin_part(space_id, 1, part.name, part.message_id) is Claim.DONE


def test_completing_parts_releases_what_waited_for_them(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    _, released = catalog.start_processing(space_id, plan(tracks))
    a, b = (p.participant_id for p in tracks)
    done = catalog.complete_part(space_id, 1, part_name(Stage.PREPARE, a), elapsed_s=1.0)
    assert names(done.released) == {part_name(Stage.TRANSCRIBE, a)}
    done = catalog.complete_part(space_id, 1, part_name(Stage.PREPARE, b))
    # The last prepare releases its transcription and the mix, which needs every loudness.
    assert names(done.released) == {part_name(Stage.TRANSCRIBE, b), Stage.REPLAY}
    again = catalog.complete_part(space_id, 1, part_name(Stage.PREPARE, b))
    assert not again.applied and again.released == []
    record = catalog.processing(space_id)
    assert record is not None and record.stage == Stage.TRANSCRIBE
    assert record.progress == pytest.approx(10.0)
    part = catalog.part(space_id, 1, part_name(Stage.PREPARE, a))
    assert part.state is PartState.DONE and part.elapsed_s == 1.0 and part.finished_at


def test_parts_released_together_are_sent_heaviest_first(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    # One-minute tracks in 20 s pieces: the last prepare releases three pieces and the mix.
    _, released = catalog.start_processing(space_id, plan(tracks, piece_seconds=20))
    assert len(released) == 2
    catalog.complete_part(space_id, 1, released[0].name)
    done = catalog.complete_part(space_id, 1, released[1].name)
    last = released[1].name.partition("/")[2]
    # The mix is the most work of them: sent before the pieces, it does not run last and alone.
    assert [p.name for p in done.released] == [
        Stage.REPLAY,
        *(part_name(Stage.TRANSCRIBE, last, k) for k in range(3)),
    ]


def test_track_segments_are_replaced_never_added(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    catalog.start_processing(space_id, plan(tracks))
    pid = tracks[0].participant_id
    name = part_name(Stage.TRANSCRIBE, pid)
    first = [
        TrackSegmentRecord(0.5, 1.5, "hello", ((0.5, 1.0, " hel", 0.9), (1.0, 1.5, "lo", 0.8)))
    ]
    # The same part completed by two deliveries: the second writes nothing.
    assert catalog.complete_part(space_id, 1, name, track_segments=(pid, first)).applied
    second = [TrackSegmentRecord(0.5, 1.5, "again")] * 3
    assert not catalog.complete_part(space_id, 1, name, track_segments=(pid, second)).applied
    assert catalog.track_segments(space_id, 1) == {pid: first}


def test_publishing_makes_the_space_replayable(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog, speakers=1)
    catalog.start_processing(space_id, plan(tracks))
    captions = [CaptionRecord("p0", "Speaker 0", 1.0, 2.0, "first run")]
    catalog.complete_part(space_id, 1, Stage.INDEX, captions=captions)
    published = catalog.publish(space_id, 1, Stage.PUBLISH, {"audio": "a/1.m4a"})
    assert published.applied and published.previous_run is None
    record = catalog.processing(space_id)
    assert record is not None
    assert record.state is ProcessingState.DONE and record.published_run == 1
    assert record.outputs == {"audio": "a/1.m4a"}
    assert catalog.get_space(space_id).state is SpaceState.REPLAYABLE
    assert catalog.caption_segments(space_id) == captions

    # Run 2: until it is published, run 1's outputs and captions stay.
    catalog.start_processing(space_id, plan(tracks))
    assert catalog.caption_segments(space_id) == captions
    new = [CaptionRecord("p0", "Speaker 0", 1.0, 2.5, "second run")]
    catalog.complete_part(space_id, 2, Stage.INDEX, captions=new)
    assert catalog.caption_segments(space_id) == captions
    assert catalog.caption_segments(space_id, 2) == new
    published = catalog.publish(space_id, 2, Stage.PUBLISH, {"audio": "a/2.m4a"})
    assert published.previous_run == 1
    assert catalog.caption_segments(space_id) == new
    assert catalog.caption_segments(space_id, 1) == []
    assert {p.run for p in catalog.parts(space_id)} == {2}


def test_a_failed_run_keeps_its_reason_and_refuses_work(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    _, released = catalog.start_processing(space_id, plan(tracks))
    part = released[0]
    assert catalog.fail_processing(space_id, 1, part.name, "the track of Ann is corrupt")
    record = catalog.processing(space_id)
    assert record is not None and record.state is ProcessingState.FAILED
    assert record.stage == Stage.PREPARE and record.error == "the track of Ann is corrupt"
    assert catalog.begin_part(space_id, 1, released[1].name, released[1].message_id) is Claim.STALE
    assert not catalog.complete_part(space_id, 1, released[1].name).applied
    assert catalog.get_space(space_id).state is SpaceState.RECORDED


def test_requeue_after_a_stop(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    _, released = catalog.start_processing(space_id, plan(tracks))
    sent, unsent = released
    catalog.mark_sent(sent)
    catalog.begin_part(space_id, 1, sent.name, sent.message_id)
    # A broker server still has the sent message: only the unsent part goes again.
    again = catalog.requeue_unfinished(in_flight_lost=False)
    assert names(again) == {unsent.name} and again[0].message_id != unsent.message_id
    # An in-process broker lost everything: both go again, with new ids.
    again = catalog.requeue_unfinished(in_flight_lost=True)
    assert names(again) == {sent.name, unsent.name}
    assert catalog.begin_part(space_id, 1, sent.name, sent.message_id) is Claim.STALE
    fresh = {p.name: p.message_id for p in again}
    assert catalog.begin_part(space_id, 1, sent.name, fresh[sent.name]) is Claim.PROCEED


def test_unprocessed_spaces_are_recorded_ones_without_a_run(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog)
    other, _ = recorded_space(catalog)
    catalog.create_space(title="Live", host_name="Lee", scheduled_for=None, host_device=None)
    assert set(catalog.unprocessed_spaces()) == {space_id, other}
    catalog.start_processing(space_id, plan(tracks))
    assert catalog.unprocessed_spaces() == [other]


def test_progress_reports_move_the_run(catalog: Catalog) -> None:
    space_id, tracks = recorded_space(catalog, speakers=1)
    _, released = catalog.start_processing(space_id, plan(tracks))
    pid = tracks[0].participant_id
    catalog.complete_part(space_id, 1, part_name(Stage.PREPARE, pid))
    name = part_name(Stage.TRANSCRIBE, pid)
    transcribe = next(p for p in catalog.parts(space_id) if p.name == name)
    assert transcribe.message_id is not None
    catalog.begin_part(space_id, 1, name, transcribe.message_id)
    catalog.report_progress(space_id, 1, name, 0.5)
    record = catalog.processing(space_id)
    assert record is not None and record.progress == pytest.approx(10 + 30)


def test_the_last_two_tracks_finishing_together_release_captions_once(catalog: Catalog) -> None:
    """Two workers finish the last two transcriptions at the same moment, many times over."""
    for _ in range(5):
        space_id, tracks = recorded_space(catalog, speakers=2)
        parts = [
            PartSpec(part_name(Stage.TRANSCRIBE, t.participant_id), Stage.TRANSCRIBE, 1, 1.0)
            for t in tracks
        ]
        waits = tuple(p.name for p in parts)
        parts.append(PartSpec(Stage.CAPTIONS, Stage.CAPTIONS, 3, 1.0, waits))
        catalog.start_processing(space_id, parts)
        barrier = threading.Barrier(2)
        released: list[str] = []
        threads = [
            threading.Thread(target=_finish, args=(catalog, space_id, name, barrier, released))
            for name in waits
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert released == [Stage.CAPTIONS]


def test_migration_0003_keeps_spaces_made_before_it(empty_catalog: Catalog) -> None:
    """Spaces and participants stored under 0002 (enum names) read back after 0003 (values)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = empty_catalog.engine
    command.upgrade(config, "0002")
    with empty_catalog.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO spaces (id, title, host_id, state, created_at, record) "
                "VALUES ('s1', 'Old', 'h1', 'RECORDED', :now, true)"
            ),
            {"now": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO participants (id, space_id, name, role, joined_at) "
                "VALUES ('h1', 's1', 'Hana', 'HOST', :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    empty_catalog.migrate()
    assert empty_catalog.get_space("s1").state is SpaceState.RECORDED
    assert empty_catalog.get_participant("h1").role is Role.HOST
    assert empty_catalog.unprocessed_spaces() == ["s1"]
    command.downgrade(config, "0002")
    with empty_catalog.engine.connect() as connection:
        assert connection.execute(text("SELECT state FROM spaces")).scalar() == "RECORDED"


def _finish(
    catalog: Catalog, space_id: str, name: str, barrier: threading.Barrier, released: list[str]
) -> None:
    barrier.wait()
    done = catalog.complete_part(space_id, 1, name)
    released.extend(p.name for p in done.released)
