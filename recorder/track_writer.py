"""One speaker's track: their Opus packets, as sent, in an Ogg Opus file on the space clock.

Packets wait in a short reorder buffer, then go to the file in timeline order. Whatever the
timeline has no packet for (silence suppression, mute, time off stage, loss) is filled with
pre-encoded Opus silence, so that sample n of the decoded file plays at space time
``start + n / 48000``. Ogg pages are cut at least every second and written straight through,
so a crash loses at most the last second; a sidecar JSON beside the file keeps what the
manifest needs to finalize it after a crash. The sidecar is rewritten in place, one write of
under a page that never shrinks: a crash leaves the old text or the new one, and unlike a
rename over it (or a truncation) that costs no flush on ext4 (``auto_da_alloc``), which made
sidecar updates most of the recorder's CPU time (benchmarks/recorder.py).

A `TrackWriter` is used from the recorder's thread only.
"""

from __future__ import annotations

import heapq
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recorder.errors import TrackError
from recorder.ogg import OggOpusWriter
from recorder.opus import SAMPLE_RATE, SILENCE_STEP, packet_samples, silence
from recorder.timeline import StreamClock

# How long a track's first packet waits before anything is written (see `advance`).
SETTLE = SAMPLE_RATE * 8 // 10
# How many sequence numbers to remember per stream for spotting duplicates (at least; the
# set is pruned when it holds twice as many, so pruning costs O(1) a packet).
_SEEN_WINDOW = 2048
# The sidecar is padded to a multiple of this, and kept within one page (see above).
_SIDECAR_BLOCK = 512
_SIDECAR_MAX = 4096


@dataclass
class TrackStats:
    """Packet accounting for one track (all its streams together)."""

    packets_received: int = 0
    packets_lost: int = 0
    packets_sent: int | None = None
    packets_duplicate: int = 0
    packets_late: int = 0
    packets_muted: int = 0
    packets_invalid: int = 0
    filled_ms: float = 0.0
    drift_corrections: int = 0
    bytes: int = 0


@dataclass
class _Stream:
    clock: StreamClock
    first_seq: int | None = None
    max_seq: int | None = None
    unique: int = 0
    seen: set[int] = field(default_factory=set)
    sent: int | None = None


@dataclass(frozen=True)
class TrackInfo:
    """A finished (or recovered) track, as the manifest lists it."""

    participant_id: str
    name: str
    path: str
    start_offset_ms: float
    duration_ms: float
    stats: dict[str, Any]
    codec: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


CODEC = {"name": "opus", "sample_rate": SAMPLE_RATE, "channels": 1, "pre_skip": 0}


