"""Speech clips joined into batches for the model, and the model's times taken back to the track.

The model hears a batch as one stretch of audio: the track's speech clips back to back, silence
left out. Its times are on that joined clock; ``SpeechBatch.place`` maps them to the track's, word
by word, and splits a segment whose words fall in two clips, so no segment spans the silence
between them (a caption over silence would show text while nobody speaks).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from transcribe.audio import SAMPLE_RATE
from transcribe.segments import Segment, Word, clean_text
from transcribe.vad import SpeechClip

BATCH_SECONDS = 30.0  # one Whisper window


@dataclass(frozen=True)
class SpeechBatch:
    clips: tuple[SpeechClip, ...]

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate([clip.audio for clip in self.clips])

    @property
    def duration(self) -> float:
        return sum(len(clip.audio) for clip in self.clips) / SAMPLE_RATE

    def _joined_ends(self) -> list[float]:
        ends, total = [], 0
        for clip in self.clips:
            total += len(clip.audio)
            ends.append(total / SAMPLE_RATE)
        return ends

    def clip_at(self, time: float, *, end: bool = False) -> int:
        """The clip holding a joined-clock time; at a seam, the later clip, or the earlier for
        an end time."""
        ends = self._joined_ends()
        index = bisect.bisect_left(ends, time) if end else bisect.bisect_right(ends, time)
        return min(index, len(self.clips) - 1)

    def to_track(self, time: float, clip: int) -> float:
        """A joined-clock time as track time, kept inside the given clip."""
        ends = self._joined_ends()
        joined_start = ends[clip - 1] if clip else 0.0
        region = self.clips[clip].region
        return region.start + min(max(time - joined_start, 0.0), region.end - region.start)

    def place(self, segment: Segment) -> list[Segment]:
        """A segment on the joined clock as one or more segments on the track's clock."""
        if not segment.words:
            first, last = self.clip_at(segment.start), self.clip_at(segment.end, end=True)
            start = self.to_track(segment.start, first)
            end = self.to_track(segment.end, max(first, last))
            return [Segment(start, end, clean_text(segment.text))]
        groups: list[tuple[int, list[Word]]] = []
        for word in segment.words:
            # A word belongs to the clip holding its middle (faster-whisper's restore rule).
            clip = self.clip_at((word.start + word.end) / 2)
            placed = Word(
                self.to_track(word.start, clip),
                self.to_track(word.end, clip),
                word.text,
                word.probability,
            )
            if groups and groups[-1][0] == clip:
                groups[-1][1].append(placed)
            else:
                groups.append((clip, [placed]))
        if len(groups) == 1:
            words = groups[0][1]
            return [Segment(words[0].start, words[-1].end, clean_text(segment.text), tuple(words))]
        return [
            Segment(
                words[0].start,
                words[-1].end,
                clean_text(" ".join(w.text for w in words)),
                tuple(words),
            )
            for _, words in groups
        ]


def batches(clips: Iterable[SpeechClip], seconds: float = BATCH_SECONDS) -> Iterator[SpeechBatch]:
    """Consecutive clips joined up to ``seconds`` of speech (a longer clip goes alone)."""
    held: list[SpeechClip] = []
    samples = 0
    limit = int(seconds * SAMPLE_RATE)
    for clip in clips:
        if held and samples + len(clip.audio) > limit:
            yield SpeechBatch(tuple(held))
            held, samples = [], 0
        held.append(clip)
        samples += len(clip.audio)
    if held:
        yield SpeechBatch(tuple(held))
