"""The engine interface: 16 kHz mono audio in, segments with word timings out.

The pipeline and the CLI see only ``Engine`` and ``TranscribeOptions``; faster-whisper sits behind
``create_engine`` (``transcribe/whisper.py``), and ``transcribe/stub.py`` stands in for it in tests
about what happens after recognition.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from transcribe.segments import Segment
from transcribe.vad import DEFAULT_MIN_SILENCE_MS, DEFAULT_SPEECH_PAD_MS, VadOptions

if TYPE_CHECKING:
    from stoa.settings import Settings

# Whisper's fallback: decode again, hotter, when the output looks like a loop or is improbable.
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class Engine(Protocol):
    """Speech recognition on one track."""

    def transcribe(
        self,
        audio: Iterable[np.ndarray] | np.ndarray,
        *,
        duration: float | None = None,
        language: str | None = None,
    ) -> Iterator[Segment]:
        """Segments of ``audio`` (16 kHz mono float32: one array, or chunks read lazily).

        Times are seconds from the start of the audio, in order, never overlapping, and within
        the audio (or within ``duration`` when given). Chunks are read as recognition goes, so a
        long track is transcribed in constant memory. ``language``, when given, is the speech's
        (a piece of a track whose language was detected once for the whole: `detect_language`);
        otherwise the options' language, or one detected on the audio's first speech.
        """
        ...

    def detect_language(self, audio: Iterable[np.ndarray] | np.ndarray) -> str | None:
        """The language of the audio's first speech, as ``transcribe`` would detect it.

        None when the audio holds no speech or the model knows one language only. Reads only
        as far as the speech it needs, so the start of a long track is enough.
        """
        ...


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe; ``from_settings`` builds them from Stoa's settings."""

    model: str
    """A model name (``small``, ``large-v3``, a Hugging Face id), downloaded on first use into
    the Hugging Face cache, or a local directory holding a CTranslate2 Whisper model."""
    device: str = "auto"
    """``cpu``, ``cuda``, or ``auto``: CUDA when a GPU is visible."""
    compute_type: str = "auto"
    """CTranslate2 compute type; ``auto`` is ``int8`` on CPU and ``float16`` on CUDA."""
    beam_size: int = 5
    language: str | None = None
    """A language code (``en``), or None to detect it once, on the first speech of the track
    (the pipeline detects it before a track's pieces are recognized: `Engine.detect_language`)."""
    vad_min_silence_ms: int = DEFAULT_MIN_SILENCE_MS
    vad_speech_pad_ms: int = DEFAULT_SPEECH_PAD_MS
    word_timestamps: bool = True
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    condition_on_previous_text: bool = True
    """Give the model the previous stretch's text as context, as Whisper does between windows."""
    cpu_threads: int = 0
    """Threads for inference on CPU; 0 lets CTranslate2 choose (4, or ``OMP_NUM_THREADS``)."""
    download_root: str | None = None
    """Where named models are downloaded; default: the Hugging Face cache."""

    @property
    def vad(self) -> VadOptions:
        return VadOptions(
            min_silence_ms=self.vad_min_silence_ms, speech_pad_ms=self.vad_speech_pad_ms
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TranscribeOptions:
        """Options from Stoa's settings, with any field overridden (e.g. ``model=``)."""
        options = cls(
            model=settings.whisper_model,
            device=settings.whisper_device,
            compute_type=settings.whisper_compute_type,
            beam_size=settings.whisper_beam_size,
            language=settings.whisper_language,
            vad_min_silence_ms=settings.vad_min_silence_ms,
            vad_speech_pad_ms=settings.vad_speech_pad_ms,
        )
        return replace(options, **overrides)


def create_engine(options: TranscribeOptions) -> Engine:
    """The faster-whisper engine, its model loaded (downloaded first when it is a name).

    Raises ``ModelError`` when the model cannot be found, downloaded or loaded.
    """
    from transcribe.whisper import WhisperEngine

    return WhisperEngine.load(options)
