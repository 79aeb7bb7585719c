"""Tracks on the space clock, checked by decoding them with ffmpeg.

These drive the recorder with packets directly, pushing them faster than real time with
consistent RTP timestamps and sender reports, as the relay's tap would deliver them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recorder.opus import packet_samples
from recorder.space_recording import SpaceRecording
from tests.recorder.media import FRAME, RATE, decode, encode, onsets, quiet, tone

ORIGIN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T0 = ORIGIN.timestamp()


@dataclass
class Sender:
    """A speaker's RTP sender with its own random SSRC, sequence and timestamp origins."""

    ssrc: int
    seq: int
    ts: int
    rate: float = 1.0  # the sender's audio clock against true time (drift)

    def packets(self, payloads: list[bytes], start: float) -> list[tuple[int, int, float, bytes]]:
        """(seq, timestamp, true send time, payload) for consecutive 20 ms packets."""
        out = []
        for i, payload in enumerate(payloads):
            out.append(
                (
                    (self.seq + i) % 65536,
                    (self.ts + i * FRAME) % 2**32,
                    start + i * FRAME / RATE / self.rate,
                    payload,
                )
            )
        return out


def record(
    tmp_path: Path,
    streams: dict[str, list[tuple[int, int, int, float, bytes]]],
    end: float,
    *,
    reports: dict[str, list[tuple[int, float, int, int]]] | None = None,
) -> SpaceRecording:
    """Feed (ssrc, seq, ts, arrival, payload) per participant in arrival order; finish at end."""
    recording = SpaceRecording("space", ORIGIN, tmp_path / "rec")
    events: list[tuple[float, int, str, tuple[object, ...]]] = []
    for pid, packets in streams.items():
        for ssrc, seq, ts, arrival, payload in packets:
            events.append((arrival, 0, pid, (ssrc, seq, ts, payload)))
    for pid, srs in (reports or {}).items():
        for ssrc, sender_time, ts, count in srs:
            events.append((sender_time, 1, pid, (ssrc, sender_time, ts, count)))
    events.sort(key=lambda e: (e[0], e[1]))
    next_tick = T0
    for when, kind, pid, args in events:
        while next_tick < when:
            recording.advance(next_tick)
            next_tick += 0.25
        if kind == 0:
            ssrc, seq, ts, payload = args
            recording.packet(pid, pid.title(), ssrc, seq, ts, when, payload, False)  # type: ignore[arg-type]
        else:
            ssrc, sender_time, ts, count = args
            recording.sender_report(pid, ssrc, sender_time, ts, count, when)  # type: ignore[arg-type]
    recording.infos = recording.finish(end)  # type: ignore[attr-defined]
    return recording


def arrivals(sender: Sender, payloads: list[bytes], start: float, jitter: float = 0.0):  # type: ignore[no-untyped-def]
    rng = random.Random(sender.ssrc)
    return [
        (sender.ssrc, seq, ts, T0 + t + 0.004 + rng.uniform(0, jitter), p)
        for seq, ts, t, p in sender.packets(payloads, start)
    ]


def test_tone_lands_at_its_space_time_and_duration_matches(tmp_path: Path) -> None:
    signal = np.concatenate([quiet(1.0), tone(0.3), quiet(1.2), tone(0.3), quiet(0.2)])
    sender = Sender(ssrc=1111, seq=65500, ts=2**32 - 30_000)  # both counters wrap
    rec = record(tmp_path, {"ann": arrivals(sender, encode(signal), 2.0, 0.015)}, end=T0 + 8.0)
    (info,) = rec.infos  # type: ignore[attr-defined]
    audio = decode(Path(info.path))
    start = info.start_offset_ms / 1000
    assert start == pytest.approx(2.004, abs=0.02)
    # The track runs to the end of the space, silence filled.
    assert len(audio) / RATE == pytest.approx(info.duration_ms / 1000, abs=0.001)
    assert start + info.duration_ms / 1000 == pytest.approx(8.0 - 0.0, abs=0.04)
    found = [start + t for t in onsets(audio)]
    assert found == pytest.approx([3.0, 4.5], abs=0.04)
    assert info.stats["packets_lost"] == 0 and info.stats["packets_received"] == 150


def test_silence_suppression_gaps_are_filled_not_dropped(tmp_path: Path) -> None:
    burst = encode(np.concatenate([tone(0.2), quiet(0.2)]))
    sender = Sender(ssrc=7, seq=100, ts=5000)
    packets = arrivals(sender, burst, 1.0)
    # DTX: the sender stops for 3 s; its timestamps jump, its sequence numbers do not.
    later = Sender(ssrc=7, seq=100 + len(burst), ts=5000 + len(burst) * FRAME + 3 * RATE)
    packets += arrivals(later, burst, 1.0 + len(burst) * FRAME / RATE + 3.0)
    rec = record(tmp_path, {"dee": packets}, end=T0 + 6.0)
    (info,) = rec.infos  # type: ignore[attr-defined]
    audio = decode(Path(info.path))
    found = [info.start_offset_ms / 1000 + t for t in onsets(audio)]
    assert found == pytest.approx([1.0, 4.4], abs=0.04)
    assert info.stats["packets_lost"] == 0
    assert info.stats["filled_ms"] >= 3000


