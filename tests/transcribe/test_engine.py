"""The faster-whisper engine, run for real with tiny random models on real speech.

The model's words are noise; what is checked is what is real: where speech is (VAD on espeak-ng
phrases at known times), the timing invariants, clamping to the audio, and the model handling.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from stoa.settings import Settings
from tests.transcribe.speech import PHRASES, Phrase, place, write_wav
from transcribe.audio import SAMPLE_RATE, decode
from transcribe.engine import TranscribeOptions, create_engine
from transcribe.errors import ModelError
from transcribe.segments import Segment
from transcribe.whisper import WhisperEngine, model_location, resolve_compute_type

PLACED = [
    Phrase(0.8, PHRASES[0]),
    Phrase(5.0, PHRASES[1], "en-us"),
    Phrase(10.2, PHRASES[2]),
    Phrase(14.5, PHRASES[3], "en-us"),
    Phrase(40.0, PHRASES[0]),  # after 30 s of speech: a second batch
]
DURATION = 44.0


@pytest.fixture(scope="module")
def track() -> np.ndarray:
    return place(PLACED, DURATION)


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> WhisperEngine:
    return WhisperEngine.load(TranscribeOptions(model=str(tiny_model)))


def assert_monotonic(segments: list[Segment], duration: float) -> None:
    """faster-whisper's test_monotonic_timestamps, and words inside their segment."""
    for segment in segments:
        assert 0 <= segment.start < segment.end <= duration
        previous = segment.start
        for word in segment.words:
            assert previous <= word.start <= word.end <= segment.end
            previous = word.end
    for before, after in zip(segments, segments[1:], strict=False):
        assert before.end <= after.start


def test_end_to_end_on_a_generated_file(engine: WhisperEngine, track: np.ndarray, tmp_path: Path):
    path = write_wav(tmp_path / "talk.wav", track)
    segments = list(engine.transcribe(decode(path)))
    assert segments
    assert_monotonic(segments, DURATION)
    assert all(segment.words for segment in segments)
    assert all(segment.text for segment in segments)
    # Every segment lies where a phrase sounds (VAD padding and lag: 100 ms), none in silence,
    # and every phrase has words.
    sounds = [p.sound for p in PLACED]
    for segment in segments:
        assert any(s - 0.1 <= segment.start and segment.end <= e + 0.1 for s, e in sounds), segment
    for start, end in sounds:
        assert any(start - 0.1 <= w.start <= end + 0.1 for s in segments for w in s.words)


def test_a_segment_never_spans_the_silence_between_two_stretches(
    engine: WhisperEngine, track: np.ndarray
) -> None:
    # The first four phrases go to the model as one batch, joined without their silences; its
    # single segment comes back split at each seam.
    segments = list(engine.transcribe(track))
    first_batch = [s for s in segments if s.start < 30]
    assert len(first_batch) >= 4


def test_array_and_stream_give_the_same_segments(engine: WhisperEngine, track: np.ndarray):
    as_array = list(engine.transcribe(track))
    as_stream = list(engine.transcribe(track[i : i + 777] for i in range(0, len(track), 777)))
    assert as_array == as_stream


def test_noise_model_segments_are_clamped_inside_the_audio(noise_model: Path, track: np.ndarray):
    # This model writes any bytes and puts timestamps anywhere in its 30 s window, past the
    # audio's end too.
    engine = WhisperEngine.load(TranscribeOptions(model=str(noise_model), temperatures=(0.0,)))
    raw_ends: list[float] = []
    batch_lengths: list[float] = []
    transcribe = engine.model.transcribe

    def spy(audio: np.ndarray, **kwargs: object) -> tuple[list[object], object]:
        found, info = transcribe(audio, **kwargs)
        found = list(found)
        raw_ends.extend(s.end for s in found)
        batch_lengths.append(len(audio) / SAMPLE_RATE)
        return found, info

    engine.model.transcribe = spy  # type: ignore[method-assign]
    short = track[: int(9.0 * SAMPLE_RATE)]
    segments = list(engine.transcribe(short))
    assert max(raw_ends) > max(batch_lengths)  # the model did say times past its audio
    assert_monotonic(segments, 9.0)
    for segment in segments:
        assert not any(unicodedata.category(c) == "Cc" for c in segment.text)
        assert "\n" not in segment.text
    clamped = list(engine.transcribe(short, duration=4.0))
    assert_monotonic(clamped, 4.0)


