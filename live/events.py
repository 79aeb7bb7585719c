"""Fan-out of room events to WebSocket subscribers, one bounded queue each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from live.room import Event

QUEUE_SIZE = 256


@dataclass(eq=False)
class Subscription:
    """One subscriber's queue; ``None`` in the queue means "closed", with ``code``
    (``removed``, ``ended``, ``left``, ``slow``) and a ``reason`` in words."""

    space_id: str
    participant_id: str | None
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    reason: str = ""
    code: str = ""

    def close(self, code: str, reason: str) -> None:
        if self.code:
            return
        self.code = code
        self.reason = reason
        while True:
            try:
                self.queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()


class EventHub:
    """Subscribers per space."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    def subscribe(self, space_id: str, participant_id: str | None) -> Subscription:
        subscription = Subscription(space_id, participant_id)
        self._subscribers.setdefault(space_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.space_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.space_id]

    def connected(self, space_id: str, participant_id: str) -> bool:
        return any(s.participant_id == participant_id for s in self._subscribers.get(space_id, ()))

    def publish(self, space_id: str, events: Iterable[Event]) -> None:
        events = list(events)
        if not events:
            return
        for subscription in list(self._subscribers.get(space_id, ())):
            for event in events:
                try:
                    subscription.queue.put_nowait(event)
                except asyncio.QueueFull:
                    # A subscriber this far behind would show a wrong room; it reconnects.
                    subscription.close("slow", "too slow: reconnect for a fresh snapshot")
                    self.unsubscribe(subscription)
                    break

    def close_participant(self, space_id: str, participant_id: str, code: str, reason: str) -> None:
        for subscription in list(self._subscribers.get(space_id, ())):
            if subscription.participant_id == participant_id:
                subscription.close(code, reason)
                self.unsubscribe(subscription)

    def close_space(self, space_id: str, code: str, reason: str) -> None:
        for subscription in list(self._subscribers.pop(space_id, ())):
            subscription.close(code, reason)
