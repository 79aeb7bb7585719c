"""What ``stoa worker`` and ``stoa reprocess`` do (the CLI in ``stoa/cli.py`` parses and calls)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from stoa.catalog import Catalog, ProcessingState
from stoa.errors import ConfigurationError
from stoa.settings import Settings
from stoa.storage import open_store
from workers.runtime import PipelineRuntime

Echo = Callable[[str], None]


def run_workers(settings: Settings, *, processes: int, threads: int) -> None:
    """Become Dramatiq's worker CLI on ``STOA_BROKER_URL``; never returns.

    First, once: bring the catalog's schema up to date and send what a stop left unsent. Then
    this process is replaced by ``dramatiq workers.entry:setup`` (same pid, for supervisors),
    whose worker processes each build their actors in `workers.entry.setup`.
    """
    if settings.broker_url is None:
        raise ConfigurationError(
            "stoa worker needs STOA_BROKER_URL (amqp://... or redis://...); without a broker, "
            "`stoa up` processes recordings in its own worker threads"
        )
    catalog = Catalog(settings.catalog_url)
    try:
        catalog.migrate()
        runtime = PipelineRuntime.from_settings(settings, catalog, open_store(settings))
        try:
            runtime.start()
        finally:
            runtime.close()
    finally:
        catalog.close()
    # Parts are long: a process takes no more messages than it has threads, so an idle
    # process elsewhere gets the next one (dramatiq's default is twice as many).
    env = {**os.environ, "dramatiq_queue_prefetch": str(threads)}
    args = ["workers.entry:setup", "--processes", str(processes), "--threads", str(threads)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(sys.executable, [sys.executable, "-m", "dramatiq", *args], env)


def reprocess(settings: Settings, space_id: str, *, model: str | None, echo: Echo) -> bool:
    """Run a space through the pipeline again; with no broker, here, and wait for it.

    Its outputs are replaced in one transaction when the new run is published; until then
    the space keeps its current ones. False if the run failed.
    """
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    runtime = PipelineRuntime.from_settings(settings, catalog, open_store(settings))
    try:
        runtime.start(recover=False)
        record = runtime.pipeline.start(space_id, model=model)
        echo(
            f"run {record.run} of space {space_id} started "
            f"with model {model or settings.whisper_model}"
        )
        if runtime.workers is None:
            echo("sent to the workers on the broker; GET /api/spaces/{id} shows its progress")
            return True
        run, shown = record.run, None
        while record.run == run and record.state is ProcessingState.RUNNING:
            record = runtime.pipeline.wait(space_id, run, timeout=1.0)
            now = (record.stage, int(record.progress))
            if now != shown and record.run == run:
                echo(f"  {record.stage:<10} {now[1]:>3}%")
                shown = now
        if record.run != run:
            echo(f"run {run} was superseded by run {record.run}")
            return False
        if record.state is ProcessingState.DONE:
            echo(f"space {space_id} is replayable with run {record.run}")
            return True
        echo(f"run {record.run} failed at {record.stage}: {record.error}")
        return False
    finally:
        runtime.close()
        catalog.close()
