"""The recording of one space: a track per speaker, all on the space's clock.

Used from the recorder's thread only (see `recorder.tap`), or directly by tests that drive
the clock themselves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from recorder.opus import SAMPLE_RATE
from recorder.track_writer import TrackInfo, TrackWriter

logger = logging.getLogger(__name__)

# How long a packet may wait for late, reordered ones before it is written.
REORDER_WINDOW = 0.2


class SpaceRecording:
    def __init__(self, space_id: str, origin: datetime, folder: Path) -> None:
        self.space_id = space_id
        self.origin = origin.timestamp()
        self.folder = folder
        self.tracks: dict[str, TrackWriter] = {}
        self.failed: str | None = None

    def samples(self, unix_time: float) -> int:
        """A wall-clock time as a position on the space clock."""
        return round((unix_time - self.origin) * SAMPLE_RATE)

    def track(self, participant_id: str, name: str) -> TrackWriter:
        track = self.tracks.get(participant_id)
        if track is None:
            # Participant ids are server-made and URL-safe: fit for a file name.
            track = TrackWriter(self.folder / f"{participant_id}.ogg", participant_id, name)
            self.tracks[participant_id] = track
        return track

    def packet(
        self,
        participant_id: str,
        name: str,
        ssrc: int,
        seq: int,
        timestamp: int,
        arrival: float,
        payload: bytes,
        muted: bool,
    ) -> None:
        if self.failed:
            return
        try:
            self.track(participant_id, name).add_packet(
                ssrc, seq, timestamp, self.samples(arrival), payload, muted
            )
        except Exception as exc:
            self._fail(exc)

    def sender_report(
        self,
        participant_id: str,
        ssrc: int,
        sender_time: float,
        timestamp: int,
        packet_count: int,
        arrival: float,
    ) -> None:
        track = self.tracks.get(participant_id)
        if track is not None and not self.failed:
            track.add_sender_report(
                ssrc, sender_time, timestamp, packet_count, self.samples(arrival)
            )

    def advance(self, now: float) -> None:
        """Write what the reorder window lets go of, and fill silence up to it."""
        if self.failed:
            return
        horizon = self.samples(now - REORDER_WINDOW)
        try:
            for track in self.tracks.values():
                track.advance(horizon)
                track.write_sidecar()
        except Exception as exc:  # whatever it is, it stays in this space
            self._fail(exc)

    def finish(self, end: float) -> list[TrackInfo]:
        """Close every track at space time ``end``; the tracks that hold audio."""
        infos = []
        end_position = self.samples(end)
        for track in self.tracks.values():
            try:
                info = track.close(end_position)
            except Exception as exc:  # the other tracks are still worth keeping
                self._fail(exc)
                continue
            if info is not None:
                infos.append(info)
        return infos

    def _fail(self, exc: Exception) -> None:
        # One broken recording never takes the relay or another space down with it.
        logger.error("recording of space %s failed: %s", self.space_id, exc, exc_info=exc)
        self.failed = str(exc)
