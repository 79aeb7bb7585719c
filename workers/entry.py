"""The entry point of `stoa worker` processes, for dramatiq's CLI.

``stoa worker`` runs ``dramatiq workers.entry:setup``: in every worker process dramatiq imports
this module and calls `setup`, which reads the settings (this is the edge, as the app factory is
for the web server), declares the actors on a broker for ``STOA_BROKER_URL`` and makes it
dramatiq's global broker, the one its CLI consumes from.
"""

from __future__ import annotations

import dramatiq

from stoa.catalog import Catalog
from stoa.errors import ConfigurationError
from stoa.settings import Settings
from stoa.storage import open_store
from workers.actors import Actors
from workers.broker import create_broker
from workers.context import WorkerConfig, WorkerContext


def setup() -> None:
    settings = Settings()
    if settings.broker_url is None:
        raise ConfigurationError("stoa worker needs STOA_BROKER_URL")
    context = WorkerContext.open(
        Catalog(settings.catalog_url), open_store(settings), WorkerConfig.from_settings(settings)
    )
    broker = create_broker(
        settings.broker_url,
        namespace=context.config.namespace,
        redis_heartbeat_timeout_s=context.config.redis_heartbeat_timeout_s,
    )
    Actors(broker, context)
    dramatiq.set_broker(broker)