def test_silence_has_no_segments(engine: WhisperEngine) -> None:
    assert list(engine.transcribe(np.zeros(20 * SAMPLE_RATE, dtype=np.float32))) == []
    assert list(engine.transcribe(iter([]))) == []


def test_a_multilingual_model_detects_the_language_of_the_first_speech(
    multilingual_model: Path, track: np.ndarray, tmp_path: Path
) -> None:
    engine = WhisperEngine.load(TranscribeOptions(model=str(multilingual_model)))
    path = write_wav(tmp_path / "talk.wav", track)
    assert engine.detect_language(decode(path)) == "de"
    assert engine.detect_language(track) == "de"


def test_no_language_is_detected_without_speech_or_on_an_english_only_model(
    engine: WhisperEngine, multilingual_model: Path, track: np.ndarray
) -> None:
    multilingual = WhisperEngine.load(TranscribeOptions(model=str(multilingual_model)))
    assert multilingual.detect_language(np.zeros(20 * SAMPLE_RATE, dtype=np.float32)) is None
    assert multilingual.detect_language(iter([])) is None
    assert engine.detect_language(track) is None  # English-only: nothing to detect


def talk(phrases: int) -> Iterator[np.ndarray]:
    """Phrases one after another, each in 3 s (2.7 s of it speech)."""
    phrase = place([Phrase(0.2, PHRASES[0])], 3.0)
    for _ in range(phrases):
        yield phrase


def test_language_detection_reads_only_the_first_speech(multilingual_model: Path) -> None:
    # Ten minutes of talk: detection stops after its few batches of speech.
    engine = WhisperEngine.load(TranscribeOptions(model=str(multilingual_model)))
    read: list[np.ndarray] = []
    assert engine.detect_language(read.append(c) or c for c in talk(200)) == "de"
    assert sum(len(c) for c in read) / SAMPLE_RATE < 120  # 3 x 30 s of speech, not 600 s


def test_a_given_language_is_the_one_recognition_uses(multilingual_model: Path) -> None:
    engine = WhisperEngine.load(TranscribeOptions(model=str(multilingual_model)))
    languages: list[object] = []
    transcribe = engine.model.transcribe

    def spy(audio: np.ndarray, **kwargs: object) -> tuple[object, object]:
        languages.append(kwargs["language"])
        return transcribe(audio, **kwargs)  # type: ignore[no-any-return]

    engine.model.transcribe = spy  # type: ignore[method-assign]
    track = np.concatenate(list(talk(16)))  # over 40 s of speech: two batches
    assert list(engine.transcribe(track, language="fr"))
    assert languages == ["fr", "fr"]
    languages.clear()
    # Without one: detected on the first batch ("de"), kept for the next.
    assert list(engine.transcribe(track))
    assert languages == [None, "de"]


def test_create_engine_loads_a_local_folder(tiny_model: Path) -> None:
    engine = create_engine(TranscribeOptions(model=str(tiny_model), device="cpu"))
    assert isinstance(engine, WhisperEngine)
    assert engine.model.model.device == "cpu"


def test_a_path_that_is_not_a_folder_is_refused_without_download(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no model directory"):
        create_engine(TranscribeOptions(model=str(tmp_path / "missing")))
    with pytest.raises(ModelError, match="no model directory"):
        model_location("./missing-model")


def test_a_name_not_in_the_cache_fails_offline_as_model_error(tmp_path: Path) -> None:
    options = TranscribeOptions(model="tiny", download_root=str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="tiny"):
        create_engine(options)


def test_compute_type_is_int8_on_cpu_and_overridable() -> None:
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("float32", "cpu") == "float32"
    with pytest.raises(ModelError, match="not supported"):
        resolve_compute_type("bfloat99", "cpu")


def test_options_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        whisper_model="medium",
        whisper_beam_size=2,
        whisper_language="fr",
        vad_min_silence_ms=700,
        vad_speech_pad_ms=10,
    )
    options = TranscribeOptions.from_settings(settings, model="large-v3")
    assert options.model == "large-v3"
    assert (options.beam_size, options.language) == (2, "fr")
    assert (options.vad.min_silence_ms, options.vad.speech_pad_ms) == (700, 10)
    assert (options.device, options.compute_type) == ("auto", "auto")
