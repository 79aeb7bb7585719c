"""What recognition found on each track, and the merged timeline: the catalog's segments.

``track_segments`` hold each track's segments per run (inputs of the captions), by the piece of
the track that a transcription part recognized; a piece's replacement happens in the
transaction that completes its part (`ProcessingCatalog.complete_part`), so a part done twice
leaves one set, and never touches the other pieces'. ``caption_segments``
hold the merged timeline per run; the published run's are the space's search index rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from stoa.catalog.models import CaptionSegment, Processing, TrackSegment

# A recognized word: (start, end, text, probability).
WordTuple = tuple[float, float, str, float]


@dataclass(frozen=True)
class TrackSegmentRecord:
    """A recognized segment, in seconds from the start of its track."""

    start: float
    end: float
    text: str
    words: tuple[WordTuple, ...] = ()


@dataclass(frozen=True)
class CaptionRecord:
    """A segment of the merged timeline, in seconds on the space clock."""

    speaker_id: str
    speaker: str
    start: float
    end: float
    text: str


class SegmentsCatalog:
    """Segment methods of `stoa.catalog.Catalog` (a mixin over its sessions)."""

    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def track_segments(self, space_id: str, run: int) -> dict[str, list[TrackSegmentRecord]]:
        """Each track's recognized segments in a run, by participant id, in time order."""
        query = (
            select(TrackSegment)
            .where(TrackSegment.space_id == space_id, TrackSegment.run == run)
            .order_by(TrackSegment.participant_id, TrackSegment.piece, TrackSegment.position)
        )
        found: dict[str, list[TrackSegmentRecord]] = {}
        with self._session() as session:
            for seg in session.scalars(query):
                found.setdefault(seg.participant_id, []).append(
                    TrackSegmentRecord(
                        start=seg.start,
                        end=seg.end,
                        text=seg.text,
                        words=tuple(
                            (float(w[0]), float(w[1]), str(w[2]), float(w[3])) for w in seg.words
                        ),
                    )
                )
        return found

    def caption_segments(self, space_id: str, run: int | None = None) -> list[CaptionRecord]:
        """The merged timeline of a run; by default the published one (the search index)."""
        with self._session() as session:
            if run is None:
                row = session.get(Processing, space_id)
                if row is None or row.published_run is None:
                    return []
                run = row.published_run
            query = (
                select(CaptionSegment)
                .where(CaptionSegment.space_id == space_id, CaptionSegment.run == run)
                .order_by(CaptionSegment.position)
            )
            return [
                CaptionRecord(
                    speaker_id=c.speaker_id,
                    speaker=c.speaker,
                    start=c.start,
                    end=c.end,
                    text=c.text,
                )
                for c in session.scalars(query)
            ]


def replace_track_segments(
    session: Session,
    space_id: str,
    run: int,
    participant_id: str,
    segments: Sequence[TrackSegmentRecord],
    piece: int = 0,
) -> None:
    """One piece of a track's segments (the whole track's when it has one piece)."""
    session.execute(
        delete(TrackSegment).where(
            TrackSegment.space_id == space_id,
            TrackSegment.run == run,
            TrackSegment.participant_id == participant_id,
            TrackSegment.piece == piece,
        )
    )
    session.add_all(
        TrackSegment(
            space_id=space_id,
            run=run,
            participant_id=participant_id,
            piece=piece,
            position=i,
            start=s.start,
            end=s.end,
            text=s.text,
            words=[list(w) for w in s.words],
        )
        for i, s in enumerate(segments)
    )


def replace_captions(
    session: Session, space_id: str, run: int, captions: Sequence[CaptionRecord]
) -> None:
    session.execute(
        delete(CaptionSegment).where(CaptionSegment.space_id == space_id, CaptionSegment.run == run)
    )
    session.add_all(
        CaptionSegment(
            space_id=space_id,
            run=run,
            position=i,
            speaker_id=c.speaker_id,
            speaker=c.speaker,
            start=c.start,
            end=c.end,
            text=c.text,
        )
        for i, c in enumerate(captions)
    )
