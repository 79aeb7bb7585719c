"""Prepare a track for recognition: 16 kHz mono, and its loudness as recorded.

One ffmpeg pass decodes the Ogg Opus track once and splits it: one branch goes through the
EBU R128 meter (at the track's own 48 kHz), the other is resampled to 16 kHz mono and stored as
16-bit FLAC, lossless for what recognition hears and small where people are silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from workers import ffmpeg
from workers.errors import MediaError

SPEECH_RATE = 16_000


@dataclass(frozen=True)
class PreparedTrack:
    path: Path
    samples: int
    """Samples at 16 kHz."""
    loudness: float | None
    """Integrated loudness of the track as recorded (LUFS); None when it is silent."""

    @property
    def duration(self) -> float:
        return self.samples / SPEECH_RATE


def prepare(source: Path, dest: Path, *, what: str) -> PreparedTrack:
    """Decode ``source`` into ``dest`` (FLAC, 16 kHz mono) and measure it.

    ``what`` names the track in errors (``MediaError`` when it is corrupt or holds no audio).
    """
    graph = (
        "[0:a:0]asplit=2[m][s];"
        f"{ffmpeg.meter('m')};"
        f"[s]aresample={SPEECH_RATE},aformat=sample_fmts=s16:channel_layouts=mono[speech]"
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
    return PreparedTrack(path=dest, samples=samples, loudness=ffmpeg.integrated_loudness(log))


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
