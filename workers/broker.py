"""The message broker: RabbitMQ or Redis by URL, or dramatiq's in-process stub without one.

Brokers are made here and handed to `workers.actors.Actors`; nothing in the workers reads or sets
dramatiq's global broker except the entry point of `stoa worker` (`workers.entry`), which
dramatiq's own CLI requires.
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from stoa.errors import ConfigurationError

# What brokers raise when they cannot take a message; translated to `BrokerError` when sending.
BROKER_ERRORS: tuple[type[Exception], ...] = (dramatiq.errors.BrokerError, redis.RedisError)

DEFAULT_REDIS_HEARTBEAT_TIMEOUT_S = 60
"""Dramatiq's own default: a minute without a heartbeat and a Redis worker counts as dead."""

# Redis keeps no connection per message as RabbitMQ does: a worker killed with kill -9 leaves
# its unacknowledged messages in a set of its own. Dramatiq's RedisBroker gives them back in a
# maintenance pass of its Lua dispatch script, which runs with a chance of `maintenance_chance`
# in MAINTENANCE_SCALE on any command (fetch, enqueue, ...; never ack or nack). The pass moves
# back to the command's queue the messages that the workers silent for `heartbeat_timeout`
# took from that queue (every command of a worker is its heartbeat), and drops dead letters
# older than `dead_message_ttl` (left at Dramatiq's 7 days).
#
# Dramatiq's chance, 1 in 1,000, suits thousands of short messages a second. A Stoa worker with
# a free thread polls the queue about once a second (its delay-queue consumer does even when
# busy, which keeps its heartbeat going), so with that chance a dead worker's part would wait a
# quarter of an hour after the timeout. Here the chance is one poll in a tenth of the timeout's
# seconds (1 in 6 for 60 s; every poll up to 10 s): redelivery follows the timeout by about a
# tenth of it. A pass costs two ZRANGEBYSCOREs on small sorted sets; for a dead worker also an
# SMEMBERS and a KEYS over the database, until its sets are gone (a pass on each queue). That
# is nothing beside parts that take minutes.
_POLLS_PER_SECOND = 1.0
_REDELIVERY_DELAY_FRACTION = 0.1


def redis_maintenance_chance(heartbeat_timeout_s: float) -> int:
    """Dramatiq's `maintenance_chance` (in MAINTENANCE_SCALE) for this heartbeat timeout."""
    polls = heartbeat_timeout_s * _REDELIVERY_DELAY_FRACTION * _POLLS_PER_SECOND
    return round(MAINTENANCE_SCALE / max(polls, 1.0))


def create_broker(
    url: str | None,
    *,
    namespace: str = "stoa",
    redis_heartbeat_timeout_s: float = DEFAULT_REDIS_HEARTBEAT_TIMEOUT_S,
) -> dramatiq.Broker:
    """A broker for ``url`` (``amqp://``, ``redis://``), or an in-process one for None.

    ``redis_heartbeat_timeout_s``: on Redis, how long a worker sends nothing before its
    unacknowledged messages go back to the queue (RabbitMQ gives them back when the worker's
    connection closes). No connection is made until the first message is sent or consumed.
    """
    broker: dramatiq.Broker
    if url is None:
        broker = StubBroker()
    elif url.startswith(("amqp://", "amqps://")):
        # Publisher confirms: a message counts as sent once RabbitMQ has it.
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    elif url.startswith(("redis://", "rediss://")):
        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=namespace,
            heartbeat_timeout=round(redis_heartbeat_timeout_s * 1000),
            maintenance_chance=redis_maintenance_chance(redis_heartbeat_timeout_s),
        )
    else:
        raise ConfigurationError(f"unsupported broker URL scheme in {url.split(':', 1)[0]!r}")
    # The stages read their message's id, which owns their part of the run.
    broker.add_middleware(CurrentMessage())
    return broker


def is_in_process(broker: dramatiq.Broker) -> bool:
    """Whether the broker's messages live only in this process (and die with it)."""
    return isinstance(broker, StubBroker)
