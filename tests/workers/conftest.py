"""Fixtures for pipeline tests: a catalog and a store in a temporary folder, worker contexts,
and the tiny random Whisper model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stoa.catalog import Catalog, ProcessingRecord
from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from tests.transcribe.tiny_model import TinyDimensions, write_tiny_model
from transcribe.engine import TranscribeOptions
from workers.context import EngineCache, RetryPolicy, WorkerConfig, WorkerContext
from workers.runtime import PipelineRuntime

# Retries in tests: quick, and few.
FAST_RETRIES = RetryPolicy(max_retries=3, min_backoff_ms=20, max_backoff_ms=100)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A model name would be downloaded from the Hugging Face hub: never from a test.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    yield


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def multilingual_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with Whisper's multilingual vocabulary: it detects German in any speech."""
    return write_tiny_model(
        tmp_path_factory.mktemp("multilingual-whisper"), TinyDimensions(multilingual=True)
    )


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    """A migrated catalog on SQLite (``catalog``, from tests/conftest.py, is on both databases)."""
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog' / 'stoa.db'}")
    catalog.migrate()
    yield catalog
    catalog.close()


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return LocalStore(tmp_path / "objects")


def worker_config(tmp_path: Path, model: str, **overrides: object) -> WorkerConfig:
    return WorkerConfig(
        transcribe=TranscribeOptions(model=model, cpu_threads=1),
        scratch_dir=tmp_path / "scratch",
        retries=FAST_RETRIES,
        progress_interval_s=0.0,
        **overrides,  # type: ignore[arg-type]
    )


def make_context(
    catalog: Catalog,
    store: ObjectStore,
    tmp_path: Path,
    *,
    model: str = "scripted",
    engines: EngineCache | None = None,
    **overrides: object,
) -> WorkerContext:
    return WorkerContext.open(catalog, store, worker_config(tmp_path, model, **overrides), engines)


def process(context: WorkerContext, space_id: str, *, timeout: float = 240) -> ProcessingRecord:
    """Run the space through the in-process pipeline until its run ends and workers are idle."""
    runtime = PipelineRuntime.build(context, None, threads=2)
    try:
        runtime.start(recover=False)
        record = runtime.pipeline.start(space_id)
        record = runtime.pipeline.wait(space_id, record.run, timeout=timeout)
        assert runtime.workers is not None
        runtime.workers.join()
    finally:
        runtime.close()
    return record
