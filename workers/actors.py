"""The stages as Dramatiq actors, declared on the broker they are given.

Dramatiq's ``@dramatiq.actor`` decorator declares an actor on the global broker when a module
is imported, so the broker would have to exist before the import. Here actors are made by
`Actors` instead, from a broker and a `WorkerContext` passed in: the web app, the CLI and the
tests each build their own, and only `workers.entry` (for dramatiq's CLI) sets the global one.

Every actor takes ``(space_id, run, part)``: ids, never audio. Before working it claims its part
in the catalog with its message id (`Catalog.begin_part`); a message of an older run, of a failed
run, for a part already done, or superseded by a newer message, acknowledges and does nothing.
After the work it sends the parts its completion released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import dramatiq
from dramatiq.middleware import CurrentMessage, Retries

from stoa.catalog import Claim, Completion, QueuedPart
from workers.broker import BROKER_ERRORS
from workers.context import WorkerContext
from workers.errors import BrokerError, PermanentError
from workers.middleware import RunFailures
from workers.plan import Stage
from workers.stages import STAGES, Job

logger = logging.getLogger(__name__)

StageWork = Callable[[WorkerContext, Job], Completion]
StageActor = dramatiq.Actor[[str, int, str], None]

_MINUTE_MS = 60_000
# Dramatiq's default limit is 10 minutes a message: too short for an hour of recognition on a
# CPU. A part that runs past its limit is interrupted and retried.
TIME_LIMITS_MS = {
    Stage.PREPARE: 60 * _MINUTE_MS,
    Stage.TRANSCRIBE: 24 * 60 * _MINUTE_MS,
    Stage.REPLAY: 4 * 60 * _MINUTE_MS,
    Stage.CAPTIONS: 10 * _MINUTE_MS,
    Stage.INDEX: 10 * _MINUTE_MS,
    Stage.PUBLISH: 10 * _MINUTE_MS,
}


def actor_name(stage: Stage) -> str:
    return f"stoa_{stage}"


class Actors:
    """The pipeline's actors on ``broker``, working with ``context``."""

    def __init__(self, broker: dramatiq.Broker, context: WorkerContext) -> None:
        self.broker = broker
        self.context = context
        names = [actor_name(stage) for stage in Stage]
        broker.add_middleware(RunFailures(context.catalog, names), before=Retries)
        self._actors = {stage: self._declare(stage, work) for stage, work in STAGES.items()}

    @property
    def queue_name(self) -> str:
        return self.context.config.namespace

    def actor(self, stage: Stage) -> StageActor:
        return self._actors[stage]

    def send(self, parts: Iterable[QueuedPart]) -> None:
        """Send a message for each released part, with the id the catalog gave it."""
        for part in parts:
            actor = self._actors[Stage(part.stage)]
            message = actor.message(part.space_id, part.run, part.name).copy(
                message_id=part.message_id
            )
            try:
                self.broker.enqueue(message)
            except BROKER_ERRORS as exc:
                raise BrokerError(f"the broker did not take the message for {part.name}") from exc
            self.context.catalog.mark_sent(part)

    def _declare(self, stage: Stage, work: StageWork) -> StageActor:
        def perform(space_id: str, run: int, part: str) -> None:
            self._perform(work, Job(space_id, run, part))

        retries = self.context.config.retries
        return dramatiq.actor(
            broker=self.broker,
            actor_name=actor_name(stage),
            queue_name=self.queue_name,
            max_retries=retries.max_retries,
            min_backoff=retries.min_backoff_ms,
            max_backoff=retries.max_backoff_ms,
            throws=(PermanentError,),
            time_limit=TIME_LIMITS_MS[stage],
        )(perform)

    def _perform(self, work: StageWork, job: Job) -> None:
        message = CurrentMessage.get_current_message()
        message_id = message.message_id if message is not None else ""
        claim = self.context.catalog.begin_part(job.space_id, job.run, job.name, message_id)
        if claim is Claim.DONE:
            # Delivered again after its work was saved: if sending what it released failed
            # then (the broker was away), this is the second chance to send it.
            self.send(self.context.catalog.unsent_parts(job.space_id, job.run))
        if claim is not Claim.PROCEED:
            logger.info(
                "skipping %s of space %s run %s: %s", job.name, job.space_id, job.run, claim
            )
            return
        logger.info("%s of space %s run %s", job.name, job.space_id, job.run)
        completion = work(self.context, job)
        self.send(completion.released)
