"""The timing invariants every engine's output keeps, whatever the model said.

Segments come in order and do not overlap; each word lies inside its segment, after the word
before it; nothing runs past the end of the audio. A model's timestamps can break all of these
(a random or confused model puts segments past the end of the audio); this is where they are
enforced, once, for every engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from transcribe.segments import Segment, Word, clean_text


def clamp(time: float, low: float, high: float) -> float:
    return min(max(float(time), low), high)


def ordered(segments: Iterable[Segment], duration: float | None = None) -> Iterator[Segment]:
    """Segments kept in order, inside ``[0, duration]``, words inside their segment.

    Text is cleaned to one line (``clean_text``); words are kept without their leading space.
    A segment left with no text or no time once clamped (it was past the end of the audio, or
    wholly before the previous one's end) is dropped.
    """
    limit = float("inf") if duration is None else float(duration)
    previous_end = 0.0
    for segment in segments:
        text = clean_text(segment.text)
        start = clamp(segment.start, previous_end, limit)
        end = clamp(segment.end, start, limit)
        words: list[Word] = []
        cursor = start
        for word in segment.words:
            word_text = clean_text(word.text)
            if not word_text:
                continue
            word_start = clamp(word.start, cursor, end)
            word_end = clamp(word.end, word_start, end)
            words.append(Word(word_start, word_end, word_text, float(word.probability)))
            cursor = word_end
        if not text or end <= start:
            continue
        yield Segment(start, end, text, tuple(words))
        previous_end = end
