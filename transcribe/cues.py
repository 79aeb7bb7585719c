"""Readable caption cues from speaker segments.

A cue is one speaker's words: at most ``max_lines`` lines of at most ``max_chars`` characters,
shown for at most ``max_seconds`` (defaults 2, 42, 7 s: the usual broadcast and web rules, as in
the BBC's and Netflix's style guides). Cues break between words, at the words' own times, so a
cue starts when its first word is said and ends when its last one is. Lines within a cue are
balanced. Each speaker's cues follow one another; two speakers' cues overlap when they talk at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from transcribe.segments import SpeakerSegment, Word, clean_text

MAX_CHARS = 42
MAX_LINES = 2
MAX_SECONDS = 7.0
MIN_SECONDS = 0.001  # a cue needs some time to exist in every format


@dataclass(frozen=True)
class Cue:
    speaker_id: str
    speaker: str
    start: float
    end: float
    lines: tuple[str, ...]


def cues(
    segments: Iterable[SpeakerSegment],
    *,
    max_chars: int = MAX_CHARS,
    max_lines: int = MAX_LINES,
    max_seconds: float = MAX_SECONDS,
    first_line_prefix: int = 0,
) -> list[Cue]:
    """The cues of ``segments``, ordered by start time.

    ``first_line_prefix`` is room kept on each cue's first line for a label the format adds
    there (SRT's ``Name:``).
    """
    width = max_chars - first_line_prefix
    if width < 1:
        raise ValueError("no room left on the first line for text")
    found: list[Cue] = []
    for segment in segments:
        words = list(_split_long(_timed_words(segment), width))
        held: list[Word] = []
        for word in words:
            candidate = [*held, word]
            too_long = word.end - held[0].start > max_seconds if held else False
            layout = _layout(
                tuple(w.text for w in candidate), max_chars, max_lines, first_line_prefix
            )
            if held and (too_long or layout is None):
                found.append(
                    _cue(segment, held, max_chars, max_lines, first_line_prefix, max_seconds)
                )
                held = [word]
            else:
                held = candidate
        if held:
            found.append(_cue(segment, held, max_chars, max_lines, first_line_prefix, max_seconds))
    found = _one_after_another(found)
    found.sort(key=lambda cue: (cue.start, cue.end, cue.speaker_id))
    return found


def _one_after_another(found: list[Cue]) -> list[Cue]:
    """Each speaker's cues in turn, none overlapping the next.

    Words said in no time (a zero-length word at a segment's end) still get ``MIN_SECONDS`` on
    screen, which can reach into the speaker's next cue: that one then starts as this ends.
    """
    out: list[Cue] = []
    last_end: dict[str, float] = {}
    for cue in sorted(found, key=lambda c: (c.speaker_id, c.start, c.end)):
        floor = last_end.get(cue.speaker_id, cue.start)
        if cue.start < floor:
            start = floor
            cue = replace(cue, start=start, end=round(max(cue.end, start + MIN_SECONDS), 3))
        last_end[cue.speaker_id] = cue.end
        out.append(cue)
    return out


def _cue(
    segment: SpeakerSegment,
    words: list[Word],
    max_chars: int,
    max_lines: int,
    prefix: int,
    max_seconds: float,
) -> Cue:
    lines = _layout(tuple(w.text for w in words), max_chars, max_lines, prefix)
    assert lines is not None  # every word fits a line alone (_split_long)
    start = round(words[0].start, 3)  # formats keep milliseconds
    # A single word said for longer than a cue may last (an alignment artefact) is shown for
    # the first max_seconds of it.
    end = round(min(max(words[-1].end, start + MIN_SECONDS), start + max_seconds), 3)
    return Cue(segment.speaker_id, segment.speaker, start, end, lines)


def _timed_words(segment: SpeakerSegment) -> list[Word]:
    words = [
        Word(w.start, w.end, text, w.probability)
        for w in segment.words
        if (text := clean_text(w.text))
    ]
    if words:
        return words
    # No word timings (a model run without them, a scripted segment): spread the segment's
    # time over its words by their length.
    texts = clean_text(segment.text).split(" ")
    texts = [t for t in texts if t]
    total = sum(len(t) + 1 for t in texts)
    span = segment.end - segment.start
    timed, cursor = [], segment.start
    for text in texts:
        end = cursor + span * (len(text) + 1) / total
        timed.append(Word(cursor, min(end, segment.end), text, 1.0))
        cursor = end
    return timed


def _split_long(words: Iterable[Word], width: int) -> Iterator[Word]:
    """Words longer than a line, cut into line-long pieces with their share of the time."""
    for word in words:
        if len(word.text) <= width:
            yield word
            continue
        pieces = [word.text[i : i + width] for i in range(0, len(word.text), width)]
        span = (word.end - word.start) / len(word.text)
        offset = 0
        for piece in pieces:
            start = word.start + span * offset
            offset += len(piece)
            yield Word(start, word.start + span * offset, piece, word.probability)


@lru_cache(maxsize=4096)
def _layout(
    texts: tuple[str, ...], max_chars: int, max_lines: int, prefix: int
) -> tuple[str, ...] | None:
    """The words on as few lines of ``max_chars`` as they fit (at most ``max_lines``), the
    longest line as short as it can be (balanced lines); None when they do not fit."""
    best: tuple[int, int, tuple[str, ...]] | None = None

    def place(start: int, lines: tuple[str, ...], longest: int) -> None:
        nonlocal best
        if start == len(texts):
            if best is None or (len(lines), longest) < best[:2]:
                best = (len(lines), longest, lines)
            return
        if len(lines) == max_lines:
            return
        room = max_chars - (prefix if not lines else 0)
        line = ""
        for end in range(start, len(texts)):
            line = f"{line} {texts[end]}" if line else texts[end]
            if len(line) > room:
                break
            place(end + 1, (*lines, line), max(longest, len(line) + (room < max_chars) * prefix))

    place(0, (), 0)
    return best[2] if best else None
