"""Recorded spaces: the list (filtered, paged) and one space's replay as the page shows it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from live.api import PacketAccounting, ProcessingOut, TrackOut
from replay_api.deps import CatalogDep, SpaceDep
from replay_api.errors import BadRequest
from replay_api.listing import OVER, Filters, recorded_spaces
from stoa import errors as stoa_errors
from stoa.catalog import Catalog, ProcessingRecord, Role, SpaceRecord, SpaceState, TrackRecord
from transcribe.captions import FORMATS

router = APIRouter(prefix="/api", tags=["replay"])

ReplayState = Literal["ended", "recorded", "replayable"]
_STAGE_ROLES = (Role.HOST, Role.COHOST, Role.SPEAKER)
_PROCESSED = (SpaceState.RECORDED, SpaceState.REPLAYABLE)


class Person(BaseModel):
    id: str
    name: str


class ReplaySummary(BaseModel):
    id: str
    title: str
    state: SpaceState
    host: Person
    recorded_at: datetime = Field(description="When the space started.")
    ended_at: datetime | None
    duration_s: float | None
    url: str = Field(description="The space's page, with its replay.")


class ReplayList(BaseModel):
    spaces: list[ReplaySummary]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


class PacketSummary(BaseModel):
    """Every track's packet accounting added up: how whole the recording is."""

    tracks: int
    sent: int | None = Field(description="Per RTCP sender reports; null if a track had none.")
    received: int
    lost: int
    loss_percent: float = Field(description="Lost of received + lost, in percent.")
    filled_ms: float = Field(description="Silence written where no packet was.")
    duplicate: int
    late: int
    muted: int


class ReplayLinks(BaseModel):
    audio: str
    peaks: str
    captions: str
    transcript: dict[str, str] = Field(
        description="By format; the host's to download unless transcript_public."
    )


class ReplayOut(BaseModel):
    id: str
    title: str
    state: SpaceState
    record: bool = Field(description="Whether the host chose to record the space.")
    host: Person
    speakers: list[Person] = Field(description="Who was recorded, in order of first speech.")
    recorded_at: datetime | None = Field(description="When the space started.")
    ended_at: datetime | None
    duration_s: float | None
    processing: ProcessingOut | None = Field(
        description="How turning the recording into a replay goes, once begun."
    )
    packets: PacketSummary | None = Field(description="Null until the recording is saved.")
    tracks: list[TrackOut]
    transcript_public: bool
    links: ReplayLinks | None = Field(description="The replay's files, once replayable.")


