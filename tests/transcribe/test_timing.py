"""The timing invariants kept whatever a model says."""

from __future__ import annotations

from transcribe.segments import Segment, Word
from transcribe.timing import ordered


def test_overlaps_and_overruns_are_clamped() -> None:
    segments = [
        Segment(1.0, 3.0, "one", (Word(0.5, 1.5, " one", 0.9), Word(2.9, 3.5, "", 0.1))),
        Segment(2.0, 4.0, "two", (Word(2.0, 2.5, " two", 1.0),)),  # starts before one ends
        Segment(9.0, 12.0, "past", ()),  # partly past the end (10 s)
        Segment(11.0, 13.0, "gone", ()),  # wholly past the end
        Segment(5.0, 6.0, "  \n ", ()),  # no text
    ]
    out = list(ordered(segments, duration=10.0))
    assert [(s.text, s.start, s.end) for s in out] == [
        ("one", 1.0, 3.0),
        ("two", 3.0, 4.0),
        ("past", 9.0, 10.0),
    ]
    assert [(w.text, w.start, w.end) for w in out[0].words] == [("one", 1.0, 1.5)]
    assert [(w.start, w.end) for w in out[1].words] == [(3.0, 3.0)]


def test_text_is_one_clean_line() -> None:
    (segment,) = ordered([Segment(0.0, 1.0, " a\nb\x00\tc\u2028d ", ())])
    assert segment.text == "a b c d"