def test_loss_reordering_and_duplicates_are_reported_exactly(tmp_path: Path) -> None:
    signal = np.concatenate([quiet(0.5), tone(0.2), quiet(2.0), tone(0.2), quiet(0.5)])
    payloads = encode(signal)
    sender = Sender(ssrc=99, seq=1, ts=0)
    packets = arrivals(sender, payloads, 1.0)
    rng = random.Random(5)
    dropped = set(rng.sample(range(len(packets)), k=len(packets) // 20))
    kept = [p for i, p in enumerate(packets) if i not in dropped and i != len(packets) - 1]
    kept.append(packets[-1])  # keep the last so the loss is bounded by what was sent
    dropped.discard(len(packets) - 1)
    # Some arrive late by up to 60 ms (reordered), some twice.
    shuffled = [(s, q, t, a + (0.06 if rng.random() < 0.05 else 0.0), p) for s, q, t, a, p in kept]
    duplicates = [kept[i] for i in rng.sample(range(len(kept)), k=5)]
    rec = record(tmp_path, {"eve": shuffled + duplicates}, end=T0 + 5.0)
    (info,) = rec.infos  # type: ignore[attr-defined]
    assert info.stats["packets_lost"] == len(dropped)
    assert info.stats["packets_duplicate"] == 5
    assert info.stats["packets_received"] == len(kept)
    audio = decode(Path(info.path))
    found = [info.start_offset_ms / 1000 + t for t in onsets(audio)]
    assert found == pytest.approx([1.5, 3.7], abs=0.04)


def test_ssrc_change_mid_space_stays_on_the_clock(tmp_path: Path) -> None:
    first = encode(np.concatenate([tone(0.2), quiet(0.8)]))
    second = encode(np.concatenate([quiet(0.4), tone(0.2), quiet(0.4)]))
    a = Sender(ssrc=1, seq=40000, ts=123456)
    b = Sender(ssrc=2, seq=7, ts=999)  # a renegotiated sender: new SSRC and counters
    packets = arrivals(a, first, 1.0) + arrivals(b, second, 3.0)
    rec = record(tmp_path, {"fay": packets}, end=T0 + 5.0)
    (info,) = rec.infos  # type: ignore[attr-defined]
    audio = decode(Path(info.path))
    found = [info.start_offset_ms / 1000 + t for t in onsets(audio)]
    assert found == pytest.approx([1.0, 3.4], abs=0.04)
    assert info.stats["packets_lost"] == 0


def test_two_speakers_stay_aligned_over_ten_minutes_with_drift(tmp_path: Path) -> None:
    """10 minutes each, a tone every 30 s; one sender's audio clock runs 60 ppm fast."""
    minutes = 10
    block = np.concatenate([tone(0.2), quiet(29.8)])
    payloads = encode(np.tile(block, minutes * 2))
    fast = Sender(ssrc=10, seq=0, ts=0, rate=1.00006)
    steady = Sender(ssrc=20, seq=30000, ts=2**31)
    streams = {
        "gus": arrivals(fast, payloads, 1.0, 0.01),
        "hal": arrivals(steady, payloads, 1.0, 0.01),
    }

    def reports(sender: Sender, count: int) -> list[tuple[int, float, int, int]]:
        # One per second: the sender's wall clock against its RTP clock.
        out = []
        for i in range(0, count, 50):
            seq, ts, t, _ = sender.packets(payloads, 1.0)[i]
            out.append((sender.ssrc, T0 + t, ts, i + 1))
        return out

    rec = record(
        tmp_path,
        streams,
        end=T0 + 1.0 + minutes * 60 + 1.0,
        reports={"gus": reports(fast, len(payloads)), "hal": reports(steady, len(payloads))},
    )
    found = {}
    for info in rec.infos:  # type: ignore[attr-defined]
        audio = decode(Path(info.path))
        found[info.participant_id] = [info.start_offset_ms / 1000 + t for t in onsets(audio)]
        assert info.stats["packets_lost"] == 0
    assert len(found["gus"]) == len(found["hal"]) == minutes * 2
    # Each tone lands where its sender's wall clock says it was sent (the fast clock sent
    # its last tone 34 ms early), so any two tracks line up within 20 ms.
    truth = {
        "gus": [1.0 + 30 * i / fast.rate for i in range(minutes * 2)],
        "hal": [1.0 + 30 * i for i in range(minutes * 2)],
    }
    errors = {pid: np.array(found[pid]) - np.array(truth[pid]) for pid in found}
    assert np.abs(errors["gus"] - errors["hal"]).max() <= 0.020
    assert np.abs(errors["gus"]).max() <= 0.020 and np.abs(errors["hal"]).max() <= 0.020
    gus = next(i for i in rec.infos if i.participant_id == "gus")  # type: ignore[attr-defined]
    assert gus.stats["drift_corrections"] >= 3


def test_opus_durations_from_the_toc_byte() -> None:
    assert packet_samples(bytes([0xF8, 0xFF, 0xFE])) == 960
    assert packet_samples(bytes([0xE0, 0xFF, 0xFE])) == 120
    assert packet_samples(bytes([0x78 | 0x01, 0, 0])) == 1920  # SILK 20 ms, two frames
    assert packet_samples(bytes([0x03, 0x03])) == 480 * 3
    assert packet_samples(b"") == 0
    assert packet_samples(bytes([0x03, 0x3F])) == 0  # 63 x 10 ms: too long, invalid
