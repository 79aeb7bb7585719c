"""The catalog: Stoa's database of spaces, participants, recordings and their processing
(SQLite or PostgreSQL).

Its methods are synchronous and short; async callers run them in a thread
(``asyncio.to_thread``) so the event loop never waits on the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from stoa.catalog.models import (
    Participant,
    PartState,
    ProcessingState,
    Role,
    Space,
    SpaceState,
    Track,
    utcnow,
)
from stoa.catalog.processing import (
    Claim,
    Completion,
    PartRecord,
    PartSpec,
    ProcessingCatalog,
    ProcessingRecord,
    Publication,
    QueuedPart,
)
from stoa.catalog.segments import CaptionRecord, TrackSegmentRecord
from stoa.errors import CatalogError, NotFound

__all__ = [
    "CaptionRecord",
    "Catalog",
    "Claim",
    "Completion",
    "PartRecord",
    "PartSpec",
    "PartState",
    "ParticipantRecord",
    "ProcessingRecord",
    "ProcessingState",
    "Publication",
    "QueuedPart",
    "Role",
    "SpaceRecord",
    "SpaceState",
    "TrackRecord",
    "TrackSegmentRecord",
    "new_id",
]

_MIGRATIONS = Path(__file__).parent / "migrations"


def new_id() -> str:
    """A short, URL-safe, unguessable id."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class SpaceRecord:
    id: str
    title: str
    host_id: str
    state: SpaceState
    created_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    record: bool = True
    manifest_key: str | None = None
    transcript_public: bool = False

    @classmethod
    def of(cls, row: Space) -> SpaceRecord:
        return cls(
            id=row.id,
            title=row.title,
            host_id=row.host_id,
            state=SpaceState(row.state),
            created_at=row.created_at,
            scheduled_for=row.scheduled_for,
            started_at=row.started_at,
            ended_at=row.ended_at,
            record=bool(row.record),
            manifest_key=row.manifest_key,
            transcript_public=bool(row.transcript_public),
        )


@dataclass(frozen=True)
class TrackRecord:
    """A recorded track, as the catalog keeps it."""

    participant_id: str
    name: str
    storage_key: str
    start_offset_ms: float
    duration_ms: float
    bytes: int
    packets: dict[str, Any]
    codec: dict[str, Any]

    @classmethod
    def of(cls, row: Track) -> TrackRecord:
        return cls(
            participant_id=row.participant_id,
            name=row.name,
            storage_key=row.storage_key,
            start_offset_ms=row.start_offset_ms,
            duration_ms=row.duration_ms,
            bytes=row.bytes,
            packets=dict(row.packets),
            codec=dict(row.codec),
        )


@dataclass(frozen=True)
class ParticipantRecord:
    id: str
    space_id: str
    name: str
    role: Role
    device_id: str | None
    joined_at: datetime
    removed_at: datetime | None

    @classmethod
    def of(cls, row: Participant) -> ParticipantRecord:
        return cls(
            id=row.id,
            space_id=row.space_id,
            name=row.name,
            role=Role(row.role),
            device_id=row.device_id,
            joined_at=row.joined_at,
            removed_at=row.removed_at,
        )


