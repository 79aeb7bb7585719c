"""Placing a speaker's RTP packets on the space's common clock.

Positions are counted in 48 kHz samples since the space started. A stream (one SSRC) is
anchored where its first packet arrived; from there its RTP timestamps place each packet,
so gaps in the timestamps (DTX, lost packets) stay gaps. RTCP sender reports tie the RTP
clock to the sender's wall clock; when they show the stream drifting from where its
timestamps put it, the anchor moves (RFC 3550 §6.4.1).
"""

from __future__ import annotations

from recorder.opus import SAMPLE_RATE

# Correct drift once it reaches 10 ms: well inside the 20 ms two tracks may differ by.
DRIFT_LIMIT = SAMPLE_RATE // 100
REPORTS = 3
_NTP_UNIX_OFFSET = 2_208_988_800


def ntp_to_unix(ntp: int) -> float:
    """A 64-bit NTP timestamp as Unix seconds."""
    return (ntp >> 32) - _NTP_UNIX_OFFSET + (ntp & 0xFFFFFFFF) / 2**32


class Unwrapper:
    """Extends wrapping counters (RTP sequence numbers, timestamps) to unbounded ints."""

    __slots__ = ("_half", "_last", "_mod", "value")

    def __init__(self, bits: int) -> None:
        self._mod = 1 << bits
        self._half = self._mod >> 1
        self._last: int | None = None
        self.value = 0

    def extend(self, raw: int) -> int:
        """The extended value of ``raw``, which may be a little behind (reordered)."""
        if self._last is None:
            self._last = raw
            self.value = raw
            return raw
        delta = (raw - self._last) % self._mod
        if delta >= self._half:
            return self.value + delta - self._mod
        self._last = raw
        self.value += delta
        return self.value


class StreamClock:
    """One RTP stream (SSRC) of a speaker, mapped onto space samples."""

    def __init__(self, first_timestamp: int, anchor: int) -> None:
        self.timestamps = Unwrapper(32)
        self.sequence = Unwrapper(16)
        self._anchor_ts = self.timestamps.extend(first_timestamp)
        self._anchor = anchor
        self._drifts: list[int] = []
        self.corrections = 0

    def settle(self, timestamp: int, arrival: int) -> bool:
        """Move the anchor earlier if this packet arrived before its mapped position.

        The first packet may have waited (a busy loop, a congested start); the earliest
        arrival is the closest to when packets were sent. Used until the stream is first
        written, while moving the anchor is free.
        """
        early = self.position(timestamp) - arrival
        if early > 0:
            self._anchor -= early
            return True
        return False

    def position(self, timestamp: int) -> int:
        return self._anchor + self.timestamps.extend(timestamp) - self._anchor_ts

    def correct(self, timestamp: int, true_position: int) -> int:
        """Re-anchor if ``timestamp`` truly plays at ``true_position``; the shift applied.

        A sender report can itself come late (a busy sender stamps it when it finally sends),
        so a correction needs the last `REPORTS` reports to agree on its direction, and moves
        by the smallest drift among them.
        """
        self._drifts = (self._drifts + [true_position - self.position(timestamp)])[-REPORTS:]
        if len(self._drifts) < REPORTS:
            return 0
        drift = min(self._drifts, key=abs)
        if abs(drift) < DRIFT_LIMIT or any((d > 0) != (drift > 0) for d in self._drifts):
            return 0
        self._anchor += drift
        self.corrections += 1
        self._drifts = []
        return drift
