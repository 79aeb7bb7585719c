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
    for tests that transcribe several tracks with one engine.
    """

    def __init__(self, script: Script) -> None:
        self._script = script if callable(script) else tuple(script)
        self.calls = 0

    def transcribe(
        self, audio: Iterable[np.ndarray] | np.ndarray, *, duration: float | None = None
    ) -> Iterator[Segment]:
        self.calls += 1
        return self._answer(audio, duration)

    def _answer(
        self, audio: Iterable[np.ndarray] | np.ndarray, duration: float | None
    ) -> Iterator[Segment]:
        length = sum(len(chunk) for chunk in chunks(audio)) / SAMPLE_RATE
        if duration is not None:
            length = min(length, duration)
        segments = self._script(length) if callable(self._script) else self._script
        yield from ordered(segments, length)
