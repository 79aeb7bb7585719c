"""Voice activity detection on a stream: Silero VAD (in faster-whisper's wheel), chunk by chunk.

faster-whisper's ``get_speech_timestamps`` needs the whole track in memory. This module runs the
same ONNX model window by window, carrying its recurrent state and context across chunks, and the
same decision rules as a state machine, so a track of any length is cut into speech clips in
constant memory, with the same boundaries as faster-whisper would find on the whole array
(``tests/transcribe/test_vad.py`` checks both).

Defaults, and why (issue 4): faster-whisper's own (2 s of silence to split, 400 ms of padding) merge
utterances up to 2 s apart and stretch them by 0.4 s each side, so captions would sit over
silence. Measured on espeak-ng speech at known offsets (``tests/transcribe/test_vad.py``),
``min_silence_ms=500`` keeps a sentence's own pauses inside it and splits between sentences and
speakers; ``speech_pad_ms=30`` finds starts within 40 ms and ends within 90 ms (late: Silero
decides about a window after the sound stops). Without padding the ends are closer (60 ms) but
starts come up to 50 ms late, clipping the first sound of a word that Whisper needs to hear;
100 ms of padding puts ends 150 ms out, past what a caption may stray (100 ms).
Clips are split at 30 s, the length of Whisper's window, at the last short pause when there is
one, as faster-whisper's batched pipeline does; that also bounds the audio held at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from transcribe.audio import SAMPLE_RATE

WINDOW = 512  # samples per Silero VAD decision at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous window the model sees before each one
_BATCH_WINDOWS = 256  # windows per ONNX call (8 s): large enough that the call's cost vanishes

DEFAULT_MIN_SILENCE_MS = 500
DEFAULT_SPEECH_PAD_MS = 30


@dataclass(frozen=True)
class VadOptions:
    """How speech is told from silence; see the module docstring for the defaults."""

    min_silence_ms: int = DEFAULT_MIN_SILENCE_MS
    speech_pad_ms: int = DEFAULT_SPEECH_PAD_MS
    threshold: float = 0.5
    min_speech_ms: int = 0
    max_speech_s: float = 30.0


@dataclass(frozen=True)
class SpeechRegion:
    """Speech between two sample positions of the track (end exclusive)."""

    start_sample: int
    end_sample: int

    @property
    def start(self) -> float:
        return self.start_sample / SAMPLE_RATE

    @property
    def end(self) -> float:
        return self.end_sample / SAMPLE_RATE


@dataclass(frozen=True)
class SpeechClip:
    """A speech region with its samples."""

    region: SpeechRegion
    audio: np.ndarray


def speech_probabilities(audio: Iterable[np.ndarray]) -> Iterator[float]:
    """Silero's speech probability for each 32 ms window of a stream of 16 kHz chunks.

    The last partial window is padded with zeros. Equal to faster-whisper's ``SileroVADModel``
    on the whole array, which carries the same state between its own batches.
    """
    from faster_whisper.vad import get_vad_model  # loads onnxruntime: only when VAD runs

    session = get_vad_model().session
    state = np.zeros((1, 1, 128), dtype=np.float32), np.zeros((1, 1, 128), dtype=np.float32)
    context = np.zeros(_CONTEXT, dtype=np.float32)
    pending: list[np.ndarray] = []
    held = 0
    for chunk in audio:
        pending.append(chunk)
        held += len(chunk)
        if held >= _BATCH_WINDOWS * WINDOW:
            joined = np.concatenate(pending)
            usable = len(joined) - len(joined) % WINDOW
            probs, state, context = _run(session, joined[:usable], state, context)
            yield from probs
            pending, held = [joined[usable:]], len(joined) - usable
    if held:
        joined = np.concatenate(pending)
        padded = np.pad(joined, (0, (-len(joined)) % WINDOW))
        probs, state, context = _run(session, padded, state, context)
        yield from probs


def _run(
    session: Any,
    samples: np.ndarray,
    state: tuple[np.ndarray, np.ndarray],
    context: np.ndarray,
) -> tuple[list[float], tuple[np.ndarray, np.ndarray], np.ndarray]:
    windows = samples.reshape(-1, WINDOW)
    contexts = np.concatenate([context[None, :], windows[:-1, -_CONTEXT:]])
    batch = np.concatenate([contexts, windows], axis=1)
    out, h, c = session.run(None, {"input": batch, "h": state[0], "c": state[1]})
    return [float(p) for p in np.asarray(out).reshape(-1)], (h, c), windows[-1, -_CONTEXT:].copy()


class _Detector:
    """faster-whisper's ``get_speech_timestamps`` decision rules, one window at a time."""

    def __init__(self, options: VadOptions) -> None:
        pad = SAMPLE_RATE * options.speech_pad_ms / 1000
        self.threshold = options.threshold
        self.neg_threshold = max(options.threshold - 0.15, 0.01)
        self.min_speech = SAMPLE_RATE * options.min_speech_ms / 1000
        self.max_speech = SAMPLE_RATE * options.max_speech_s - WINDOW - 2 * pad
        self.min_silence = SAMPLE_RATE * options.min_silence_ms / 1000
        self.min_silence_at_max_speech = SAMPLE_RATE * 98 / 1000
        self.triggered = False
        self.start: int | None = None
        self.temp_end = self.prev_end = self.next_start = 0

    def push(self, position: int, prob: float) -> tuple[int, int] | None:
        """Feed the window at ``position``; return a raw (unpadded) speech span it closed."""
        closed: tuple[int, int] | None = None
        if prob >= self.threshold and self.temp_end:
            self.temp_end = 0
            if self.next_start < self.prev_end:
                self.next_start = position
        if prob >= self.threshold and not self.triggered:
            self.triggered = True
            self.start = position
            return None
        if self.triggered and self.start is not None and position - self.start > self.max_speech:
            if self.prev_end:
                closed = (self.start, self.prev_end)
                if self.next_start < self.prev_end:
                    self.triggered = False
                    self.start = None
                else:
                    self.start = self.next_start
                self.prev_end = self.next_start = self.temp_end = 0
            else:
                closed = (self.start, position)
                self.start = None
                self.prev_end = self.next_start = self.temp_end = 0
                self.triggered = False
                return closed
        if prob < self.neg_threshold and self.triggered and self.start is not None:
            if not self.temp_end:
                self.temp_end = position
            if position - self.temp_end > self.min_silence_at_max_speech:
                self.prev_end = self.temp_end
            if position - self.temp_end < self.min_silence:
                return closed
            if self.temp_end - self.start > self.min_speech:
                closed = (self.start, self.temp_end)
            self.start = None
            self.prev_end = self.next_start = self.temp_end = 0
            self.triggered = False
        return closed

    def finish(self, total: int) -> tuple[int, int] | None:
        if self.start is not None and total - self.start > self.min_speech:
            return (self.start, total)
        return None


