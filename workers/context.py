"""What the stages work with: the catalog, object storage, recognition engines and settings.

Built once at the edge (`stoa up`'s app factory, the `stoa worker` entry, the CLI) from Stoa's
settings and passed to the actors; nothing in the stages reads settings itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.catalog import Catalog
from stoa.search import SearchIndex, open_index
from stoa.storage import ObjectStore
from transcribe.engine import Engine, TranscribeOptions, create_engine
from transcribe.errors import ModelError
from workers.broker import DEFAULT_REDIS_HEARTBEAT_TIMEOUT_S
from workers.errors import ModelUnavailable
from workers.plan import DEFAULT_PIECE_SECONDS

if TYPE_CHECKING:
    from stoa.settings import Settings


@dataclass(frozen=True)
class RetryPolicy:
    """Dramatiq's retries for temporary failures: exponential backoff, then give up."""

    max_retries: int = 8
    min_backoff_ms: int = 5_000
    max_backoff_ms: int = 10 * 60_000


@dataclass(frozen=True)
class WorkerConfig:
    transcribe: TranscribeOptions
    """Recognition options of every run; a run may name another model (`stoa reprocess`)."""
    scratch_dir: Path
    """Local folder for the files of the job at hand; each job cleans up after itself."""
    namespace: str = "stoa"
    """Queue name (RabbitMQ) and key prefix (Redis)."""
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    progress_interval_s: float = 2.0
    """How often a long part writes its progress to the catalog."""
    redis_heartbeat_timeout_s: float = DEFAULT_REDIS_HEARTBEAT_TIMEOUT_S
    """Redis: how long a silent worker keeps its messages before they go back to the queue."""
    piece_seconds: float = DEFAULT_PIECE_SECONDS
    """The longest piece of a track one transcription part recognizes (`workers.plan`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            transcribe=TranscribeOptions.from_settings(settings),
            scratch_dir=settings.data_dir / "work",
            namespace=settings.broker_namespace,
            redis_heartbeat_timeout_s=settings.redis_heartbeat_timeout_seconds,
            piece_seconds=settings.transcribe_piece_seconds,
        )


class EngineCache:
    """Recognition engines of this process, one per set of options, loaded on first use.

    Loading a model takes seconds and its memory is large: every thread of a worker shares one,
    and uses it one at a time (CTranslate2 already spreads one transcription over the cores).
    """

    def __init__(self, factory: Callable[[TranscribeOptions], Engine] = create_engine) -> None:
        self._factory = factory
        self._engines: dict[TranscribeOptions, tuple[Engine, threading.Lock]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def engine(self, options: TranscribeOptions) -> Iterator[Engine]:
        with self._lock:
            found = self._engines.get(options)
            if found is None:
                try:
                    found = (self._factory(options), threading.Lock())
                except ModelError as exc:
                    raise ModelUnavailable(str(exc)) from exc
                self._engines[options] = found
        engine, lock = found
        with lock:
            yield engine


@dataclass(frozen=True)
class WorkerContext:
    catalog: Catalog
    store: ObjectStore
    config: WorkerConfig
    search: SearchIndex
    """The full-text index of what was said, which publishing fills."""
    engines: EngineCache = field(default_factory=EngineCache)

    @classmethod
    def open(
        cls,
        catalog: Catalog,
        store: ObjectStore,
        config: WorkerConfig,
        engines: EngineCache | None = None,
    ) -> WorkerContext:
        """A context on this catalog, with its database's full-text index (created if new)."""
        search = open_index(catalog.engine)
        search.create_schema()
        return cls(catalog, store, config, search, engines or EngineCache())

    def transcribe_options(self, model: str | None) -> TranscribeOptions:
        """The run's options: the configured ones, with the run's model if it names one."""
        if model is None:
            return self.config.transcribe
        return replace(self.config.transcribe, model=model)
