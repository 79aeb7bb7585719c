"""A scripted engine for tests about what happens after recognition (merging, formats, indexing).

It reads the audio it is given, as the real engine does (so progress and memory behave alike),
then returns the segments it was scripted with, kept in order and inside the audio by the same
rules as the real engine. Recognition itself is tested with the real engine and a tiny model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from transcribe.audio import SAMPLE_RATE, chunks
from transcribe.segments import Segment
from transcribe.timing import ordered

Script = Iterable[Segment] | Callable[[float], Iterable[Segment]]


class ScriptedEngine:
    """``Engine`` that answers with given segments.

    ``script`` is the segments, or a function of the audio's duration (seconds) returning them,
    for tests that transcribe several tracks with one engine. ``language`` is what language
    detection finds in any audio (None: as an English-only model). ``calls``, ``detections``
    and ``languages`` (the language each transcription was given) tell tests how it was used.
    """

    def __init__(self, script: Script, *, language: str | None = None) -> None:
        self._script = script if callable(script) else tuple(script)
        self._language = language
        self.calls = 0
        self.detections = 0
        self.languages: list[str | None] = []

    def transcribe(
        self,
        audio: Iterable[np.ndarray] | np.ndarray,
        *,
        duration: float | None = None,
        language: str | None = None,
    ) -> Iterator[Segment]:
        self.calls += 1
        self.languages.append(language)
        return self._answer(audio, duration)

    def detect_language(self, audio: Iterable[np.ndarray] | np.ndarray) -> str | None:
        self.detections += 1
        return self._language

    def _answer(
        self, audio: Iterable[np.ndarray] | np.ndarray, duration: float | None
    ) -> Iterator[Segment]:
        length = sum(len(chunk) for chunk in chunks(audio)) / SAMPLE_RATE
        if duration is not None:
            length = min(length, duration)
        segments = self._script(length) if callable(self._script) else self._script
        yield from ordered(segments, length)