def speech_regions(
    audio: Iterable[np.ndarray], options: VadOptions | None = None
) -> Iterator[SpeechRegion]:
    """The padded speech regions of a stream, in order, each as soon as it is final."""
    for clip in _speech(audio, options or VadOptions(), keep_audio=False):
        yield clip.region


def speech_clips(
    audio: Iterable[np.ndarray], options: VadOptions | None = None
) -> Iterator[SpeechClip]:
    """The speech regions of a stream with their samples; silence is read and let go."""
    yield from _speech(audio, options or VadOptions(), keep_audio=True)


def _speech(
    audio: Iterable[np.ndarray], options: VadOptions, *, keep_audio: bool
) -> Iterator[SpeechClip]:
    pad = int(SAMPLE_RATE * options.speech_pad_ms / 1000)
    buffer = _Buffer(keep_audio)
    detector = _Detector(options)
    # A closed region waits here, its start final, its end not yet padded: it shares the silence
    # with the next region when less than two paddings separate them (faster-whisper's rule).
    pending: tuple[int, int] | None = None

    def settle(end: int) -> SpeechClip:
        nonlocal pending
        assert pending is not None
        clip = buffer.clip(SpeechRegion(pending[0], min(end, buffer.total)))
        pending = None
        return clip

    def close(raw: tuple[int, int]) -> Iterator[SpeechClip]:
        nonlocal pending
        start = raw[0] - pad
        if pending is not None:
            silence = raw[0] - pending[1]
            if silence < 2 * pad:
                start = raw[0] - silence // 2
                yield settle(pending[1] + silence // 2)
            else:
                yield settle(pending[1] + pad)
        pending = (max(0, start), raw[1])

    for index, prob in enumerate(speech_probabilities(buffer.feed(audio))):
        position = index * WINDOW
        raw = detector.push(position, prob)
        if raw is not None:
            yield from close(raw)
        # The next region starts where the open one did, or no sooner than the next window: once
        # that is two paddings past the pending region's end, its padding is settled.
        earliest_start = position + WINDOW if detector.start is None else detector.start
        if pending is not None and earliest_start - pending[1] >= 2 * pad:
            yield settle(pending[1] + pad)
        earliest = position + WINDOW - pad
        if pending is not None:
            earliest = min(earliest, pending[0])
        if detector.start is not None:
            earliest = min(earliest, detector.start - pad)
        buffer.release_before(earliest)
    raw = detector.finish(buffer.total)
    if raw is not None:
        yield from close(raw)
    if pending is not None:
        yield settle(pending[1] + pad)


class _Buffer:
    """The recent samples of the stream, from the earliest one a region may still need."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.chunks: list[np.ndarray] = []
        self.base = 0  # stream position of the first sample held
        self.total = 0  # samples read so far

    def feed(self, audio: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for chunk in audio:
            self.total += len(chunk)
            if self.keep:
                self.chunks.append(chunk)
            yield chunk

    def release_before(self, position: int) -> None:
        while self.chunks and self.base + len(self.chunks[0]) <= position:
            self.base += len(self.chunks.pop(0))

    def clip(self, region: SpeechRegion) -> SpeechClip:
        if not self.keep:
            return SpeechClip(region, np.zeros(0, dtype=np.float32))
        held = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.float32)
        start = region.start_sample - self.base
        samples = held[max(0, start) : region.end_sample - self.base]
        return SpeechClip(region, samples.copy())