def _utc(value: datetime | None, name: str) -> datetime | None:
    """A query's time in UTC; one without a zone is taken as UTC."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise BadRequest(f"{name} is out of range") from exc


@router.get("/replays", response_model=ReplayList)
async def list_replays(
    catalog: CatalogDep,
    host: Annotated[
        str | None, Query(max_length=80, description="Part of the host's name, any case.")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Recorded at or after (ISO 8601; UTC if no zone).")
    ] = None,
    until: Annotated[datetime | None, Query(description="Recorded before.")] = None,
    state: Annotated[
        list[ReplayState] | None, Query(description="Any of these states; default all three.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=300, description="next_cursor of the previous page.")
    ] = None,
) -> ReplayList:
    """Spaces that are over (ended, recorded or replayable), newest first, a page at a time."""
    filters = Filters(
        host=host.strip() or None if host else None,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        states=tuple(SpaceState(s) for s in dict.fromkeys(state)) if state else OVER,
    )
    page = await asyncio.to_thread(
        recorded_spaces, catalog.engine, filters, limit=limit, cursor=cursor
    )
    return ReplayList(
        spaces=[
            ReplaySummary(
                id=item.space.id,
                title=item.space.title,
                state=item.space.state,
                host=Person(id=item.space.host_id, name=item.host_name),
                recorded_at=item.recorded_at,
                ended_at=item.space.ended_at,
                duration_s=_duration(item.space),
                url=f"/spaces/{item.space.id}",
            )
            for item in page.spaces
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/spaces/{space_id}/replay", response_model=ReplayOut)
async def replay_detail(space: SpaceDep, catalog: CatalogDep) -> ReplayOut:
    """A space as its replay shows it: people, times, processing, packet accounting, files."""
    return await replay_out(catalog, space)


async def replay_out(catalog: Catalog, space: SpaceRecord) -> ReplayOut:
    # One trip to a worker thread for the reads: under load, each hop costs more than a read.
    tracks, processing, host, speakers = await asyncio.to_thread(_read, catalog, space)
    base = f"/api/spaces/{space.id}"
    return ReplayOut(
        id=space.id,
        title=space.title,
        state=space.state,
        record=space.record,
        host=host,
        speakers=list({p.id: p for p in speakers}.values()),
        recorded_at=space.started_at,
        ended_at=space.ended_at,
        duration_s=_duration(space),
        processing=_processing(processing) if space.state in _PROCESSED else None,
        packets=_packets(tracks) if tracks else None,
        tracks=[_track(t) for t in tracks],
        transcript_public=space.transcript_public,
        links=(
            ReplayLinks(
                audio=f"{base}/audio",
                peaks=f"{base}/peaks.json",
                captions=f"{base}/captions.vtt",
                transcript={fmt: f"{base}/transcript.{fmt}" for fmt in FORMATS},
            )
            if space.state is SpaceState.REPLAYABLE
            else None
        ),
    )


def _read(
    catalog: Catalog, space: SpaceRecord
) -> tuple[list[TrackRecord], ProcessingRecord | None, Person, list[Person]]:
    """The space's tracks, processing, host and speakers, from the catalog (in a thread)."""
    tracks = catalog.tracks(space.id)
    processing = catalog.processing(space.id)
    try:
        record = catalog.get_participant(space.host_id)
        host = Person(id=record.id, name=record.name)
    except stoa_errors.NotFound:
        host = Person(id=space.host_id, name="")
    speakers = [Person(id=t.participant_id, name=t.name) for t in tracks]
    if not tracks and space.state in OVER:
        # Nothing recorded (yet): who was on stage at the end.
        speakers = [
            Person(id=p.id, name=p.name)
            for p in catalog.participants(space.id)
            if p.role in _STAGE_ROLES and p.removed_at is None
        ]
    return tracks, processing, host, speakers


def _duration(space: SpaceRecord) -> float | None:
    if space.started_at is None or space.ended_at is None:
        return None
    return round(max(0.0, (space.ended_at - space.started_at).total_seconds()), 3)


def _processing(processing: ProcessingRecord | None) -> ProcessingOut | None:
    if processing is None:
        return None
    return ProcessingOut(
        state=processing.state,
        stage=processing.stage,
        progress=int(processing.progress),
        error=processing.error,
    )


def _track(track: TrackRecord) -> TrackOut:
    return TrackOut(
        participant_id=track.participant_id,
        name=track.name,
        start_offset_ms=track.start_offset_ms,
        duration_ms=track.duration_ms,
        bytes=track.bytes,
        packets=PacketAccounting(**track.packets),
    )


def _packets(tracks: list[TrackRecord]) -> PacketSummary:
    counts = [PacketAccounting(**t.packets) for t in tracks]
    received = sum(c.received for c in counts)
    lost = sum(c.lost for c in counts)
    sent = [c.sent for c in counts]
    return PacketSummary(
        tracks=len(counts),
        sent=None if any(s is None for s in sent) else sum(s for s in sent if s is not None),
        received=received,
        lost=lost,
        loss_percent=round(100.0 * lost / (received + lost), 3) if received + lost else 0.0,
        filled_ms=round(sum(c.filled_ms for c in counts), 3),
        duplicate=sum(c.duplicate for c in counts),
        late=sum(c.late for c in counts),
        muted=sum(c.muted for c in counts),
    )
