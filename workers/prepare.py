"""Prepare a track for recognition: 16 kHz mono, and its loudness as recorded.

One ffmpeg pass decodes the Ogg Opus track once and splits it: one branch goes through the
EBU R128 meter (at the track's own 48 kHz), the other is resampled to 16 kHz mono and stored as
16-bit FLAC, lossless for what recognition hears and small where people are silent. The decoded
audio goes through `ffmpeg.guard` first, which keeps Opus's silence out of denormal floats.

The 16 kHz branch also passes ``silencedetect``: where the track is silent (recorded tracks are
mostly exact digital silence between utterances) is where `cuts` splits it into the pieces that
transcription parts recognize one each, so that no piece starts or ends inside a word. Where a
track has no silence near a cut (a microphone whose noise never falls below the threshold, or
one long monologue), the cut goes to the quietest moment nearby instead (`quietest`): the
pause between two words is still far quieter than the words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from workers import ffmpeg
from workers.errors import MediaError

SPEECH_RATE = 16_000
# Silence for silencedetect: quieter than -60 dBFS for at least 0.2 s.
SILENCE_DB = -60.0
SILENCE_MIN_S = 0.2
# How far from its target a cut may move to fall in silence (less where pieces are short).
CUT_WINDOW_S = 30.0
_SILENCE_START = re.compile(r"silence_start: (-?[\d.]+)")
_SILENCE_END = re.compile(r"silence_end: (-?[\d.]+)")


@dataclass(frozen=True)
class PreparedTrack:
    path: Path
    samples: int
    """Samples at 16 kHz."""
    loudness: float | None
    """Integrated loudness of the track as recorded (LUFS); None when it is silent."""
    silences: tuple[tuple[float, float], ...] = field(default=())
    """Stretches of silence (start, end), in seconds from the start of the track."""

    @property
    def duration(self) -> float:
        return self.samples / SPEECH_RATE


def prepare(source: Path, dest: Path, *, what: str) -> PreparedTrack:
    """Decode ``source`` into ``dest`` (FLAC, 16 kHz mono) and measure it.

    ``what`` names the track in errors (``MediaError`` when it is corrupt or holds no audio).
    """
    graph = (
        f"[0:a:0]{ffmpeg.guard()},asplit=2[m][s];"
        f"{ffmpeg.meter('m')};"
        f"[s]aresample={SPEECH_RATE},aformat=sample_fmts=s16:channel_layouts=mono,"
        f"silencedetect=noise={SILENCE_DB:g}dB:d={SILENCE_MIN_S:g}[speech]"
    )
    log = ffmpeg.run(
        [
            "-i",
            str(source),
            "-filter_complex",
            graph,
            "-map",
            "[speech]",
            "-c:a",
            "flac",
            str(dest),
        ],
        what=what,
    )
    samples = flac_samples(dest, what=what)
    if samples == 0:
        raise MediaError(f"{what}: the track holds no audio")
    return PreparedTrack(
        path=dest,
        samples=samples,
        loudness=ffmpeg.integrated_loudness(log),
        silences=silences(log, samples / SPEECH_RATE),
    )


def silences(log: str, duration: float) -> tuple[tuple[float, float], ...]:
    """The stretches of silence silencedetect reported in ``log`` (one to the end if unended)."""
    found: list[tuple[float, float]] = []
    start: float | None = None
    for line in log.splitlines():
        began = _SILENCE_START.search(line)
        if began:
            start = max(float(began[1]), 0.0)
        ended = _SILENCE_END.search(line)
        if ended and start is not None:
            found.append((start, min(float(ended[1]), duration)))
            start = None
    if start is not None and start < duration:
        found.append((start, duration))
    return tuple(found)


def cuts(
    samples: int,
    count: int,
    silences: Sequence[tuple[float, float]] = (),
    *,
    window_s: float = CUT_WINDOW_S,
    quietest: Callable[[float, float], float] | None = None,
) -> list[int]:
    """Where to split a track of ``samples`` (16 kHz) into ``count`` pieces: sample indices.

    ``count + 1`` of them, from 0 to ``samples``. The pieces' targets are equally long; each cut
    moves to the middle of the silence nearest its target within ``window_s`` (and within half a
    piece, so cuts stay in order). Where there is none, ``quietest(target, window)`` says where
    to cut instead (the quietest moment there: `quietest`); without it the cut stays on target.
    """
    duration = samples / SPEECH_RATE
    piece = duration / max(count, 1)
    window = min(window_s, piece / 2)
    found = [0]
    for k in range(1, count):
        target = k * piece
        middles = [
            (start + end) / 2 for start, end in silences if abs((start + end) / 2 - target) < window
        ]
        if middles:
            at = min(middles, key=lambda m: abs(m - target))
        elif quietest is not None:
            at = quietest(target, window)
        else:
            at = target
        found.append(min(max(round(at * SPEECH_RATE), found[-1] + 1), samples - 1))
    found.append(samples)
    return found


def quietest(path: Path, around: float, window: float, *, what: str) -> float:
    """The middle of the quietest ``SILENCE_MIN_S`` of the audio within ``window`` of ``around``.

    Reads only that stretch of the FLAC (seeking to it). Of equally quiet moments, the one
    nearest ``around``; ``around`` itself when the stretch is shorter than one such moment.
    """
    first = max(around - window, 0.0)
    audio = _read(path, first, around + window, what=what)
    span = round(SILENCE_MIN_S * SPEECH_RATE)
    if len(audio) <= span:
        return around
    energy = np.concatenate(([0.0], np.cumsum(np.square(audio, dtype=np.float64))))
    moving = energy[span:] - energy[:-span]  # the energy of each span, by its first sample
    quiet = np.flatnonzero(moving <= moving.min() * (1 + 1e-9) + 1e-9)
    middles = first + (quiet + span / 2) / SPEECH_RATE
    return float(middles[np.argmin(np.abs(middles - around))])


def _read(path: Path, start: float, end: float, *, what: str) -> np.ndarray:
    """The samples of the prepared FLAC (mono s16) from ``start`` to ``end`` seconds."""
    chunks: list[np.ndarray] = []
    first, last = round(start * SPEECH_RATE), round(end * SPEECH_RATE)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            container.seek(first, stream=stream)  # the FLAC's time base is its sample rate
            for frame in container.decode(stream):
                at = frame.pts if frame.pts is not None else first
                if at >= last:
                    break
                samples = frame.to_ndarray().reshape(-1)
                lo, hi = max(first - at, 0), min(last - at, len(samples))
                if lo < hi:
                    chunks.append(samples[lo:hi])
    except (av.error.FFmpegError, IndexError) as exc:
        raise MediaError(f"{what}: the prepared audio cannot be read back: {exc}") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def flac_samples(path: Path, *, what: str) -> int:
    """The number of samples a FLAC file says it holds (its STREAMINFO)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            if stream.duration is None or stream.time_base is None:
                return sum(frame.samples for frame in container.decode(stream))
            return int(stream.duration * stream.time_base * stream.rate)
    except (av.error.FFmpegError, IndexError) as exc:
        raise MediaError(f"{what}: the prepared audio cannot be read back: {exc}") from exc
