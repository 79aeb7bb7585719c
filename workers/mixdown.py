"""The replay audio: every speaker mixed on the space clock, at −16 LUFS, AAC in MP4.

Two ffmpeg passes, because loudness normalization needs the loudness of the whole mix first:

1. each track is delayed to its start on the space clock (sample-exact ``adelay``), evened out
   against the other speakers (`speaker_gains`), and mixed without amix's per-input scaling;
   the float mix goes to a scratch file while ``ebur128`` measures it (tracks and mix kept out
   of denormal floats by `ffmpeg.guard`, so the passes over it run at full speed);
2. one static gain brings it to the target (EBU R128: −16 LUFS, the level for spoken word on
   the web), a look-ahead limiter keeps peaks under −1 dBFS, and AAC is written into MP4 with
   its index up front (``+faststart``), so players can seek over HTTP ranges before it loads.

A static gain keeps the dynamics people spoke with, unlike ffmpeg's one-pass ``loudnorm``. The
waveform peaks come from the same scratch mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workers import ffmpeg
from workers.peaks import write_peaks

RATE = 48_000
TARGET_LUFS = -16.0
PEAK_LIMIT = 0.891  # −1 dBFS
BITRATE = "64k"  # mono speech
# ffmpeg's AAC encoder: "fast" takes about two thirds of the default's time, and the encoding is
# most of the replay's cost.
# Evening out speakers: never more than this, and only tracks loud enough to hold speech.
MAX_SPEAKER_GAIN_DB = 6.0
SPEECH_LUFS_FLOOR = -45.0
_RAW_INPUT = ("-f", "f32le", "-ar", str(RATE), "-ac", "1")
# The mix's own guard against denormals (`ffmpeg.guard`): where everyone is silent, the tracks'
# guards can cancel in the sum to exact zeros, after which the meter's filters decay into
# denormals. 50 dB up, it is 316 times one track's, more than 150 tracks' could cancel; still
# far below audibility at any gain, and AAC and the 8-bit peaks round it away.
MIX_GUARD_DB = ffmpeg.GUARD_DB + 50.0
_SETTLE_PASSES = 3
_SETTLED_LU = 0.35  # the meter prints tenths


@dataclass(frozen=True)
class MixInput:
    path: Path
    offset: int
    """Where the track starts on the space clock, in samples at 48 kHz."""
    gain_db: float = 0.0


@dataclass(frozen=True)
class Mixdown:
    audio: Path
    peaks: Path
    samples: int
    mixed_lufs: float | None
    """Loudness of the mix before normalization; None when it is silent."""
    gain_db: float
    loudness: float | None
    """Loudness of the replay file's audio as written."""

    @property
    def duration(self) -> float:
        return self.samples / RATE


def speaker_gains(loudness: Sequence[float | None]) -> list[float]:
    """Per-track gains that bring speakers towards their median loudness, by at most 6 dB.

    Quiet tracks without speech (noise, a muted microphone) are left alone, so their noise is
    never raised.
    """
    spoken = sorted(v for v in loudness if v is not None and v > SPEECH_LUFS_FLOOR)
    if not spoken:
        return [0.0 for _ in loudness]
    median = spoken[len(spoken) // 2]
    return [
        0.0
        if v is None or v <= SPEECH_LUFS_FLOOR
        else max(-MAX_SPEAKER_GAIN_DB, min(MAX_SPEAKER_GAIN_DB, median - v))
        for v in loudness
    ]


def mix(inputs: Sequence[MixInput], samples: int, folder: Path, *, what: str) -> Mixdown:
    """Mix ``inputs`` (at least one) into ``samples`` samples of replay audio in ``folder``."""
    raw = folder / "mix.f32"
    measured = _mix_raw(inputs, samples, raw, what=what)
    gain = 0.0 if measured is None else _settle_gain(raw, TARGET_LUFS - measured, what=what)
    audio = folder / "replay.m4a"
    loudness = _encode(raw, audio, gain, what=what)
    peaks = folder / "peaks.json"
    write_peaks(raw, peaks, sample_rate=RATE, gain=10 ** (gain / 20))
    raw.unlink()
    return Mixdown(
        audio=audio,
        peaks=peaks,
        samples=samples,
        mixed_lufs=measured,
        gain_db=round(gain, 2),
        loudness=loudness,
    )


def _settle_gain(raw: Path, gain: float, *, what: str) -> float:
    """The gain that lands on the target after the limiter.

    Where the limiter catches peaks the mix comes out quieter than the gain alone says, the
    more so the higher the gain; measuring passes (no encoding: a few seconds an hour) find
    the gain by the secant method, usually in two.
    """
    tried: list[tuple[float, float]] = []
    for _ in range(_SETTLE_PASSES):
        loudness = _measure(raw, gain, what=what)
        if loudness is None or abs(TARGET_LUFS - loudness) <= _SETTLED_LU:
            break
        tried.append((gain, loudness))
        if len(tried) == 1:
            gain += TARGET_LUFS - loudness
        else:
            (g0, l0), (g1, l1) = tried[-2:]
            slope = (l1 - l0) / (g1 - g0) if g1 != g0 and l1 != l0 else 1.0
            gain = g1 + (TARGET_LUFS - l1) / max(slope, 0.1)
    return gain


def _measure(raw: Path, gain: float, *, what: str) -> float | None:
    log = ffmpeg.run(
        [
            *_RAW_INPUT,
            "-i",
            str(raw),
            "-filter_complex",
            f"[0:a]{_level(gain)},ebur128=framelog=verbose[out]",
            *("-map", "[out]", "-f", "null", "-"),
        ],
        what=what,
    )
    return ffmpeg.integrated_loudness(log)


def _level(gain_db: float) -> str:
    return f"volume={gain_db:.2f}dB,alimiter=limit={PEAK_LIMIT}:level=disabled:latency=enabled"


def _mix_raw(inputs: Sequence[MixInput], samples: int, dest: Path, *, what: str) -> float | None:
    args: list[str] = []
    chains = []
    for i, item in enumerate(inputs):
        args += ["-i", str(item.path)]
        chains.append(
            f"[{i}:a:0]{ffmpeg.guard()},"
            f"aresample={RATE},aformat=sample_fmts=flt:channel_layouts=mono,"
            f"volume={item.gain_db:.2f}dB,adelay=delays={max(item.offset, 0)}S:all=1[in{i}]"
        )
    labels = "".join(f"[in{i}]" for i in range(len(inputs)))
    chains.append(
        f"{labels}amix=inputs={len(inputs)}:normalize=0:duration=longest:dropout_transition=0,"
        f"apad=whole_len={samples},atrim=end_sample={samples},{ffmpeg.guard(MIX_GUARD_DB)},"
        "asplit=2[mix][m]"
    )
    chains.append(ffmpeg.meter("m"))
    log = ffmpeg.run(
        [
            *args,
            "-filter_complex",
            ";".join(chains),
            "-map",
            "[mix]",
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            str(dest),
        ],
        what=what,
    )
    return ffmpeg.integrated_loudness(log)


def _encode(raw: Path, dest: Path, gain_db: float, *, what: str) -> float | None:
    graph = f"[0:a]{_level(gain_db)},asplit=2[out][m];{ffmpeg.meter('m')}"
    log = ffmpeg.run(
        [
            *_RAW_INPUT,
            *("-i", str(raw), "-filter_complex", graph, "-map", "[out]"),
            *("-c:a", "aac", "-aac_coder", "fast", "-b:a", BITRATE),
            *("-movflags", "+faststart", str(dest)),
        ],
        what=what,
    )
    return ffmpeg.integrated_loudness(log)
