"""The real pipeline against real brokers: Redis and RabbitMQ on 127.0.0.1, the real engine.

Two speakers say espeak-ng phrases at known times, one stretch of them at once; the recorder
records them; workers consuming from the broker (threads here, `stoa worker` processes in the
kill test) process the space with the tiny random Whisper model. Its words are noise, so the
checks are on what is real: the replay's length and loudness, and where each speaker's cues lie
against where their speech was placed (VAD on real speech). Each test uses its own queue names
and removes them. A missing server skips the test, or fails it when ``CI`` is set.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dramatiq
import pika
import psutil
import pytest
import redis

from stoa.catalog import Catalog, PartState, ProcessingRecord, ProcessingState, SpaceState
from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from tests.conftest import service_missing
from tests.workers.checks import assert_one_set_of_captions, assert_replay
from tests.workers.conftest import make_context
from tests.workers.spaces import PHRASES, Placed, record_space
from workers.plan import Stage
from workers.runtime import PipelineRuntime

REDIS_URL = os.environ.get("STOA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("STOA_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

# Ann and Ben take turns, and talk at once from 10.0 s to 11.5 s.
PLACED = [
    Placed("Ann", 1.0, PHRASES[0]),
    Placed("Ben", 5.0, PHRASES[3]),
    Placed("Ann", 9.0, PHRASES[1]),
    Placed("Ben", 10.0, PHRASES[2], "en-us"),
    Placed("Ann", 14.0, PHRASES[4]),
    Placed("Ben", 18.0, PHRASES[5], "en-us"),
]
DURATION = 22.0

# Seconds without a heartbeat before the Redis broker gives a worker's messages back: the
# shortest the settings allow, so that the kill test waits seconds, not a minute.
REDIS_HEARTBEAT_TIMEOUT_S = 5


def _redis(namespace: str) -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    yield REDIS_URL
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


def _rabbitmq(namespace: str) -> Iterator[str]:
    parameters = pika.URLParameters(RABBITMQ_URL)
    parameters.socket_timeout = 3
    try:
        connection = pika.BlockingConnection(parameters)
    except pika.exceptions.AMQPError as exc:
        service_missing("RabbitMQ", exc)
    connection.close()
    yield RABBITMQ_URL
    connection = pika.BlockingConnection(parameters)
    channel = connection.channel()
    for queue in (namespace, f"{namespace}.DQ", f"{namespace}.XQ"):
        channel.queue_delete(queue)
    connection.close()


@pytest.fixture
def namespace() -> str:
    return f"stoa-test-{secrets.token_hex(4)}"


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest, namespace: str) -> Iterator[str]:
    yield from (_redis if request.param == "redis" else _rabbitmq)(namespace)


@pytest.fixture
def postgres_catalog(postgres_url: str) -> Iterator[Catalog]:
    catalog = Catalog(postgres_url)
    catalog.migrate()
    yield catalog
    catalog.close()


def test_a_spoken_space_becomes_replayable_through_the_broker(
    broker_url: str,
    namespace: str,
    sqlite_catalog: Catalog,
    store: ObjectStore,
    tiny_model: Path,
    tmp_path: Path,
) -> None:
    recorded = record_space(sqlite_catalog, store, tmp_path / "recordings", PLACED, DURATION)
    context = make_context(
        sqlite_catalog, store, tmp_path, model=str(tiny_model), namespace=namespace
    )
    runtime = PipelineRuntime.build(context, broker_url, threads=2)
    assert runtime.workers is None  # a broker server: workers consume from it
    worker = dramatiq.Worker(runtime.pipeline.actors.broker, worker_threads=2)
    worker.start()
    try:
        record = runtime.pipeline.start(recorded.space.id)
        record = runtime.pipeline.wait(recorded.space.id, record.run, timeout=240)
    finally:
        worker.stop()
        runtime.close()
    assert record.state is ProcessingState.DONE, record.error
    assert sqlite_catalog.get_space(recorded.space.id).state is SpaceState.REPLAYABLE
    cues = assert_replay(sqlite_catalog, store, recorded, tmp_path)
    assert_one_set_of_captions(sqlite_catalog, recorded.space.id, cues)
    # The stretch where both talk has a cue of each, each its own speaker's.
    both = [c for c in cues if c.start < 11.4 and c.end > 10.1]
    assert {c.speaker for c in both} == {"Ann", "Ben"}


def long_talk(seconds: float) -> list[Placed]:
    """Ann and Ben taking turns for ``seconds``: enough speech that recognition takes a while."""
    placed = []
    at, turn = 0.5, 0
    while at < seconds - 4:
        placed.append(Placed(("Ann", "Ben")[turn % 2], at, PHRASES[turn % len(PHRASES)]))
        at += 3.2
        turn += 1
    return placed


def worker_process(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``stoa worker`` with one process and one thread, as an operator would start it."""
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "stoa.cli", "worker", "--processes", "1", "--threads", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_a_worker_killed_during_transcription_leaves_one_set_of_captions(
    broker_url: str,
    namespace: str,
    postgres_url: str,
    postgres_catalog: Catalog,
    tiny_model: Path,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    catalog = postgres_catalog
    store = LocalStore(data / "objects")
    recorded = record_space(catalog, store, tmp_path / "recordings", long_talk(150), 150.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOA_")}
    env |= {
        "STOA_DATA_DIR": str(data),
        "STOA_DATABASE_URL": postgres_url,
        "STOA_BROKER_URL": broker_url,
        "STOA_BROKER_NAMESPACE": namespace,
        "STOA_REDIS_HEARTBEAT_TIMEOUT_SECONDS": str(REDIS_HEARTBEAT_TIMEOUT_S),
        "STOA_WHISPER_MODEL": str(tiny_model),
        "HF_HUB_OFFLINE": "1",
    }
    log = tmp_path / "workers.log"
    first = worker_process(env, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        # `stoa worker` starts the space: it is recorded and no run has begun.
        deadline = time.monotonic() + 120
        running = None
        while running is None:
            assert time.monotonic() < deadline, log.read_text()
            assert first.poll() is None, log.read_text()
            running = next(
                (
                    p
                    for p in catalog.parts(recorded.space.id)
                    if p.stage == Stage.TRANSCRIBE and p.state is PartState.RUNNING
                ),
                None,
            )
            time.sleep(0.02)
        for child in psutil.Process(first.pid).children(recursive=True):
            child.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed_at = datetime.now(UTC)
        killed = catalog.part(recorded.space.id, running.run, running.name)
        assert killed.state is PartState.RUNNING, "the kill came after the part was done"

        # The broker delivers the unacknowledged message again, to the next worker: RabbitMQ
        # as the killed worker's connection closed, Redis once that worker has sent nothing
        # for the heartbeat timeout.
        second = worker_process(env, log)
        record = catalog.processing(recorded.space.id)
        assert record is not None
        record = _wait_done(catalog, recorded.space.id, record.run, second, log)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    assert record.state is ProcessingState.DONE, record.error
    again = catalog.part(recorded.space.id, running.run, running.name)
    assert again.state is PartState.DONE and again.attempts == 2
    if broker_url.startswith("redis://"):
        # Given back by a maintenance pass once the killed worker's last heartbeat (at most
        # about a second before the kill) was the timeout old, and soon after: about 11 s
        # after the kill here, the second worker's start included (not Dramatiq's minutes).
        assert again.started_at is not None
        redelivered = (again.started_at - killed_at).total_seconds()
        assert REDIS_HEARTBEAT_TIMEOUT_S - 2 < redelivered < REDIS_HEARTBEAT_TIMEOUT_S + 60
    cues = assert_replay(catalog, store, recorded, tmp_path, every_phrase_covered=False)
    assert_one_set_of_captions(catalog, recorded.space.id, cues)


def _wait_done(
    catalog: Catalog, space_id: str, run: int, process: subprocess.Popen[bytes], log: Path
) -> ProcessingRecord:
    deadline = time.monotonic() + 300
    while True:
        record = catalog.processing(space_id)
        assert record is not None and record.run == run
        if record.state is not ProcessingState.RUNNING:
            return record
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