class Catalog(ProcessingCatalog):
    """Access to the catalog database at ``url`` (processing methods: `ProcessingCatalog`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to the newest Alembic revision."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["engine"] = self.engine
        try:
            command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise CatalogError(f"could not migrate the catalog at {self.safe_url}: {exc}") from exc

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise CatalogError(str(exc)) from exc

    # Spaces

    def create_space(
        self,
        *,
        title: str,
        host_name: str,
        scheduled_for: datetime | None,
        host_device: str | None,
        record: bool = True,
    ) -> tuple[SpaceRecord, ParticipantRecord]:
        """Create a space with its host; live at once unless scheduled."""
        now = utcnow()
        space = Space(
            id=new_id(),
            title=title,
            host_id=new_id(),
            state=SpaceState.SCHEDULED if scheduled_for else SpaceState.LIVE,
            created_at=now,
            scheduled_for=scheduled_for,
            started_at=None if scheduled_for else now,
            record=record,
        )
        host = Participant(
            id=space.host_id,
            space_id=space.id,
            name=host_name,
            role=Role.HOST,
            device_id=host_device,
            joined_at=now,
        )
        with self._session() as session:
            session.add(space)
            session.flush()
            session.add(host)
            return SpaceRecord.of(space), ParticipantRecord.of(host)

    def get_space(self, space_id: str) -> SpaceRecord:
        with self._session() as session:
            row = session.get(Space, space_id)
            if row is None:
                raise NotFound(f"no space {space_id!r}")
            return SpaceRecord.of(row)

    def list_spaces(
        self, *, states: Sequence[SpaceState] | None = None, limit: int = 50
    ) -> list[SpaceRecord]:
        query = select(Space).order_by(Space.created_at.desc()).limit(limit)
        if states:
            query = query.where(Space.state.in_(list(states)))
        with self._session() as session:
            return [SpaceRecord.of(row) for row in session.scalars(query)]

    def start_space(self, space_id: str) -> SpaceRecord:
        return self._set_state(space_id, SpaceState.LIVE, started_at=utcnow())

    def end_space(self, space_id: str) -> SpaceRecord:
        return self._set_state(space_id, SpaceState.ENDED, ended_at=utcnow())

    def end_space_at(self, space_id: str, ended_at: datetime) -> SpaceRecord:
        """End a space at a given time (recovery after a crash uses the last write)."""
        return self._set_state(space_id, SpaceState.ENDED, ended_at=ended_at)

    def record_tracks(
        self, space_id: str, tracks: Sequence[TrackRecord], manifest_key: str
    ) -> SpaceRecord:
        """Replace the space's tracks and mark it recorded, in one transaction."""
        with self._session() as session:
            row = session.get(Space, space_id)
            if row is None:
                raise NotFound(f"no space {space_id!r}")
            session.execute(delete(Track).where(Track.space_id == space_id))
            session.add_all(
                Track(
                    space_id=space_id,
                    participant_id=t.participant_id,
                    name=t.name,
                    storage_key=t.storage_key,
                    start_offset_ms=t.start_offset_ms,
                    duration_ms=t.duration_ms,
                    bytes=t.bytes,
                    packets=t.packets,
                    codec=t.codec,
                )
                for t in tracks
            )
            row.state = SpaceState.RECORDED
            row.manifest_key = manifest_key
            return SpaceRecord.of(row)

    def set_transcript_public(self, space_id: str, public: bool) -> SpaceRecord:
        """The host's choice of who may download the space's transcript: anyone, or the host."""
        with self._session() as session:
            row = session.get(Space, space_id)
            if row is None:
                raise NotFound(f"no space {space_id!r}")
            row.transcript_public = public
            return SpaceRecord.of(row)

    def tracks(self, space_id: str) -> list[TrackRecord]:
        query = select(Track).where(Track.space_id == space_id).order_by(Track.start_offset_ms)
        with self._session() as session:
            return [TrackRecord.of(row) for row in session.scalars(query)]

    def _set_state(self, space_id: str, state: SpaceState, **stamps: datetime) -> SpaceRecord:
        with self._session() as session:
            row = session.get(Space, space_id)
            if row is None:
                raise NotFound(f"no space {space_id!r}")
            row.state = state
            for name, value in stamps.items():
                setattr(row, name, value)
            return SpaceRecord.of(row)

    # Participants

    def add_participant(
        self, *, space_id: str, name: str, role: Role, device_id: str | None
    ) -> ParticipantRecord:
        row = Participant(id=new_id(), space_id=space_id, name=name, role=role, device_id=device_id)
        with self._session() as session:
            session.add(row)
            session.flush()
            return ParticipantRecord.of(row)

    def get_participant(self, participant_id: str) -> ParticipantRecord:
        with self._session() as session:
            row = session.get(Participant, participant_id)
            if row is None:
                raise NotFound(f"no participant {participant_id!r}")
            return ParticipantRecord.of(row)

    def participants(self, space_id: str) -> list[ParticipantRecord]:
        query = (
            select(Participant)
            .where(Participant.space_id == space_id)
            .order_by(Participant.joined_at)
        )
        with self._session() as session:
            return [ParticipantRecord.of(row) for row in session.scalars(query)]

    def set_role(self, participant_id: str, role: Role) -> None:
        self._update_participant(participant_id, role=role)

    def remove_participant(self, participant_id: str) -> None:
        self._update_participant(participant_id, removed_at=utcnow())

    def _update_participant(self, participant_id: str, **values: object) -> None:
        with self._session() as session:
            row = session.get(Participant, participant_id)
            if row is None:
                raise NotFound(f"no participant {participant_id!r}")
            for name, value in values.items():
                setattr(row, name, value)

    def is_banned(self, space_id: str, device_id: str) -> bool:
        """Whether a browser was removed from this space."""
        query = select(Participant.id).where(
            Participant.space_id == space_id,
            Participant.device_id == device_id,
            Participant.removed_at.is_not(None),
        )
        with self._session() as session:
            return session.scalars(query.limit(1)).first() is not None


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Reads straight from the OS's page cache instead of copying pages into each connection's
    # own: search's index lookups run about a third faster on a large catalog.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()
