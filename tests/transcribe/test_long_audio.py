"""Long tracks in constant memory: a track four times as long takes no more memory.

Tracks are written to WAV a second at a time and streamed from the file, so neither the test nor
the engine ever holds a whole track. Python and NumPy allocations are traced (tracemalloc); the
process's resident memory is checked too, for what the model and the VAD allocate natively.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path

import psutil
import pytest

from tests.transcribe.speech import PHRASES, Phrase, write_long_wav
from transcribe.audio import SAMPLE_RATE, decode
from transcribe.engine import TranscribeOptions
from transcribe.vad import speech_regions
from transcribe.whisper import WhisperEngine

SHORT, LONG = 4 * 60.0, 16 * 60.0


def mostly_silence(duration: float) -> list[Phrase]:
    # A phrase of about 3 s every 10 s: 70 % silence, and enough speech that every batch the
    # model gets is full (30 s of speech), on the short track as on the long one.
    return [Phrase(5.0 + 10.0 * i, PHRASES[i % 4]) for i in range(int((duration - 10) / 10))]


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    folder = tmp_path_factory.mktemp("long")
    return {
        duration: write_long_wav(
            folder / f"{int(duration)}.wav", mostly_silence(duration), duration
        )
        for duration in (SHORT, LONG)
    }


def traced_run(engine: WhisperEngine, path: Path) -> tuple[int, float, int, int]:
    """(segments, seconds, peak traced bytes, resident growth bytes) of one transcription."""
    gc.collect()
    process = psutil.Process()
    resident = process.memory_info().rss
    tracemalloc.start()
    started = time.perf_counter()
    try:
        count = sum(1 for _ in engine.transcribe(decode(path)))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, elapsed, peak, process.memory_info().rss - resident


def test_memory_does_not_grow_with_the_track(tiny_model: Path, tracks: dict[float, Path]) -> None:
    engine = WhisperEngine.load(TranscribeOptions(model=str(tiny_model)))
    traced_run(engine, tracks[SHORT])  # warm up: model buffers, VAD session, caches
    short = traced_run(engine, tracks[SHORT])
    long = traced_run(engine, tracks[LONG])
    print(f"short {short}, long {long}")
    assert short[0] > 0 and long[0] > short[0]
    # Memory is one batch of speech for the model (30 s; its features are most of it), not
    # the track: the long track as float32 would be 61 MB.
    assert long[2] <= short[2] * 1.25 + 2_000_000, (short, long)
    assert long[2] < 48_000_000
    assert long[3] < 0.25 * LONG * SAMPLE_RATE * 4, long


def test_vad_reads_a_long_track_fast(tracks: dict[float, Path]) -> None:
    # Decode and VAD of 16 min. The pipeline's budget for everything but inference is 5 % of
    # the audio's length on two cores; this stays under 1 % (about 6 s per hour measured).
    started = time.perf_counter()
    regions = list(speech_regions(decode(tracks[LONG])))
    elapsed = time.perf_counter() - started
    assert len(regions) == len(mostly_silence(LONG))
    assert elapsed < 0.01 * LONG
