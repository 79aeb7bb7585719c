"""What recognition produces: words and segments on a track's clock, then on the space clock."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """A word, with its times in seconds and the model's confidence in it (0 to 1)."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    """A stretch of recognized speech, times in seconds from the start of its audio."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class SpeakerSegment:
    """A segment attributed to a speaker, times in seconds on the space clock."""

    speaker_id: str
    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


_SPACES = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """One line of text: whitespace runs become one space, control characters go.

    Recognized text can hold anything (a random model's bytes, a real model's odd output), and a
    newline or NUL would break every caption format; the formats add their own line breaks.
    """
    text = _SPACES.sub(" ", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cc").strip()
