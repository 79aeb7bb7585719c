"""Readable cues: line length, lines per cue, duration, breaks between words at their times."""

from __future__ import annotations

import numpy as np
import pytest

from transcribe.cues import MAX_CHARS, MAX_LINES, MAX_SECONDS, Cue, cues
from transcribe.segments import SpeakerSegment, Word

TEXT = (
    "So the first thing I want to talk about today is how we record every speaker on their "
    "own track, which means that when two people talk at the same time nothing gets lost, "
    "and the captions can say exactly who said what."
)


def timed(text: str, start: float, seconds_per_word: float = 0.3) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * seconds_per_word, start + (i + 0.8) * seconds_per_word, w, 0.9)
        for i, w in enumerate(text.split())
    )


def speaker_segment(text: str = TEXT, start: float = 1.0, **kw: float) -> SpeakerSegment:
    words = timed(text, start, **kw)
    return SpeakerSegment("u1", "Ada", words[0].start, words[-1].end, text, words)


def assert_readable(found: list[Cue], prefix: int = 0) -> None:
    for cue in found:
        assert 1 <= len(cue.lines) <= MAX_LINES
        assert len(cue.lines[0]) + prefix <= MAX_CHARS
        assert all(len(line) <= MAX_CHARS for line in cue.lines)
        assert 0 < cue.end - cue.start <= MAX_SECONDS + 1e-9


def test_cues_follow_the_rules_and_break_between_words() -> None:
    segment = speaker_segment()
    found = cues([segment])
    assert len(found) >= 3
    assert_readable(found)
    # Word boundaries: the cues hold the words, whole and in order, each cue from its first
    # word's start to its last word's end.
    assert " ".join(" ".join(c.lines) for c in found) == TEXT
    words = list(segment.words)
    for cue in found:
        count = len(" ".join(cue.lines).split())
        mine, words = words[:count], words[count:]
        assert cue.start == pytest.approx(mine[0].start, abs=1e-3)
        assert cue.end == pytest.approx(mine[-1].end, abs=1e-3)
    assert not words


def test_slow_speech_is_cut_by_duration() -> None:
    found = cues([speaker_segment(seconds_per_word=1.5)])
    assert_readable(found)
    assert max(len(" ".join(c.lines)) for c in found) < 2 * MAX_CHARS  # time cut them first


def test_lines_are_balanced_and_one_line_when_it_fits() -> None:
    short = cues([speaker_segment("Yes, exactly that.")])
    assert [c.lines for c in short] == [("Yes, exactly that.",)]
    two = cues([speaker_segment("one two three four five six seven eight nine ten eleven")])
    assert len(two) == 1 and len(two[0].lines) == 2
    first, second = two[0].lines
    assert abs(len(first) - len(second)) <= 6


def test_a_word_longer_than_a_line_is_cut_into_pieces() -> None:
    url = "https://example.org/" + "very-long-path/" * 8
    found = cues([speaker_segment(f"see {url} now")])
    assert_readable(found)
    assert "".join("".join(c.lines).replace(" ", "") for c in found) == f"see{url}now"


def test_a_word_said_longer_than_a_cue_may_last_is_shown_for_the_maximum() -> None:
    word = Word(3.0, 15.0, "Hmmmm", 0.5)
    found = cues([SpeakerSegment("u1", "Ada", 3.0, 15.0, "Hmmmm", (word,))])
    assert [(c.start, c.end) for c in found] == [(3.0, 3.0 + MAX_SECONDS)]


def test_segments_without_word_times_spread_their_time_over_the_words() -> None:
    segment = SpeakerSegment("u1", "Ada", 10.0, 30.0, TEXT, ())
    found = cues([segment])
    assert_readable(found)
    assert found[0].start == 10.0 and found[-1].end == pytest.approx(30.0)
    assert " ".join(" ".join(c.lines) for c in found) == TEXT


def test_a_first_line_prefix_is_kept_free() -> None:
    found = cues([speaker_segment()], first_line_prefix=18)
    assert_readable(found, prefix=18)


def test_zero_length_words_still_make_cues_that_last() -> None:
    words = tuple(Word(2.0, 2.0, w, 0.1) for w in ("a", "b", "c"))
    found = cues([SpeakerSegment("u1", "Ada", 2.0, 2.0, "a b c", words)])
    assert len(found) == 1 and found[0].end > found[0].start


def test_random_words_always_fit() -> None:
    rng = np.random.default_rng(3)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    for _ in range(50):
        texts = ["".join(rng.choice(letters, int(rng.integers(1, 50)))) for _ in range(30)]
        starts = np.sort(rng.uniform(0, 60, len(texts)))
        words = tuple(
            Word(float(s), float(s + rng.uniform(0, 3)), t, 0.5)
            for s, t in zip(starts, texts, strict=True)
        )
        segment = SpeakerSegment("u", "U", words[0].start, words[-1].end, " ".join(texts), words)
        assert_readable(cues([segment]))


def test_a_speakers_cues_never_overlap_even_after_a_zero_length_word() -> None:
    # As the tiny model once gave: a segment of one word said in no time, and the speaker's
    # next segment starting at that very moment.
    first = SpeakerSegment(
        "u1", "Ada", 140.342, 140.342, "then", (Word(140.342, 140.342, "then", 0.5),)
    )
    second = SpeakerSegment(
        "u1", "Ada", 140.342, 140.602, "we", (Word(140.342, 140.602, "we", 0.5),)
    )
    other = SpeakerSegment("u2", "Bo", 140.2, 140.5, "hi", (Word(140.2, 140.5, "hi", 0.5),))
    found = cues([first, second, other])
    own = sorted((c.start, c.end) for c in found if c.speaker_id == "u1")
    assert all(a[1] <= b[0] for a, b in zip(own, own[1:], strict=False)), own
    assert all(c.end > c.start for c in found)
    # Other speakers may overlap: they talk at once.
    assert any(c.speaker_id == "u2" and c.start == 140.2 for c in found)
