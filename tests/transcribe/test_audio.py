"""Decoding any file to 16 kHz mono float32, a chunk at a time; bad input named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.transcribe.speech import PHRASES, spoken, write_wav
from transcribe.audio import SAMPLE_RATE, chunks, counted, decode, probe_duration
from transcribe.errors import AudioError


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    return write_wav(folder / "speech.wav", spoken(PHRASES[1]))


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [("ogg", ["-c:a", "libopus"]), ("m4a", ["-c:a", "aac"]), ("flac", []), ("wav", [])],
)
def test_formats_decode_to_16k_mono(source: Path, tmp_path: Path, suffix: str, codec: list[str]):
    # Stereo at 48 kHz in, mono at 16 kHz out, the same length as the source.
    path = tmp_path / f"speech.{suffix}"
    ffmpeg("-i", str(source), "-ac", "2", "-ar", "48000", *codec, str(path))
    parts = list(decode(path))
    assert all(p.dtype == np.float32 and p.ndim == 1 for p in parts)
    audio = np.concatenate(parts)
    expected = spoken(PHRASES[1])
    assert abs(len(audio) - len(expected)) < 0.08 * SAMPLE_RATE  # codec priming and padding
    assert 0.05 < float(np.sqrt(np.mean(audio**2))) < 0.5
    duration = probe_duration(path)
    assert duration is not None and duration == pytest.approx(len(expected) / SAMPLE_RATE, abs=0.1)


def test_a_long_file_comes_in_small_chunks(tmp_path: Path) -> None:
    path = tmp_path / "tone.ogg"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=120", "-c:a", "libopus", str(path))
    sizes = [len(chunk) for chunk in decode(path)]
    assert sum(sizes) == pytest.approx(120 * SAMPLE_RATE, abs=SAMPLE_RATE // 10)
    assert max(sizes) <= 2 * SAMPLE_RATE  # no chunk holds more than ~1.4 s


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="missing.wav: no such file"):
        list(decode(tmp_path / "missing.wav"))


def test_a_file_that_is_not_audio_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not audio at all\n" * 100)
    with pytest.raises(AudioError, match="notes.txt"):
        list(decode(path))
    with pytest.raises(AudioError, match="notes.txt"):
        probe_duration(path)


def test_a_video_without_sound_has_no_audio_stream(tmp_path: Path) -> None:
    path = tmp_path / "silent.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=d=1:s=64x64", str(path))
    with pytest.raises(AudioError, match="silent.mkv: no audio stream"):
        list(decode(path))


@pytest.mark.parametrize(("suffix", "codec"), [("mp3", "libmp3lame"), ("ogg", "libopus")])
def test_a_damaged_middle_is_skipped(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"tone.{suffix}"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:d=30", "-c:a", codec, str(path))
    whole = sum(len(chunk) for chunk in decode(path))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 1000] = np.random.default_rng(0).bytes(1000)
    path.write_bytes(bytes(data))
    damaged = sum(len(chunk) for chunk in decode(path))
    # Only the damaged stretch is lost (a second or two), not the rest of the file.
    assert whole - 3 * SAMPLE_RATE < damaged <= whole


def test_chunks_of_an_array_are_views_and_others_are_converted() -> None:
    array = np.arange(2.5 * SAMPLE_RATE, dtype=np.float32)
    parts = list(chunks(array))
    assert [len(p) for p in parts] == [SAMPLE_RATE, SAMPLE_RATE, SAMPLE_RATE // 2]
    assert all(p.base is array for p in parts)
    assert next(chunks([np.zeros(4, dtype=np.int16)])).dtype == np.float32
    with pytest.raises(AudioError, match="mono"):
        list(chunks([np.zeros((2, 4), dtype=np.float32)]))


def test_counted_reports_seconds() -> None:
    seen: list[float] = []
    list(counted(chunks(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)), seen.append))
    assert seen == [1.0, 1.0, 1.0]
