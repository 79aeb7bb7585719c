"""The catalog's side of processing: each space's runs and their parts (segments: `segments.py`).

A run is a set of parts (``prepare/<participant>``, ``transcribe/<participant>[/<piece>]``,
``replay``, ``captions``, ...), each waiting for others by name; the workers decide what the
parts are, the catalog keeps their state. Completing a part and releasing the parts that waited
for it happen in one transaction under a per-space lock (the space's row), so when two workers
finish the last two tracks at the same moment, exactly one of them releases the next stage.

Every part is owned by one message id. A message delivered again (a worker killed before it
acknowledged) keeps its id and carries on; a part sent again at start-up gets a new id, and an
old message still in a queue finds itself superseded and stops. A part's results are written in
the transaction that marks it done, replacing any earlier ones, so no delivery leaves duplicates.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from stoa.catalog.models import (
    CaptionSegment,
    PartState,
    Processing,
    ProcessingPart,
    ProcessingState,
    Space,
    SpaceState,
    TrackSegment,
    utcnow,
)
from stoa.catalog.segments import (
    CaptionRecord,
    SegmentsCatalog,
    TrackSegmentRecord,
    replace_captions,
    replace_track_segments,
)
from stoa.errors import NotFound

DONE_STAGE = "done"


@dataclass(frozen=True)
class PartSpec:
    """A part of a run, as the workers plan it."""

    name: str
    stage: str
    position: int
    weight: float
    waits_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueuedPart:
    """A part released for work: send a message with this id for it."""

    space_id: str
    run: int
    name: str
    stage: str
    message_id: str


@dataclass(frozen=True)
class ProcessingRecord:
    space_id: str
    run: int
    state: ProcessingState
    stage: str
    progress: float
    error: str | None
    model: str | None
    published_run: int | None
    outputs: dict[str, str]
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Processing) -> ProcessingRecord:
        return cls(
            space_id=row.space_id,
            run=row.run,
            state=ProcessingState(row.state),
            stage=row.stage,
            progress=row.progress,
            error=row.error,
            model=row.model,
            published_run=row.published_run,
            outputs=dict(row.outputs or {}),
            started_at=row.started_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
        )


@dataclass(frozen=True)
class PartRecord:
    space_id: str
    run: int
    name: str
    stage: str
    state: PartState
    message_id: str | None
    attempts: int
    progress: float
    result: dict[str, Any]
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None

    @classmethod
    def of(cls, row: ProcessingPart) -> PartRecord:
        return cls(
            space_id=row.space_id,
            run=row.run,
            name=row.name,
            stage=row.stage,
            state=PartState(row.state),
            message_id=row.message_id,
            attempts=row.attempts,
            progress=row.progress,
            result=dict(row.result or {}),
            error=row.error,
            started_at=row.started_at,
            finished_at=row.finished_at,
            elapsed_s=row.elapsed_s,
        )


class Claim(enum.StrEnum):
    """What a message should do with its part (`ProcessingCatalog.begin_part`)."""

    PROCEED = "proceed"
    DONE = "done"  # already done: a delivery after the work was saved
    STALE = "stale"  # another run, a failed run, or a message that no longer owns the part


@dataclass(frozen=True)
class Completion:
    """A part marked done, and the parts that waited for it and are released now."""

    released: list[QueuedPart] = field(default_factory=list)
    applied: bool = True  # False: stale, or done before; nothing was written


@dataclass(frozen=True)
class Publication:
    """A run made the space's published one; ``previous_run``'s outputs can go."""

    previous_run: int | None
    applied: bool = True


class ProcessingCatalog(SegmentsCatalog):
    """Processing methods of `stoa.catalog.Catalog` (a mixin over its sessions)."""

    # Runs

    def start_processing(
        self, space_id: str, parts: Sequence[PartSpec], *, model: str | None = None
    ) -> tuple[ProcessingRecord, list[QueuedPart]]:
        """Begin a new run of the space with these parts; the parts free to start at once.

        Parts and segments of earlier runs go; the published run's outputs and captions stay
        until the new run is published.
        """
        now = utcnow()
        with self._session() as session:
            _lock_space(session, space_id)
            row = session.get(Processing, space_id)
            if row is None:
                row = Processing(
                    space_id=space_id, run=0, stage=DONE_STAGE, published_run=None, outputs={}
                )
                session.add(row)
            row.run += 1
            row.state = ProcessingState.RUNNING
            row.progress = 0.0
            row.error = None
            row.model = model
            row.started_at = now
            row.updated_at = now
            row.finished_at = None
            run = row.run
            session.execute(
                delete(ProcessingPart).where(
                    ProcessingPart.space_id == space_id, ProcessingPart.run < run
                )
            )
            session.execute(
                delete(TrackSegment).where(
                    TrackSegment.space_id == space_id, TrackSegment.run < run
                )
            )
            kept = row.published_run if row.published_run is not None else -1
            session.execute(
                delete(CaptionSegment).where(
                    CaptionSegment.space_id == space_id, CaptionSegment.run != kept
                )
            )
            released = []
            for spec in sorted(parts, key=_heaviest_first):
                message_id = None if spec.waits_for else _message_id()
                session.add(
                    ProcessingPart(
                        space_id=space_id,
                        run=run,
                        name=spec.name,
                        stage=spec.stage,
                        position=spec.position,
                        weight=spec.weight,
                        waits_for=list(spec.waits_for),
                        state=PartState.WAITING if spec.waits_for else PartState.QUEUED,
                        message_id=message_id,
                        attempts=0,
                        progress=0.0,
                        result={},
                    )
                )
                if message_id is not None:
                    released.append(QueuedPart(space_id, run, spec.name, spec.stage, message_id))
            session.flush()
            _refresh(session, row)
            return ProcessingRecord.of(row), released

    def processing(self, space_id: str) -> ProcessingRecord | None:
        with self._session() as session:
            row = session.get(Processing, space_id)
            return None if row is None else ProcessingRecord.of(row)

    def parts(self, space_id: str, run: int | None = None) -> list[PartRecord]:
        """The parts of a run (default: the current one), in pipeline order."""
        with self._session() as session:
            if run is None:
                row = session.get(Processing, space_id)
                if row is None:
                    return []
                run = row.run
            query = (
                select(ProcessingPart)
                .where(ProcessingPart.space_id == space_id, ProcessingPart.run == run)
                .order_by(ProcessingPart.position, ProcessingPart.name)
            )
            return [PartRecord.of(p) for p in session.scalars(query)]

    def part(self, space_id: str, run: int, name: str) -> PartRecord:
        with self._session() as session:
            return PartRecord.of(_part(session, space_id, run, name))

    def unprocessed_spaces(self) -> list[str]:
        """Recorded spaces that no run has started for (the recorder's hand-off was lost)."""
        query = (
            select(Space.id)
            .outerjoin(Processing, Processing.space_id == Space.id)
            .where(Space.state == SpaceState.RECORDED, Processing.space_id.is_(None))
            .order_by(Space.created_at)
        )
        with self._session() as session:
            return list(session.scalars(query))

    def requeue_unfinished(self, *, in_flight_lost: bool) -> list[QueuedPart]:
        """Give parts of running runs that may have lost their message a new message id.

        For start-up. With an in-process broker (``in_flight_lost``) every queued or running
        part lost its message with the process. A server broker keeps its messages and delivers
        a running one again when its worker dies, so only parts whose message never reached it
        (a crash between release and send) are sent again. An old message delivered later finds
        itself superseded and stops.
        """
        states = [PartState.QUEUED, PartState.RUNNING] if in_flight_lost else [PartState.QUEUED]
        released: list[QueuedPart] = []
        with self._session() as session:
            running = list(
                session.scalars(
                    select(Processing.space_id).where(Processing.state == ProcessingState.RUNNING)
                )
            )
        for space_id in running:
            with self._session() as session:
                _lock_space(session, space_id)
                row = session.get(Processing, space_id)
                if row is None or row.state is not ProcessingState.RUNNING:
                    continue
                query = select(ProcessingPart).where(
                    ProcessingPart.space_id == space_id,
                    ProcessingPart.run == row.run,
                    ProcessingPart.state.in_(states),
                )
                for part in session.scalars(query):
                    if not in_flight_lost and part.sent_at is not None:
                        continue
                    part.state = PartState.QUEUED
                    part.message_id = _message_id()
                    part.sent_at = None
                    released.append(
                        QueuedPart(space_id, part.run, part.name, part.stage, part.message_id)
                    )
        return released

    def unsent_parts(self, space_id: str, run: int) -> list[QueuedPart]:
        """Parts of a running run released but not (yet) taken by the broker."""
        with self._session() as session:
            row = session.get(Processing, space_id)
            if row is None or row.run != run or row.state is not ProcessingState.RUNNING:
                return []
            query = select(ProcessingPart).where(
                ProcessingPart.space_id == space_id,
                ProcessingPart.run == run,
                ProcessingPart.state == PartState.QUEUED,
                ProcessingPart.sent_at.is_(None),
            )
            return [
                QueuedPart(space_id, run, p.name, p.stage, p.message_id)
                for p in session.scalars(query)
                if p.message_id is not None
            ]

    def mark_sent(self, part: QueuedPart) -> None:
        """The broker took the part's message."""
        with self._session() as session:
            session.execute(
                update(ProcessingPart)
                .where(
                    ProcessingPart.space_id == part.space_id,
                    ProcessingPart.run == part.run,
                    ProcessingPart.name == part.name,
                    ProcessingPart.message_id == part.message_id,
                )
                .values(sent_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    # Parts

    def begin_part(self, space_id: str, run: int, name: str, message_id: str) -> Claim:
        """Mark the part running for this message; a `Claim` value says whether to go on."""
        with self._session() as session:
            row = session.get(Processing, space_id)
            if row is None or row.run != run or row.state is not ProcessingState.RUNNING:
                return Claim.STALE
            part = session.scalars(_part_query(space_id, run, name)).first()
            if part is None or part.state in (PartState.WAITING, PartState.FAILED):
                return Claim.STALE
            if part.state is PartState.DONE:
                return Claim.DONE
            if part.message_id != message_id:
                return Claim.STALE
            part.state = PartState.RUNNING
            part.attempts += 1
            part.started_at = utcnow()
            return Claim.PROCEED

    def report_progress(self, space_id: str, run: int, name: str, fraction: float) -> None:
        """How far a running part has come (0 to 1); shown in the run's progress."""
        with self._session() as session:
            row = session.get(Processing, space_id)
            if row is None or row.run != run or row.state is not ProcessingState.RUNNING:
                return
            part = session.scalars(_part_query(space_id, run, name)).first()
            if part is None or part.state is not PartState.RUNNING:
                return
            part.progress = min(max(fraction, 0.0), 1.0)
            _refresh(session, row)

    def complete_part(
        self,
        space_id: str,
        run: int,
        name: str,
        *,
        result: dict[str, Any] | None = None,
        elapsed_s: float | None = None,
        track_segments: tuple[str, Sequence[TrackSegmentRecord]] | None = None,
        piece: int = 0,
        captions: Sequence[CaptionRecord] | None = None,
    ) -> Completion:
        """Mark the part done with its results, and release the parts that waited for it.

        ``track_segments`` (a participant id and its segments, of the track's ``piece``) and
        ``captions`` replace what the run held before, in the same transaction.
        """
        with self._session() as session:
            _lock_space(session, space_id)
            row = session.get(Processing, space_id)
            if row is None or row.run != run or row.state is not ProcessingState.RUNNING:
                return Completion(applied=False)
            part = _part(session, space_id, run, name)
            if part.state is PartState.DONE:
                return Completion(applied=False)
            if track_segments is not None:
                replace_track_segments(session, space_id, run, *track_segments, piece=piece)
            if captions is not None:
                replace_captions(session, space_id, run, captions)
            _finish(part, result, elapsed_s)
            session.flush()
            released = _release(session, space_id, run)
            _refresh(session, row)
            return Completion(released=released)

    def publish(
        self,
        space_id: str,
        run: int,
        name: str,
        outputs: dict[str, str],
        *,
        elapsed_s: float | None = None,
    ) -> Publication:
        """Make the run's outputs the space's, mark it replayable, and drop older captions."""
        with self._session() as session:
            _lock_space(session, space_id)
            row = session.get(Processing, space_id)
            space = session.get(Space, space_id)
            if row is None or space is None or row.run != run:
                return Publication(previous_run=None, applied=False)
            part = _part(session, space_id, run, name)
            if row.state is not ProcessingState.RUNNING or part.state is PartState.DONE:
                return Publication(previous_run=None, applied=False)
            previous = row.published_run
            _finish(part, {"outputs": outputs}, elapsed_s)
            row.published_run = run
            row.outputs = dict(outputs)
            row.state = ProcessingState.DONE
            row.finished_at = utcnow()
            space.state = SpaceState.REPLAYABLE
            session.execute(
                delete(CaptionSegment).where(
                    CaptionSegment.space_id == space_id, CaptionSegment.run != run
                )
            )
            session.flush()
            _refresh(session, row)
            return Publication(previous_run=previous if previous != run else None)

    def fail_processing(self, space_id: str, run: int, name: str, reason: str) -> bool:
        """Stop the run at this part with a reason a person can read; False if stale."""
        with self._session() as session:
            _lock_space(session, space_id)
            row = session.get(Processing, space_id)
            if row is None or row.run != run or row.state is not ProcessingState.RUNNING:
                return False
            part = session.scalars(_part_query(space_id, run, name)).first()
            if part is not None:
                part.state = PartState.FAILED
                part.error = reason
            # A part's name starts with its stage ("transcribe/<participant>").
            row.stage = part.stage if part is not None else name.partition("/")[0]
            row.state = ProcessingState.FAILED
            row.error = reason
            row.updated_at = utcnow()
            return True


def _message_id() -> str:
    return str(uuid.uuid4())


def _lock_space(session: Session, space_id: str) -> None:
    """Serialize this space's run changes until the transaction ends.

    A no-op UPDATE of the space's row, as the transaction's first statement: a row lock on
    PostgreSQL, and on SQLite the database's write lock, taken before anything is read.
    """
    result = session.execute(
        update(Space)
        .where(Space.id == space_id)
        .values(state=Space.state)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) == 0:
        raise NotFound(f"no space {space_id!r}")


def _part_query(space_id: str, run: int, name: str) -> Select[ProcessingPart]:
    return select(ProcessingPart).where(
        ProcessingPart.space_id == space_id,
        ProcessingPart.run == run,
        ProcessingPart.name == name,
    )


def _part(session: Session, space_id: str, run: int, name: str) -> ProcessingPart:
    part = session.scalars(_part_query(space_id, run, name)).first()
    if part is None:
        raise NotFound(f"no part {name!r} in run {run} of space {space_id!r}")
    return part


def _finish(part: ProcessingPart, result: dict[str, Any] | None, elapsed_s: float | None) -> None:
    part.state = PartState.DONE
    part.progress = 1.0
    part.result = dict(result or {})
    part.error = None
    part.finished_at = utcnow()
    part.elapsed_s = elapsed_s


def _heaviest_first(part: PartSpec | ProcessingPart) -> tuple[float, int, str]:
    """The order parts released together are sent in: the most work first.

    Workers take messages in the order they were sent, so a long part released beside many
    short ones (the mix beside a track's pieces) starts early instead of running last and alone.
    """
    return (-part.weight, part.position, part.name)


def _release(session: Session, space_id: str, run: int) -> list[QueuedPart]:
    parts = list(
        session.scalars(
            select(ProcessingPart).where(
                ProcessingPart.space_id == space_id, ProcessingPart.run == run
            )
        )
    )
    done = {p.name for p in parts if p.state is PartState.DONE}
    released = []
    for part in sorted(parts, key=_heaviest_first):
        if part.state is PartState.WAITING and set(part.waits_for) <= done:
            part.state = PartState.QUEUED
            part.message_id = _message_id()
            released.append(QueuedPart(space_id, run, part.name, part.stage, part.message_id))
    return released


def _refresh(session: Session, row: Processing) -> None:
    """The run's stage (the earliest unfinished) and progress (weighted parts done)."""
    parts = list(
        session.scalars(
            select(ProcessingPart).where(
                ProcessingPart.space_id == row.space_id, ProcessingPart.run == row.run
            )
        )
    )
    total = sum(p.weight for p in parts)
    done = sum(p.weight * (1.0 if p.state is PartState.DONE else p.progress) for p in parts)
    row.progress = round(100.0 * done / total, 1) if total else 100.0
    unfinished = sorted(
        (p for p in parts if p.state is not PartState.DONE), key=lambda p: (p.position, p.name)
    )
    if row.state is not ProcessingState.FAILED:
        row.stage = unfinished[0].stage if unfinished else DONE_STAGE
    row.updated_at = utcnow()
