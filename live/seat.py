"""A stage seat's outgoing stream: one continuous RTP stream whatever speaker sits on it.

Speakers come and go, each with its own SSRC, sequence numbers and timestamps. A seat rewrites
them onto its own SSRC so that a listener's jitter buffer sees one stream: the first packet
of a new speaker follows the last packet sent on the seat by one sequence number, and its
timestamp is advanced by the wall-clock time that passed (RFC 3550 §5.1, "the timestamp
must increase monotonically"). Within one speaker, gaps and reordering are preserved as
offsets, so listeners still see losses as losses.

A seat serializes each packet once and hands the same bytes to every sink. While it carries
audio it also sends the RTCP sender reports of its stream (RFC 3550 §6.4.1), once for all
its listeners, to the sinks whose sender leaves them to the seat (`rtp_hooks.carry_seat`).
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping

from aiortc import clock
from aiortc.rtp import RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket, RtpPacket

from live.rtp_hooks import RtpSink, Send

OPUS_CLOCK = 48_000
_HEADER = struct.Struct("!BBHII")
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
# RFC 3550 §6.2: at least 5 s between reports, varied by a factor in [0.5, 1.5] (§6.3.1).
REPORT_INTERVAL = 5.0
_SDES_CNAME = 1


class SinkTable(MutableMapping[object, RtpSink]):
    """A seat's sinks by connection, and how to send to them, recomputed when they change."""

    __slots__ = ("_plan", "_sinks")

    def __init__(self) -> None:
        self._sinks: dict[object, RtpSink] = {}
        self._plan: _Plan | None = None

    def plan(self) -> _Plan:
        plan = self._plan
        if plan is None:
            plan = self._plan = _Plan(self._sinks.values())
        return plan

    def __getitem__(self, key: object) -> RtpSink:
        return self._sinks[key]

    def __setitem__(self, key: object, value: RtpSink) -> None:
        self._sinks[key] = value
        self._plan = None

    def __delitem__(self, key: object) -> None:
        del self._sinks[key]
        self._plan = None

    def __iter__(self) -> Iterator[object]:
        return iter(self._sinks)

    def __len__(self) -> int:
        return len(self._sinks)


class _Plan:
    """The sinks grouped by payload type, as send functions: the loop over listeners is tight."""

    __slots__ = ("groups", "reports")

    def __init__(self, sinks: Iterable[RtpSink]) -> None:
        by_type: dict[int, list[RtpSink]] = {}
        for sink in sinks:
            by_type.setdefault(sink.payload_type, []).append(sink)
        self.groups = [
            (pt, tuple(group), tuple(s.send for s in group)) for pt, group in by_type.items()
        ]
        self.reports = [s for group in by_type.values() for s in group if s.reports]


class SeatStream:
    """One seat's rewritten stream and the sinks that receive it."""

    def __init__(self, index: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.index = index
        self.ssrc = random.getrandbits(32)
        self.source: str | None = None
        self.sinks = SinkTable()
        self._clock = clock
        # Chosen in the lower half so a fresh receiver's SRTP sees no early wrap-around.
        self._next_seq = random.getrandbits(15)
        self._last_ts = random.getrandbits(32)
        self._last_sent_at: float | None = None
        self._seq_offset: int | None = None
        self._ts_offset = 0
        self._source_ssrc: int | None = None
        self._max_src_seq = 0
        self._marker_pending = False
        self._report_due = 0.0
        self._cname = f"stoa-seat-{self.ssrc:08x}".encode()
        self.packets_sent = 0
        self.octets_sent = 0

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
        sinks = self.sinks
        if not sinks:
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
        now = self._clock()
        if ((seq - self._next_seq) % _SEQ_MOD) < 0x8000:
            self._next_seq = (seq + 1) % _SEQ_MOD
            self._last_ts = ts
            self._last_sent_at = now
        payload = packet.payload
        skipped = sinks.get(skip) if skip is not None else None
        plan = sinks.plan()
        for pt, group, sends in plan.groups:
            data = _HEADER.pack(0x80, (marker << 7) | pt, seq, ts, self.ssrc) + payload
            if skipped is None:
                for send in sends:
                    send(data)
            else:
                for sink, send in zip(group, sends, strict=True):
                    if sink is not skipped:
                        send(data)
        self.packets_sent += 1
        self.octets_sent += len(payload)
        if now >= self._report_due and plan.reports:
            self._report(now, [s.send_rtcp for s in plan.reports if s is not skipped])

    def _report(self, now: float, sends: list[Send]) -> None:
        """Send the stream's sender report (and its CNAME), serialized once for every sink."""
        self._report_due = now + REPORT_INTERVAL * (0.5 + random.random())
        report = RtcpSrPacket(
            ssrc=self.ssrc,
            sender_info=RtcpSenderInfo(
                ntp_timestamp=clock.current_ntp_time(),
                # The newest packet sent is the one just sent, or one sent 20 ms ago.
                rtp_timestamp=self._last_ts,
                packet_count=self.packets_sent % _TS_MOD,
                octet_count=self.octets_sent % _TS_MOD,
            ),
        )
        cname = RtcpSdesPacket(
            chunks=[RtcpSourceInfo(ssrc=self.ssrc, items=[(_SDES_CNAME, self._cname)])]
        )
        data = bytes(report) + bytes(cname)
        for send in sends:
            send(data)

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
