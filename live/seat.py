"""A stage seat's outgoing stream: one continuous RTP stream whatever speaker sits on it.

Speakers come and go, each with its own SSRC, sequence numbers and timestamps. A seat rewrites
them onto its own SSRC so that a listener's jitter buffer sees one stream: the first packet
of a new speaker follows the last packet sent on the seat by one sequence number, and its
timestamp is advanced by the wall-clock time that passed (RFC 3550 §5.1, "the timestamp
must increase monotonically"). Within one speaker, gaps and reordering are preserved as
offsets, so listeners still see losses as losses.

A seat serializes each packet once and hands the same bytes to every sink.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from aiortc.rtp import RtpPacket

from live.rtp_hooks import RtpSink

OPUS_CLOCK = 48_000
_HEADER = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


class SeatStream:
    """One seat's rewritten stream and the sinks that receive it."""

    def __init__(self, index: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.index = index
        self.ssrc = random.getrandbits(32)
        self.source: str | None = None
        self.sinks: dict[object, RtpSink] = {}
        self._clock = clock
        # Chosen in the lower half so a fresh receiver's SRTP sees no early wrap-around.
        self._next_seq = random.getrandbits(15)
        self._last_ts = random.getrandbits(32)
        self._last_sent_at: float | None = None
        self._seq_offset: int | None = None
        self._ts_offset = 0
        self._source_ssrc: int | None = None
        self._max_src_seq = 0
        self.packets_sent = 0

    def switch(self, source: str | None) -> bool:
        """Seat ``source`` (a participant id, or nobody); True if it changed."""
        if source == self.source:
            return False
        self.source = source
        self._seq_offset = None
        return True

    def forward(self, packet: RtpPacket, skip: object = None) -> None:
        """Rewrite one of the seated speaker's packets and send it to every sink but ``skip``.

        ``skip`` is the speaker's own connection: nobody hears their own voice.
        """
        if not self.sinks:
            self._rebase_later()
            return
        src_seq = packet.sequence_number
        if self._seq_offset is None or packet.ssrc != self._source_ssrc:
            self._rebase(packet)
        elif ((src_seq - self._max_src_seq) % _SEQ_MOD) < 0x8000:
            self._max_src_seq = src_seq
        elif ((self._max_src_seq - src_seq) % _SEQ_MOD) > 0x1000:
            # Far behind what we forwarded: a restarted sender; start over from here.
            self._rebase(packet)
        assert self._seq_offset is not None
        seq = (src_seq + self._seq_offset) % _SEQ_MOD
        ts = (packet.timestamp + self._ts_offset) % _TS_MOD
        marker = packet.marker or self._marker_pending
        self._marker_pending = False
        if ((seq - self._next_seq) % _SEQ_MOD) < 0x8000:
            self._next_seq = (seq + 1) % _SEQ_MOD
            self._last_ts = ts
            self._last_sent_at = self._clock()
        payload = packet.payload
        by_type: dict[int, bytes] = {}
        for key, sink in self.sinks.items():
            if key == skip:
                continue
            pt = sink.payload_type
            data = by_type.get(pt)
            if data is None:
                data = _HEADER.pack(0x80, (marker << 7) | pt, seq, ts, self.ssrc) + payload
                by_type[pt] = data
            sink.send(data)
        self.packets_sent += 1

    _marker_pending = False

    def _rebase_later(self) -> None:
        # Nobody listens; the next packet that has a listener starts a new talkspurt.
        self._seq_offset = None

    def _rebase(self, packet: RtpPacket) -> None:
        """Map a (new) source onto the seat's numbering, continuing where the seat left off."""
        self._source_ssrc = packet.ssrc
        self._max_src_seq = packet.sequence_number
        self._seq_offset = (self._next_seq - packet.sequence_number) % _SEQ_MOD
        elapsed = 0.0 if self._last_sent_at is None else self._clock() - self._last_sent_at
        # At least one 20 ms frame later, so timestamps never repeat.
        advance = max(960, int(elapsed * OPUS_CLOCK))
        self._ts_offset = (self._last_ts + advance - packet.timestamp) % _TS_MOD
        self._marker_pending = True
