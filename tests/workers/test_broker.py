"""Brokers as `create_broker` makes them; no server is reached (none is until a message moves)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import DEFAULT_HEARTBEAT_TIMEOUT, MAINTENANCE_SCALE, RedisBroker
from dramatiq.brokers.stub import StubBroker

from stoa.settings import Settings
from workers.broker import create_broker, redis_maintenance_chance
from workers.context import WorkerConfig

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_redis_keeps_dramatiqs_heartbeat_timeout_by_default() -> None:
    broker = create_broker(REDIS_URL, namespace="stoa-unit")
    assert isinstance(broker, RedisBroker)
    assert broker.namespace == "stoa-unit"
    assert broker.heartbeat_timeout == DEFAULT_HEARTBEAT_TIMEOUT == 60_000
    # One maintenance pass in six polls: a dead worker's messages come back ~5 s after 60 s.
    assert broker.maintenance_chance == round(MAINTENANCE_SCALE / 6)


@pytest.mark.parametrize(
    ("timeout_s", "chance"),
    [(5, MAINTENANCE_SCALE), (10, MAINTENANCE_SCALE), (20, MAINTENANCE_SCALE // 2)],
)
def test_a_shorter_redis_timeout_runs_maintenance_more_often(timeout_s: int, chance: int) -> None:
    broker = create_broker(REDIS_URL, redis_heartbeat_timeout_s=timeout_s)
    assert isinstance(broker, RedisBroker)
    assert broker.heartbeat_timeout == timeout_s * 1000
    assert broker.maintenance_chance == redis_maintenance_chance(timeout_s) == chance


def test_rabbitmq_and_the_stub_ignore_the_redis_timeout() -> None:
    rabbitmq = create_broker("amqp://guest:guest@127.0.0.1:5672/%2F", redis_heartbeat_timeout_s=5)
    assert isinstance(rabbitmq, RabbitmqBroker)
    assert isinstance(create_broker(None, redis_heartbeat_timeout_s=5), StubBroker)


def test_the_timeout_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STOA_REDIS_HEARTBEAT_TIMEOUT_SECONDS", "7")
    settings = Settings(data_dir=tmp_path)
    assert settings.redis_heartbeat_timeout_seconds == 7
    assert WorkerConfig.from_settings(settings).redis_heartbeat_timeout_s == 7
    monkeypatch.delenv("STOA_REDIS_HEARTBEAT_TIMEOUT_SECONDS")
    assert Settings(data_dir=tmp_path).redis_heartbeat_timeout_seconds == 60
