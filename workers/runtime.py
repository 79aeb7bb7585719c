"""Putting the pipeline together from settings, at the edge (the app factory and the CLI).

With ``STOA_BROKER_URL`` the pipeline only sends messages, and `stoa worker` processes (any
number, on any machines sharing the broker, the catalog and object storage) do the work.
Without it, worker threads in this process do (`workers.embedded`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dramatiq.brokers.stub import StubBroker

from stoa.catalog import Catalog
from stoa.errors import StoaError
from stoa.settings import Settings
from stoa.storage import ObjectStore
from workers.actors import Actors
from workers.broker import create_broker
from workers.context import WorkerConfig, WorkerContext
from workers.embedded import InProcessWorkers
from workers.pipeline import Pipeline, Recovery

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineRuntime:
    pipeline: Pipeline
    workers: InProcessWorkers | None
    """Worker threads in this process; None when a broker server has the work."""

    @classmethod
    def from_settings(
        cls, settings: Settings, catalog: Catalog, store: ObjectStore
    ) -> PipelineRuntime:
        context = WorkerContext.open(catalog, store, WorkerConfig.from_settings(settings))
        return cls.build(context, settings.broker_url, threads=settings.worker_threads)

    @classmethod
    def build(
        cls, context: WorkerContext, broker_url: str | None, *, threads: int
    ) -> PipelineRuntime:
        broker = create_broker(
            broker_url,
            namespace=context.config.namespace,
            redis_heartbeat_timeout_s=context.config.redis_heartbeat_timeout_s,
        )
        actors = Actors(broker, context)
        workers = InProcessWorkers(broker, threads) if isinstance(broker, StubBroker) else None
        return cls(Pipeline(context.catalog, actors), workers)

    def start(self, *, recover: bool = True, strict: bool = True) -> Recovery | None:
        """Start the worker threads (if any), then send what start-up owes (``recover``).

        Not ``strict`` (a web server starting): a broker or database that is away is logged
        and the server starts anyway; the next start sends what is owed.
        """
        if self.workers is not None:
            self.workers.start()
        if not recover:
            return None
        try:
            return self.pipeline.recover()
        except StoaError:
            if strict:
                raise
            logger.exception("could not send the pipeline's unfinished work; the next start will")
            return None

    def close(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        self.pipeline.actors.broker.close()
