"""Recorded spaces for pipeline tests: espeak-ng phrases at known times, through the real recorder.

Each speaker's phrases are encoded by libopus and handed to the recorder's `SpaceRecording` as
a browser would send them with silence suppression: packets while speaking, then a jump in RTP
time. The recorder fills the gaps, writes Ogg Opus tracks on the space clock, and `archive`
uploads them and marks the space recorded, exactly as at the end of a live space.

Importable by the benchmark (``benchmarks/pipeline.py``).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import av
import numpy as np

from recorder.archive import archive
from recorder.space_recording import SpaceRecording
from stoa.catalog import Catalog, Role, SpaceRecord
from stoa.storage import ObjectStore
from tests.recorder.media import FRAME, RATE, encode

PHRASES = (
    "Welcome to the space, everyone. Let us begin.",
    "The quick brown fox jumps over the lazy dog.",
    "Thank you for having me here today.",
    "Recording starts now, please speak clearly.",
    "That is a very good question, let me think.",
    "We will talk about replays and captions next.",
)
_LOUD_RMS = 0.01  # 10 ms frames louder than this are sound (as tests/transcribe/speech.py)
LATENCY = 0.004  # from the speaker's microphone to the relay, on loopback


@lru_cache(maxsize=64)
def speech(text: str, voice: str = "en") -> np.ndarray:
    """``text`` said by espeak-ng, as 48 kHz mono float32."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "phrase.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = []
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(parts).astype(np.float32)
    samples.setflags(write=False)
    return samples


@lru_cache(maxsize=64)
def packets(text: str, voice: str = "en") -> tuple[bytes, ...]:
    return tuple(encode(speech(text, voice)))


def sounding(samples: np.ndarray) -> tuple[float, float]:
    """First and last moment (s) where 10 ms frames are louder than 0.01 RMS."""
    frame = RATE // 100
    usable = len(samples) - len(samples) % frame
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > _LOUD_RMS)
    return loud[0] * frame / RATE, (loud[-1] + 1) * frame / RATE


@dataclass(frozen=True)
class Placed:
    """A phrase a speaker says at ``at`` seconds on the space clock."""

    speaker: str
    at: float
    text: str
    voice: str = "en"

    @property
    def sound(self) -> tuple[float, float]:
        """Where it is audible on the space clock (s)."""
        start, end = sounding(speech(self.text, self.voice))
        return self.at + LATENCY + start, self.at + LATENCY + end


@dataclass(frozen=True)
class RecordedSpace:
    space: SpaceRecord
    duration: float
    participants: dict[str, str]
    """Participant id by speaker name."""
    placed: tuple[Placed, ...]

    def stretches(self, participant_id: str) -> list[tuple[float, float]]:
        """Where that participant's speech was placed (s, space clock)."""
        name = {pid: n for n, pid in self.participants.items()}[participant_id]
        return [p.sound for p in self.placed if p.speaker == name]


def record_space(
    catalog: Catalog,
    store: ObjectStore,
    folder: Path,
    placed: Sequence[Placed],
    duration: float,
    *,
    title: str = "Pipeline test",
) -> RecordedSpace:
    """A space whose speakers said ``placed``, recorded, archived and `recorded` in the catalog.

    The first speaker is the host; speakers are named as in ``placed``.
    """
    names = list(dict.fromkeys(p.speaker for p in placed))
    space, host = catalog.create_space(
        title=title, host_name=names[0], scheduled_for=None, host_device=None
    )
    participants = {names[0]: host.id}
    for name in names[1:]:
        participants[name] = catalog.add_participant(
            space_id=space.id, name=name, role=Role.SPEAKER, device_id=None
        ).id
    assert space.started_at is not None
    origin = space.started_at.timestamp()
    recording = SpaceRecording(space.id, space.started_at, folder / space.id)
    events: list[tuple[float, str, int, int, bytes]] = []
    for n, name in enumerate(names):
        seq = 1000 * (n + 1)
        for phrase in sorted((p for p in placed if p.speaker == name), key=lambda p: p.at):
            start_ts = round(phrase.at * RATE)
            for i, payload in enumerate(packets(phrase.text, phrase.voice)):
                arrival = origin + phrase.at + i * FRAME / RATE + LATENCY
                events.append((arrival, name, seq, (start_ts + i * FRAME) % 2**32, payload))
                seq = (seq + 1) % 65536
    events.sort(key=lambda e: e[0])
    tick = origin
    for arrival, name, seq, ts, payload in events:
        while tick < arrival:
            recording.advance(tick)
            tick += 0.25
        ssrc = 4242 + names.index(name)
        recording.packet(participants[name], name, ssrc, seq, ts, arrival, payload, False)
    ended_at = space.started_at + timedelta(seconds=duration)
    infos = recording.finish(ended_at.timestamp())
    ended = catalog.end_space_at(space.id, ended_at)
    archive(
        catalog=catalog,
        store=store,
        space=ended,
        infos=infos,
        ended_at=ended_at,
        folder=folder / space.id,
    )
    return RecordedSpace(
        space=catalog.get_space(space.id),
        duration=duration,
        participants=participants,
        placed=tuple(placed),
    )
