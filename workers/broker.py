"""The message broker: RabbitMQ or Redis by URL, or dramatiq's in-process stub without one.

Brokers are made here and handed to `workers.actors.Actors`; nothing in the workers reads or sets
dramatiq's global broker except the entry point of `stoa worker` (`workers.entry`), which
dramatiq's own CLI requires.
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from stoa.errors import ConfigurationError

# What brokers raise when they cannot take a message; translated to `BrokerError` when sending.
BROKER_ERRORS: tuple[type[Exception], ...] = (dramatiq.errors.BrokerError, redis.RedisError)


def create_broker(url: str | None, *, namespace: str = "stoa") -> dramatiq.Broker:
    """A broker for ``url`` (``amqp://``, ``redis://``), or an in-process one for None.

    No connection is made until the first message is sent or consumed.
    """
    broker: dramatiq.Broker
    if url is None:
        broker = StubBroker()
    elif url.startswith(("amqp://", "amqps://")):
        # Publisher confirms: a message counts as sent once RabbitMQ has it.
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith(("redis://", "rediss://")):
        broker = RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    else:
        raise ConfigurationError(f"unsupported broker URL scheme in {url.split(':', 1)[0]!r}")
    # The stages read their message's id, which owns their part of the run.
    broker.add_middleware(CurrentMessage())
    return broker


def is_in_process(broker: dramatiq.Broker) -> bool:
    """Whether the broker's messages live only in this process (and die with it)."""
    return isinstance(broker, StubBroker)
