"""The faster-whisper engine: VAD on the stream, the model on batches of speech.

A track is read chunk by chunk; Silero VAD (``transcribe/vad.py``) cuts its speech into clips and
lets silence go; clips are joined into batches of up to 30 s of speech for the model, whose times
are mapped back to the track (``transcribe/speech_batch.py``) and kept in order and inside the
audio (``transcribe/timing.py``). Memory is one batch, whatever the track's length.

Without a language, the first batch's is detected and kept for the rest of the track.
``detect_language`` detects it apart, on the first few batches, as the pipeline does once for a
track recognized in pieces (each piece would otherwise detect it on its own first speech).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim

from transcribe.audio import chunks
from transcribe.engine import TranscribeOptions
from transcribe.errors import ModelError, RecognitionError
from transcribe.segments import Segment, Word
from transcribe.speech_batch import SpeechBatch, batches
from transcribe.timing import ordered
from transcribe.vad import speech_clips

# faster-whisper logs each call's duration at INFO; it is called once per batch of speech here.
logging.getLogger("faster_whisper").setLevel(logging.WARNING)

_PROMPT_CHARACTERS = 200  # of the previous batch's text, given as context to the next
_PROMPT_RESET_TEMPERATURE = 0.5  # faster-whisper's: text decoded this hot is no good context
# Batches of speech (30 s each at most) that language detection may read: the first decides when
# its language is clear (faster-whisper's threshold), else the most frequent of them. More than
# one, so a short or unclear first stretch ("hello?") does not decide a whole track alone.
_LANGUAGE_BATCHES = 3


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto``: int8 on CPU, float16 on CUDA (the fastest that keeps Whisper's accuracy)."""
    try:
        supported = ctranslate2.get_supported_compute_types(device)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"device {device!r} is not usable: {exc}") from exc
    if compute_type == "auto":
        preferred = "float16" if device == "cuda" else "int8"
        return preferred if preferred in supported else "float32"
    if compute_type not in supported and compute_type != "default":
        raise ModelError(
            f"compute type {compute_type!r} is not supported on {device}; "
            f"choose one of {', '.join(sorted(supported))}"
        )
    return compute_type


def model_location(model: str) -> str:
    """A local directory as it is; a name or Hugging Face id for faster-whisper to download.

    Something written as a path (absolute, ``./``, ``~``) must be an existing directory: a typo
    there must not turn into a download attempt.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    if model.startswith((os.sep, ".", "~")) or path.is_absolute():
        raise ModelError(f"no model directory at {model}")
    return model


class WhisperEngine:
    """``Engine`` on a faster-whisper ``WhisperModel``."""

    def __init__(self, model: WhisperModel, options: TranscribeOptions) -> None:
        self.model = model
        self.options = options

    @classmethod
    def load(cls, options: TranscribeOptions) -> WhisperEngine:
        device = resolve_device(options.device)
        compute_type = resolve_compute_type(options.compute_type, device)
        location = model_location(options.model)
        try:
            model = WhisperModel(
                location,
                device=device,
                compute_type=compute_type,
                cpu_threads=options.cpu_threads,
                download_root=options.download_root,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(
                f"could not load the Whisper model {options.model!r} "
                f"({device}, {compute_type}): {exc}"
            ) from exc
        return cls(model, options)

    def transcribe(
        self,
        audio: Iterable[np.ndarray] | np.ndarray,
        *,
        duration: float | None = None,
        language: str | None = None,
    ) -> Iterator[Segment]:
        clips = speech_clips(chunks(audio), self.options.vad)
        return ordered(self._recognize(batches(clips), language), duration)

    def detect_language(self, audio: Iterable[np.ndarray] | np.ndarray) -> str | None:
        if not self.model.model.is_multilingual:
            return None
        clips = speech_clips(chunks(audio), self.options.vad)
        speech = list(itertools.islice(batches(clips), _LANGUAGE_BATCHES))
        if not speech:
            return None
        # Each batch as the model hears it when transcribing: its own 30 s window of features.
        extractor = self.model.feature_extractor
        try:
            features = np.concatenate(
                [pad_or_trim(extractor(batch.audio), extractor.nb_max_frames) for batch in speech],
                axis=-1,
            )
            language, _probability, _all = self.model.detect_language(
                features=features, language_detection_segments=len(speech)
            )
        except (RuntimeError, ValueError) as exc:
            raise RecognitionError(f"language detection failed: {exc}") from exc
        return str(language)

    def _recognize(
        self, speech: Iterable[SpeechBatch], language: str | None = None
    ) -> Iterator[Segment]:
        language = language or self.options.language
        prompt: str | None = None
        for batch in speech:
            try:
                raw, info = self.model.transcribe(
                    batch.audio,
                    language=language,
                    beam_size=self.options.beam_size,
                    temperature=list(self.options.temperatures),
                    word_timestamps=self.options.word_timestamps,
                    condition_on_previous_text=self.options.condition_on_previous_text,
                    initial_prompt=prompt,
                    vad_filter=False,  # done on the whole stream already
                )
                found = list(raw)
            except (RuntimeError, ValueError) as exc:
                raise RecognitionError(f"recognition failed: {exc}") from exc
            # Detected once, on the first speech: a track does not change language midway,
            # and detecting it per batch could flip on a short, unclear stretch.
            language = language or info.language
            for segment in found:
                yield from batch.place(_segment(segment))
            prompt = _next_prompt(found) if self.options.condition_on_previous_text else None


def _segment(segment: Any) -> Segment:
    words = tuple(
        Word(float(w.start), float(w.end), str(w.word), float(w.probability))
        for w in segment.words or ()
    )
    return Segment(float(segment.start), float(segment.end), str(segment.text), words)


def _next_prompt(found: list[Any]) -> str | None:
    if not found or found[-1].temperature > _PROMPT_RESET_TEMPERATURE:
        return None
    text = "".join(segment.text for segment in found).strip()
    return text[-_PROMPT_CHARACTERS:] or None
