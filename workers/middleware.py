"""Dramatiq middleware that writes a failed run's reason on its space.

It runs after dramatiq's ``Retries`` has decided (it is added before it: dramatiq calls
``after_*`` hooks in reverse order): when a message is given up on, because its error is
permanent (the actor's ``throws``) or its retries are used up, the run stops in the catalog
with a reason a person can read, and the API shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from stoa.catalog import Catalog
from workers.errors import PermanentError

logger = logging.getLogger(__name__)


class RunFailures(Middleware):
    def __init__(self, catalog: Catalog, actor_names: Collection[str]) -> None:
        self.catalog = catalog
        self.actor_names = frozenset(actor_names)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed or message.actor_name not in self.actor_names:
            return
        space_id, run, name = message.args
        if isinstance(exception, PermanentError):
            reason = str(exception)
        else:
            attempts = message.options.get("retries", 0)
            reason = (
                f"{name}: gave up after {attempts} attempts; "
                f"the last failed with {type(exception).__name__}: {exception}"
            )
        logger.error("processing of space %s (run %s) stopped: %s", space_id, run, reason)
        self.catalog.fail_processing(space_id, run, name, reason)
