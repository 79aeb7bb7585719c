"""Fixtures for transcription tests: no hub, tiny random models, real speech."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transcribe.tiny_model import TinyDimensions, write_tiny_model


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Never reach the Hugging Face hub from a test: a model name would download. The hub reads
    # the variable once, when imported, so its constant is set too.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Whisper model that writes lowercase words (see ``tiny_model.py``)."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def noise_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Whisper model that writes any bytes, with timestamps past the audio."""
    return write_tiny_model(
        tmp_path_factory.mktemp("noise-whisper"), TinyDimensions(readable=False)
    )


@pytest.fixture(scope="session")
def multilingual_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny readable Whisper model with the multilingual vocabulary; it detects German."""
    return write_tiny_model(
        tmp_path_factory.mktemp("multilingual-whisper"), TinyDimensions(multilingual=True)
    )
