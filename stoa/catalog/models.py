"""The catalog's tables: spaces, their participants, their recorded tracks, and their processing.

Processing (the pipeline issue): one ``processing`` row per space says where its current run is;
its ``processing_parts`` are the units of work (a stage of one track, or of the whole space);
``track_segments`` hold what recognition found on each track and ``caption_segments`` the merged
timeline, the search index of the replay.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and read back time-zone aware, on SQLite as on PostgreSQL.

    SQLite keeps no offset: without this, 20:30+02:00 would come back as 20:30 UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the catalog stores time-zone aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def _enum(cls: type[enum.StrEnum]) -> Enum:
    """A string column holding the enum's values ("replayable"), as the API and raw SQL see
    them (migration 0003 turned the names stored before into values)."""
    return Enum(
        cls,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class SpaceState(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    # Ended, and its tracks and manifest are in storage: ready for the pipeline.
    RECORDED = "recorded"
    # Processed: replay audio, captions and search index are published.
    REPLAYABLE = "replayable"


class Role(enum.StrEnum):
    HOST = "host"
    COHOST = "cohost"
    SPEAKER = "speaker"
    LISTENER = "listener"


class Space(Base):
    __tablename__ = "spaces"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    host_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[SpaceState] = mapped_column(_enum(SpaceState))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The host's choice at creation: whether speakers are recorded.
    record: Mapped[bool] = mapped_column(Boolean, default=True)
    manifest_key: Mapped[str | None] = mapped_column(String(300))
    # The host's choice: anyone may download the transcript, not only the host (migration 0004).
    transcript_public: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_spaces_state_created", "state", "created_at"),)


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[Role] = mapped_column(_enum(Role))
    # An opaque id of the browser that joined, so a removed participant cannot rejoin.
    device_id: Mapped[str | None] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_participants_space_device", "space_id", "device_id"),)


class Track(Base):
    """One speaker's recorded track of a space."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    storage_key: Mapped[str] = mapped_column(String(300))
    start_offset_ms: Mapped[float] = mapped_column(Float)
    duration_ms: Mapped[float] = mapped_column(Float)
    bytes: Mapped[int] = mapped_column(Integer)
    packets: Mapped[dict[str, Any]] = mapped_column(JSON)
    codec: Mapped[dict[str, Any]] = mapped_column(JSON)


class ProcessingState(enum.StrEnum):
    RUNNING = "running"
    FAILED = "failed"
    DONE = "done"


class PartState(enum.StrEnum):
    WAITING = "waiting"  # for the parts it depends on
    QUEUED = "queued"  # a message was (or is about to be) sent for it
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Processing(Base):
    """Where a space's processing stands: its current run, stage, progress and error."""

    __tablename__ = "processing"

    space_id: Mapped[str] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    # Each run (the first, then every reprocessing) has a new number; messages of older runs
    # find theirs superseded and stop.
    run: Mapped[int] = mapped_column(Integer)
    state: Mapped[ProcessingState] = mapped_column(_enum(ProcessingState))
    stage: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    # The recognition model of this run; None: the workers' default.
    model: Mapped[str | None] = mapped_column(String(300))
    # The run whose outputs are published, and their storage keys by name.
    published_run: Mapped[int | None] = mapped_column(Integer)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessingPart(Base):
    """A unit of a run: one stage for one track (``transcribe/<participant>``) or the space."""

    __tablename__ = "processing_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    # Order of the stage in the pipeline, for the stage a person is shown.
    position: Mapped[int] = mapped_column(Integer)
    # Share of the whole run's work, for its progress.
    weight: Mapped[float] = mapped_column(Float)
    # Names of the parts of the same run this one waits for.
    waits_for: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[PartState] = mapped_column(_enum(PartState))
    # The message that owns the part; a message with another id finds itself superseded.
    message_id: Mapped[str | None] = mapped_column(String(64))
    # When the broker took that message; None: released but maybe never sent (a crash between).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    elapsed_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("space_id", "run", "name", name="uq_processing_parts_space_run_name"),
    )


class TrackSegment(Base):
    """A segment recognized on one track, in seconds from the start of that track."""

    __tablename__ = "track_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[str] = mapped_column(String(32))
    # Which piece of the track its transcription part recognized (0: the first, or the whole).
    piece: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    # [[start, end, text, probability], ...]
    words: Mapped[list[list[Any]]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_track_segments_space_run_participant", "space_id", "run", "participant_id"),
    )


class CaptionSegment(Base):
    """A segment of a space's merged timeline (seconds on the space clock): the search index."""

    __tablename__ = "caption_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    space_id: Mapped[str] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    speaker_id: Mapped[str] = mapped_column(String(32))
    speaker: Mapped[str] = mapped_column(String(80))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_caption_segments_space_run", "space_id", "run", "position"),)
