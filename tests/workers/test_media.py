"""The media stages on a recorded track that ends in Opus silence, and the denormal guard.

Opus decodes the silence the recorder fills gaps with into denormal floats, which made ffmpeg's
resampler, loudness meter, mix and AAC encoder several times slower on some x86 CPUs;
`ffmpeg.guard` keeps the audio out of them. These tests pin that it changes nothing else: the
prepared samples are those of a plain decode and resample, and loudness is what the meter says
of the track as it is.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from stoa.catalog import Catalog
from stoa.storage import ObjectStore
from tests.workers.spaces import PHRASES, Placed, record_space
from workers import ffmpeg, mixdown
from workers.errors import MediaError, PermanentError
from workers.prepare import SPEECH_RATE, prepare

_SMALLEST_NORMAL = np.finfo(np.float32).tiny


def decoded(path: Path, *args: str, fmt: str = "f32le") -> np.ndarray:
    """``path`` decoded by ffmpeg (after ``args``, e.g. filters) as raw mono samples."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), *args, "-ac", "1", "-f", fmt, "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(done.stdout, dtype="<f4" if fmt == "f32le" else "<i2")


def loudness(path: Path) -> float:
    """Integrated loudness of ``path`` as ffmpeg's meter reports it, without the guard."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(path), "-af", "ebur128=framelog=verbose", "-f", "null"]
        + ["-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.findall(r"Integrated loudness:\s*I:\s*(-?[\d.]+) LUFS", done.stderr)[-1])


@pytest.fixture
def track(sqlite_catalog: Catalog, store: ObjectStore, tmp_path: Path) -> tuple[Path, float]:
    """A recorded track: one phrase, then seconds of the recorder's Opus silence to the end."""
    space = record_space(
        sqlite_catalog, store, tmp_path / "recordings", [Placed("Ann", 0.5, PHRASES[1])], 9.0
    )
    (record,) = sqlite_catalog.tracks(space.space.id)
    path = tmp_path / "track.ogg"
    store.download(record.storage_key, path)
    return path, record.duration_ms


def test_a_track_ending_in_opus_silence_is_prepared_as_decoded(
    track: tuple[Path, float], tmp_path: Path
) -> None:
    path, duration_ms = track
    prepared = prepare(path, tmp_path / "speech.flac", what="Ann's track")

    assert prepared.samples == round(duration_ms * SPEECH_RATE / 1000)
    assert prepared.loudness is not None
    assert abs(prepared.loudness - loudness(path)) <= 0.1
    plain = decoded(path, "-ar", str(SPEECH_RATE), fmt="s16le")
    speech = decoded(prepared.path, fmt="s16le")
    assert len(speech) == len(plain) == prepared.samples
    # The guard is far below 16-bit steps: the prepared samples are a plain resample's.
    assert np.abs(speech.astype(np.int32) - plain).max() <= 1
    assert np.count_nonzero(speech != plain) <= len(plain) // 100_000
    # The trailing silence stays digital silence for recognition.
    assert not speech[-SPEECH_RATE:].any()


def test_the_guard_keeps_decoded_audio_out_of_denormals(track: tuple[Path, float]) -> None:
    path, _ = track
    plain = decoded(path)
    guarded = decoded(path, "-af", ffmpeg.guard())

    assert len(guarded) == len(plain)
    assert np.abs(guarded).min() >= _SMALLEST_NORMAL
    assert np.abs(guarded.astype(np.float64) - plain).max() <= 2 * 10 ** (ffmpeg.GUARD_DB / 20)


def test_a_silent_mix_stays_silent(tmp_path: Path) -> None:
    silence = tmp_path / "silence.ogg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono"]
        + ["-t", "3", "-c:a", "libopus", str(silence)],
        check=True,
    )
    inputs = [mixdown.MixInput(silence, 0), mixdown.MixInput(silence, 4800, 3.0)]

    result = mixdown.mix(inputs, 4 * mixdown.RATE, tmp_path, what="the replay audio")

    assert (result.mixed_lufs, result.gain_db, result.loudness) == (None, 0.0, None)
    assert not any(json.loads(result.peaks.read_text())["data"])
    assert not decoded(result.audio, fmt="s16le").any()


def test_an_ffmpeg_without_a_filter_is_the_workers_fault_not_the_tracks() -> None:
    with pytest.raises(PermanentError, match="no nosuchfilter filter") as raised:
        ffmpeg.run(
            ["-f", "lavfi", "-i", "anullsrc", "-t", "0.1", "-af", "nosuchfilter", "-f", "null"]
            + ["-"],
            what="the replay audio",
        )
    assert not isinstance(raised.value, MediaError)
