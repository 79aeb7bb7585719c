"""The model's times on the joined clock, back on the track's, split at the silences."""

from __future__ import annotations

import numpy as np
import pytest

from transcribe.audio import SAMPLE_RATE
from transcribe.segments import Segment, Word
from transcribe.speech_batch import SpeechBatch, batches
from transcribe.vad import SpeechClip, SpeechRegion


def clip(start: float, end: float) -> SpeechClip:
    region = SpeechRegion(round(start * SAMPLE_RATE), round(end * SAMPLE_RATE))
    return SpeechClip(region, np.zeros(region.end_sample - region.start_sample, dtype=np.float32))


# Speech at 10-12 s and 20-23 s of the track: 0-2 s and 2-5 s of the joined clock.
BATCH = SpeechBatch((clip(10, 12), clip(20, 23)))


def test_times_map_into_their_clip() -> None:
    assert BATCH.duration == pytest.approx(5.0)
    assert BATCH.to_track(1.0, BATCH.clip_at(1.0)) == pytest.approx(11.0)
    assert BATCH.to_track(3.0, BATCH.clip_at(3.0)) == pytest.approx(21.0)
    # The seam: a start there belongs to the later clip, an end to the earlier one.
    assert BATCH.to_track(2.0, BATCH.clip_at(2.0)) == pytest.approx(20.0)
    assert BATCH.to_track(2.0, BATCH.clip_at(2.0, end=True)) == pytest.approx(12.0)
    # Past the end of the batch: the end of the last clip.
    assert BATCH.to_track(9.0, BATCH.clip_at(9.0)) == pytest.approx(23.0)


def test_a_segment_across_the_seam_is_split_by_its_words() -> None:
    words = (
        Word(0.5, 1.0, " hello", 0.9),
        Word(1.2, 1.9, " there", 0.9),
        Word(2.1, 2.6, " general", 0.9),  # after the seam
        Word(2.7, 3.2, " kenobi", 0.9),
    )
    placed = BATCH.place(Segment(0.5, 3.2, " hello there general kenobi", words))
    assert [(s.text, s.start, s.end) for s in placed] == [
        ("hello there", pytest.approx(10.5), pytest.approx(11.9)),
        ("general kenobi", pytest.approx(20.1), pytest.approx(21.2)),
    ]


def test_a_word_straddling_the_seam_goes_where_its_middle_is() -> None:
    words = (Word(1.5, 2.9, " long", 0.5),)  # middle 2.2: in the second clip
    (placed,) = BATCH.place(Segment(1.5, 2.9, " long", words))
    assert (placed.start, placed.end) == (pytest.approx(20.0), pytest.approx(20.9))


def test_a_segment_without_words_keeps_its_span() -> None:
    (placed,) = BATCH.place(Segment(1.0, 4.0, " no words"))
    assert (placed.start, placed.end, placed.text) == (
        pytest.approx(11.0),
        pytest.approx(22.0),
        "no words",
    )


def test_batches_hold_up_to_30_s_of_speech() -> None:
    clips = [clip(i * 20.0, i * 20.0 + 7.0) for i in range(10)]  # 7 s of speech each
    grouped = list(batches(clips))
    assert [len(b.clips) for b in grouped] == [4, 4, 2]
    assert all(b.duration <= 30.0 for b in grouped)
    assert [len(b.clips) for b in batches([clip(0, 45)])] == [1]  # a longer clip goes alone
