"""Streaming VAD: the same answers as faster-whisper on the whole array, and where speech is."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from faster_whisper.vad import VadOptions as FasterVadOptions
from faster_whisper.vad import get_speech_timestamps, get_vad_model

from tests.transcribe.speech import PHRASES, Phrase, place
from transcribe.audio import SAMPLE_RATE, chunks
from transcribe.vad import (
    WINDOW,
    VadOptions,
    speech_clips,
    speech_probabilities,
    speech_regions,
)

# Placed with pauses of 0.5 to 2.5 s between phrases, one pair overlapping.
PLACED = [
    Phrase(1.0, PHRASES[0]),
    Phrase(5.0, PHRASES[1], "en-us"),
    Phrase(9.5, PHRASES[2]),
    Phrase(13.5, PHRASES[3], "en-us"),
    Phrase(17.0, PHRASES[0], "en-us"),
    Phrase(17.8, PHRASES[2]),  # starts while the one before is still speaking
    Phrase(23.0, PHRASES[1]),
]
DURATION = 27.3


@pytest.fixture(scope="module")
def track() -> np.ndarray:
    return place(PLACED, DURATION)


def uneven(audio: np.ndarray, seed: int = 0) -> Iterator[np.ndarray]:
    """The track as chunks of random sizes, none a multiple of the VAD window."""
    rng = np.random.default_rng(seed)
    i = 0
    while i < len(audio):
        n = int(rng.integers(1, 3 * SAMPLE_RATE))
        yield audio[i : i + n]
        i += n


def test_probabilities_equal_faster_whispers_on_the_whole_array(track: np.ndarray) -> None:
    padded = np.pad(track, (0, (-len(track)) % WINDOW))
    whole = get_vad_model()(padded).reshape(-1)
    streamed = np.array(list(speech_probabilities(uneven(track))))
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(streamed, whole, atol=1e-6)


@pytest.mark.parametrize(
    ("min_silence_ms", "pad_ms", "max_speech_s"),
    [
        (500, 30, 30.0),  # ours
        (2000, 400, 30.0),  # faster-whisper's defaults: padding shared between close regions
        (100, 100, 2.0),  # long speech split at short pauses, or cut hard
        (300, 0, 30.0),
    ],
)
def test_regions_equal_faster_whispers(
    track: np.ndarray, min_silence_ms: int, pad_ms: int, max_speech_s: float
) -> None:
    theirs = get_speech_timestamps(
        track,
        FasterVadOptions(
            min_silence_duration_ms=min_silence_ms,
            speech_pad_ms=pad_ms,
            max_speech_duration_s=max_speech_s,
        ),
    )
    ours = speech_regions(
        uneven(track, seed=min_silence_ms),
        VadOptions(min_silence_ms=min_silence_ms, speech_pad_ms=pad_ms, max_speech_s=max_speech_s),
    )
    assert [(r.start_sample, r.end_sample) for r in ours] == [
        (t["start"], t["end"]) for t in theirs
    ]


def expected_regions() -> list[tuple[float, float]]:
    """Where the placed phrases sound, overlapping ones as one stretch."""
    spans = sorted(p.sound for p in PLACED)
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def test_default_boundaries_are_within_tolerance_of_the_speech(track: np.ndarray) -> None:
    """The default settings find each phrase, starts within 50 ms and ends within 100 ms.

    100 ms is what the pipeline's end-to-end test allows a caption to stray from its speech;
    measured here: starts -40 to +20 ms, ends +20 to +90 ms (Silero decides late by about a
    window; the 30 ms padding takes back some of that at the start).
    """
    regions = list(speech_regions(chunks(track)))
    expected = expected_regions()
    assert len(regions) == len(expected)
    for region, (start, end) in zip(regions, expected, strict=True):
        assert abs(region.start - start) <= 0.05, (region, start)
        assert abs(region.end - end) <= 0.1, (region, end)


def test_pauses_between_phrases_split_and_pauses_inside_do_not(track: np.ndarray) -> None:
    # Each phrase has pauses inside (commas, a full stop in "...everyone. Let us begin.");
    # 500 ms of silence ends a stretch. faster-whisper's defaults (2 s) would merge phrases
    # 1.3 s apart, and a caption would stay on screen through the silence between them.
    ours = list(speech_regions(chunks(track)))
    theirs = get_speech_timestamps(track, FasterVadOptions())
    assert len(ours) == len(expected_regions()) == 6
    assert len(theirs) < len(ours)


def test_clips_hold_exactly_their_samples(track: np.ndarray) -> None:
    clips = list(speech_clips(uneven(track)))
    assert clips
    for clip in clips:
        expected = track[clip.region.start_sample : clip.region.end_sample]
        np.testing.assert_array_equal(clip.audio, expected)


def test_a_stream_that_ends_while_speaking_closes_its_region() -> None:
    track = place([Phrase(0.5, PHRASES[0])], 2.0)  # the phrase is cut off at 2 s
    regions = list(speech_regions(chunks(track)))
    assert len(regions) == 1
    assert regions[0].end_sample == len(track)


def test_silence_and_nothing_have_no_speech() -> None:
    assert list(speech_regions(chunks(np.zeros(5 * SAMPLE_RATE, dtype=np.float32)))) == []
    assert list(speech_regions(iter([]))) == []
