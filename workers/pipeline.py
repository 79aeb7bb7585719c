"""The pipeline as the rest of Stoa sees it: process a recorded space, again, or what was left.

`Pipeline.start` plans a run over the space's tracks in the catalog and sends its first parts;
the actors carry it from there. `Pipeline.recover` is for start-up. `Pipeline.on_recorded` is
the recorder's hand-off (`LiveService`'s ``on_recorded``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from stoa.catalog import Catalog, ProcessingRecord, ProcessingState, SpaceState
from stoa.errors import NotFound, StoaError
from workers.actors import Actors
from workers.broker import is_in_process
from workers.errors import NotProcessable
from workers.plan import Stage, plan

logger = logging.getLogger(__name__)

PROCESSABLE = frozenset({SpaceState.RECORDED, SpaceState.REPLAYABLE})


@dataclass(frozen=True)
class Recovery:
    """What start-up sent again."""

    parts: int
    spaces_started: list[str]


class Pipeline:
    def __init__(self, catalog: Catalog, actors: Actors) -> None:
        self.catalog = catalog
        self.actors = actors

    def start(self, space_id: str, *, model: str | None = None) -> ProcessingRecord:
        """Begin a new run of a recorded (or already replayable) space.

        A replayable space stays replayable with its current outputs until the new run is
        published, which replaces them in one transaction (`stoa reprocess`).
        """
        try:
            space = self.catalog.get_space(space_id)
        except NotFound as exc:
            raise NotProcessable(f"there is no space {space_id!r}") from exc
        if space.state not in PROCESSABLE:
            raise NotProcessable(
                f"space {space_id} is {space.state}; only recorded spaces can be processed"
            )
        tracks = self.catalog.tracks(space_id)
        piece_seconds = self.actors.context.config.piece_seconds
        parts = plan(tracks, piece_seconds) if tracks else []
        record, released = self.catalog.start_processing(space_id, parts, model=model)
        if not tracks:
            self.catalog.fail_processing(
                space_id,
                record.run,
                Stage.PREPARE,
                "nothing was recorded: no one spoke on stage while the space was recorded",
            )
        self.actors.send(released)
        return self.catalog.processing(space_id) or record

    def on_recorded(self, space_id: str) -> None:
        """Start processing a space the recorder has just archived.

        Called from the live service's background task: a failure here (the broker down) is
        logged, and the space, still `recorded` without a run, is started by the next
        start-up's `recover`.
        """
        try:
            self.start(space_id)
        except StoaError:
            logger.exception("could not start processing space %s; start-up will", space_id)

    def recover(self) -> Recovery:
        """Send again the work a stop left unfinished, and start spaces never started."""
        parts = self.catalog.requeue_unfinished(in_flight_lost=is_in_process(self.actors.broker))
        self.actors.send(parts)
        started = []
        for space_id in self.catalog.unprocessed_spaces():
            self.start(space_id)
            started.append(space_id)
        if parts or started:
            logger.warning(
                "sent %d unfinished part(s) again; started %d space(s)", len(parts), len(started)
            )
        return Recovery(parts=len(parts), spaces_started=started)

    def wait(
        self, space_id: str, run: int, *, timeout: float | None = None, poll: float = 0.2
    ) -> ProcessingRecord:
        """Wait until the run is done or failed (or superseded); its last state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            record = self.catalog.processing(space_id)
            if record is None:
                raise NotProcessable(f"space {space_id} has no processing")
            if record.run != run or record.state is not ProcessingState.RUNNING:
                return record
            if deadline is not None and time.monotonic() > deadline:
                return record
            time.sleep(poll)