class TrackWriter:
    def __init__(self, path: Path, participant_id: str, name: str) -> None:
        self.path = path
        self.participant_id = participant_id
        self.name = name
        self.stats = TrackStats()
        self.start: int | None = None
        self.written: int | None = None
        self._streams: dict[int, _Stream] = {}
        self._sender_offset: float | None = None
        # (position, arrival order, samples, payload or None for muted, ssrc, timestamp)
        self._buffer: list[tuple[int, int, int, bytes | None, int, int]] = []
        self._order = 0
        self._file: OggOpusWriter | None = None
        self._sidecar_size = 0
        self._closed = False

    # Input

    def add_packet(
        self, ssrc: int, seq: int, timestamp: int, arrival: int, payload: bytes, muted: bool
    ) -> None:
        """A packet that arrived at space sample ``arrival``."""
        stream = self._streams.get(ssrc)
        if stream is None:
            stream = _Stream(StreamClock(timestamp, arrival))
            self._streams[ssrc] = stream
        ext_seq = stream.clock.sequence.extend(seq)
        if ext_seq in stream.seen:
            self.stats.packets_duplicate += 1
            return
        stream.seen.add(ext_seq)
        if len(stream.seen) > 2 * _SEEN_WINDOW:
            floor = ext_seq - _SEEN_WINDOW
            stream.seen = {s for s in stream.seen if s > floor}
        stream.unique += 1
        stream.first_seq = ext_seq if stream.first_seq is None else min(stream.first_seq, ext_seq)
        stream.max_seq = ext_seq if stream.max_seq is None else max(stream.max_seq, ext_seq)
        self.stats.packets_received += 1
        samples = packet_samples(payload)
        if samples == 0:
            self.stats.packets_invalid += 1
            return
        if self.written is None and stream.clock.settle(timestamp, arrival):
            self._reposition(ssrc, stream.clock)
        position = stream.clock.position(timestamp)
        if self.written is not None and position < self.written:
            self.stats.packets_late += 1
            return
        if muted:
            self.stats.packets_muted += 1
        self._order += 1
        heapq.heappush(
            self._buffer,
            (position, self._order, samples, None if muted else payload, ssrc, timestamp),
        )

    def _reposition(self, ssrc: int, clock: StreamClock) -> None:
        """Place a stream's waiting packets again after its anchor moved."""
        self._buffer = [
            (clock.position(e[5]) if e[4] == ssrc else e[0], *e[1:]) for e in self._buffer
        ]
        heapq.heapify(self._buffer)

    def add_sender_report(
        self, ssrc: int, sender_time: float, timestamp: int, packet_count: int, arrival: int
    ) -> None:
        """An RTCP sender report: ``sender_time`` in the sender's Unix seconds."""
        stream = self._streams.get(ssrc)
        arrival_s = arrival / SAMPLE_RATE
        offset = arrival_s - sender_time
        if self._sender_offset is None or offset < self._sender_offset:
            # The sender's clock against the space clock, with the least one-way delay seen,
            # as for the arrivals that anchor a stream.
            self._sender_offset = offset
        if stream is None:
            return
        stream.sent = packet_count
        true_position = round((sender_time + self._sender_offset) * SAMPLE_RATE)
        if stream.clock.correct(timestamp, true_position):
            self.stats.drift_corrections += 1

    # Output

    def advance(self, horizon: int, *, final: bool = False) -> None:
        """Write every buffered packet that starts before ``horizon``; fill up to it.

        A track's first packets wait a little longer (`SETTLE`): a stream is anchored at its
        earliest arrival, and a busy start (connections being set up) can hold the first
        packets back. Only the track's first second waits, and a crash in that second loses
        no more than the second before it.
        """
        if self._closed:
            return
        if self.written is None and not final:
            if not self._buffer or self._buffer[0][0] >= horizon - SETTLE:
                self._update_lost()
                return
        while self._buffer and self._buffer[0][0] < horizon:
            position, _, samples, payload, _ssrc, _ts = heapq.heappop(self._buffer)
            self._place(position, samples, payload)
        if self.written is not None and horizon - self.written >= SILENCE_STEP:
            self._fill(horizon - self.written)
        self._update_lost()

    def _place(self, position: int, samples: int, payload: bytes | None) -> None:
        if self.written is None:
            self._open(position)
        assert self.written is not None
        gap = position - self.written
        if gap <= -SILENCE_STEP:
            # Its slot is already written (a drift correction moved the stream back).
            self.stats.packets_late += 1
            return
        if gap >= SILENCE_STEP:
            self._fill(gap)
        if payload is None:
            self._fill(samples)
        else:
            self._mux(payload, samples)
            self.stats.bytes += len(payload)

    def _fill(self, samples: int) -> None:
        for packet, size in silence(samples):
            self._mux(packet, size)
        self.stats.filled_ms += (samples - samples % SILENCE_STEP) * 1000 / SAMPLE_RATE

    def _mux(self, data: bytes, samples: int) -> None:
        assert self.written is not None and self._file is not None
        self._file.write(data, samples)
        self.written += samples

    def _open(self, position: int) -> None:
        self.start = self.written = position
        self._file = OggOpusWriter(self.path)
        self.write_sidecar()

    def _update_lost(self) -> None:
        lost = 0
        sent = None
        for stream in self._streams.values():
            if stream.first_seq is not None and stream.max_seq is not None:
                lost += stream.max_seq - stream.first_seq + 1 - stream.unique
            if stream.sent is not None:
                sent = (sent or 0) + stream.sent
        self.stats.packets_lost = lost
        self.stats.packets_sent = sent

    def close(self, end: int | None = None) -> TrackInfo | None:
        """Write what is left (up to ``end``), close the file; None if nothing was recorded."""
        if self._closed:
            return self.info()
        self.advance(end if end is not None else 1 << 62, final=True)
        self._closed = True
        if self._file is not None:
            self._file.close()
        self.write_sidecar()
        return self.info()

    def info(self) -> TrackInfo | None:
        if self.start is None or self.written is None:
            return None
        return TrackInfo(
            participant_id=self.participant_id,
            name=self.name,
            path=str(self.path),
            start_offset_ms=self.start * 1000 / SAMPLE_RATE,
            duration_ms=(self.written - self.start) * 1000 / SAMPLE_RATE,
            stats=asdict(self.stats),
            codec=dict(CODEC),
        )

    def write_sidecar(self) -> None:
        """What recovery needs if the process dies: who, where on the clock, the counts."""
        if self.start is None:
            return
        data = json.dumps(
            {
                "participant_id": self.participant_id,
                "name": self.name,
                "start": self.start,
                "stats": vars(self.stats),
            }
        ).encode()
        if len(data) > _SIDECAR_MAX:
            raise TrackError(f"the sidecar of {self.path} outgrew a page")
        # JSON allows the trailing spaces that pad it to a size that only grows.
        padded = -(-len(data) // _SIDECAR_BLOCK) * _SIDECAR_BLOCK
        self._sidecar_size = max(self._sidecar_size, padded)
        fd = os.open(self.path.with_suffix(".json"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data.ljust(self._sidecar_size), 0)
        finally:
            os.close(fd)
