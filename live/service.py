"""The live service: spaces, their rooms, the relay and the event hub, behind one interface.

The API calls it with an authenticated participant; it checks the action against the room,
persists what lasts (roles, removals, space state) in the catalog, tells the relay about the
stage and broadcasts the events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiortc.rtp import RtcpSrPacket, RtpPacket

from live.errors import Conflict, Forbidden, Gone, NotFound, Removed, Unauthorized
from live.events import EventHub, Subscription
from live.relay import Relay, RelayConfig
from live.room import AudioState, Event, Member, ReactionLimit, Room
from live.tokens import TokenSigner
from recorder.recorder import Recorder
from stoa import errors as stoa_errors
from stoa.catalog import (
    Catalog,
    ParticipantRecord,
    Role,
    SpaceRecord,
    SpaceState,
    TrackRecord,
)

logger = logging.getLogger(__name__)

LEVEL_INTERVAL = 0.25
_OVER = frozenset({SpaceState.ENDED, SpaceState.RECORDED, SpaceState.REPLAYABLE})
# Levels move in steps this big, so a steady voice does not flood the sockets.
LEVEL_STEP = 8


@dataclass(frozen=True)
class Caller:
    """An authenticated participant of a space."""

    space: SpaceRecord
    member: Member


class LiveService:
    def __init__(
        self,
        catalog: Catalog,
        signer: TokenSigner,
        relay_config: RelayConfig,
        reaction_limit: ReactionLimit | None = None,
        recorder: Recorder | None = None,
        on_recorded: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        # Told a space's id once its recording is archived (the pipeline starts processing it);
        # called in a thread, as it may wait on the database and the broker.
        self.on_recorded = on_recorded
        self.signer = signer
        self.hub = EventHub()
        self.relay = Relay(relay_config, self)
        self.recorder = recorder
        self._reaction_limit = reaction_limit or ReactionLimit()
        self._rooms: dict[str, Room] = {}
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._peaks: dict[str, dict[str, int]] = {}
        self._level_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.recorder is not None:
            recovered = await asyncio.to_thread(self.recorder.recover)
            if recovered:
                logger.warning("recovered %d space(s) left live by a crash", len(recovered))
        self._level_task = asyncio.create_task(self._flush_levels())

    async def close(self) -> None:
        if self._level_task is not None:
            self._level_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._level_task
        await self.relay.close()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.recorder is not None:
            self.recorder.close()

    # Spaces

    async def create_space(
        self,
        *,
        title: str,
        host_name: str,
        scheduled_for: datetime | None,
        device_id: str,
        record: bool = True,
    ) -> tuple[SpaceRecord, ParticipantRecord, str]:
        if scheduled_for is not None and scheduled_for <= datetime.now(UTC):
            raise Conflict("scheduled_for is in the past; leave it out to go live now")
        space, host = await asyncio.to_thread(
            self.catalog.create_space,
            title=title,
            host_name=host_name,
            scheduled_for=scheduled_for,
            host_device=device_id,
            record=record,
        )
        token = self.signer.issue(
            participant_id=host.id,
            space_id=space.id,
            valid_from=scheduled_for.timestamp() if scheduled_for else 0.0,
            host=True,
        )
        return space, host, token

    async def space(self, space_id: str) -> SpaceRecord:
        try:
            return await asyncio.to_thread(self.catalog.get_space, space_id)
        except stoa_errors.NotFound as exc:
            raise NotFound(f"there is no space {space_id!r}") from exc

    async def list_spaces(self, states: Sequence[SpaceState], limit: int) -> list[SpaceRecord]:
        return await asyncio.to_thread(self.catalog.list_spaces, states=states, limit=limit)

    async def room(self, space: SpaceRecord) -> Room:
        """The live room of a space, loaded from the catalog on first use."""
        room = self._rooms.get(space.id)
        if room is not None:
            return room
        lock = self._room_locks.setdefault(space.id, asyncio.Lock())
        async with lock:
            room = self._rooms.get(space.id)
            if room is None:
                room = Room(space.id, space.host_id, reaction_limit=self._reaction_limit)
                for p in await asyncio.to_thread(self.catalog.participants, space.id):
                    if p.removed_at is None:
                        room.admit(p.id, p.name, p.role)
                self._rooms[space.id] = room
                self.relay.room(space.id).update_stage(room.seats())
                if space.state is SpaceState.LIVE and self.recorder is not None:
                    self.recorder.start(space)
        return room

    async def participant(self, participant_id: str) -> ParticipantRecord:
        try:
            return await asyncio.to_thread(self.catalog.get_participant, participant_id)
        except stoa_errors.NotFound as exc:
            raise NotFound(f"there is no participant {participant_id!r}") from exc

    async def tracks(self, space_id: str) -> list[TrackRecord]:
        return await asyncio.to_thread(self.catalog.tracks, space_id)

    def live_room(self, space_id: str) -> Room | None:
        return self._rooms.get(space_id)

    # Participants

    async def authenticate(self, space_id: str, token: str | None) -> Caller:
        if not token:
            raise Unauthorized("send your participant token as 'Authorization: Bearer <token>'")
        claims = self.signer.verify(token, space_id=space_id)
        space = await self.space(space_id)
        if space.state in _OVER:
            raise Gone("this space has ended")
        room = await self.room(space)
        member = room.members.get(claims.participant_id)
        if member is None:
            raise Removed("you were removed from this space")
        return Caller(space=space, member=member)

    async def join(
        self, space_id: str, *, name: str, device_id: str, token: str | None
    ) -> tuple[Member, str]:
        """Join as a listener, or as the host with the host token."""
        if token:
            caller = await self.authenticate(space_id, token)
            return caller.member, self.signer.issue(
                participant_id=caller.member.id,
                space_id=space_id,
                host=caller.member.role is Role.HOST,
            )
        space = await self.space(space_id)
        if space.state in _OVER:
            raise Gone("this space has ended")
        if space.state is SpaceState.SCHEDULED:
            when = space.scheduled_for.isoformat() if space.scheduled_for else "later"
            raise Conflict(f"this space has not started yet; it is scheduled for {when}")
        if await asyncio.to_thread(self.catalog.is_banned, space_id, device_id):
            raise Removed("you were removed from this space and cannot rejoin it")
        record = await asyncio.to_thread(
            self.catalog.add_participant,
            space_id=space_id,
            name=name,
            role=Role.LISTENER,
            device_id=device_id,
        )
        room = await self.room(space)
        member = room.admit(record.id, record.name, record.role)
        return member, self.signer.issue(participant_id=member.id, space_id=space_id)

    async def leave(self, caller: Caller) -> None:
        room = await self.room(caller.space)
        member = caller.member
        events: list[Event] = []
        if member.on_stage and member.role is not Role.HOST:
            events += room.set_role(member.id, member.id, Role.LISTENER)
            await asyncio.to_thread(self.catalog.set_role, member.id, Role.LISTENER)
        events += room.set_present(member.id, False)
        await self.relay.room(caller.space.id).disconnect(member.id)
        self._publish(room, events)
        self.hub.close_participant(caller.space.id, member.id, "left", "you left the space")

    # Host actions

    async def start_space(self, caller: Caller) -> SpaceRecord:
        self._require_host(caller)
        if caller.space.state is SpaceState.LIVE:
            return caller.space
        space = await asyncio.to_thread(self.catalog.start_space, caller.space.id)
        if self.recorder is not None:
            self.recorder.start(space)
        self.hub.publish(space.id, [{"type": "space", "space": space_summary(space)}])
        return space

    async def end_space(self, caller: Caller) -> SpaceRecord:
        self._require_host(caller)
        space = await asyncio.to_thread(self.catalog.end_space, caller.space.id)
        self.hub.publish(space.id, [{"type": "ended", "space": space_summary(space)}])
        self.hub.close_space(space.id, "ended", "the space has ended")
        await self.relay.close_room(space.id)
        self._rooms.pop(space.id, None)
        self._peaks.pop(space.id, None)
        if self.recorder is not None and self.recorder.is_recording(space.id):
            # Tracks are closed, uploaded and catalogued in the background: the space
            # turns `recorded` when that is done.
            task = asyncio.create_task(self._finish_recording(space))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return space

    async def _finish_recording(self, space: SpaceRecord) -> None:
        assert self.recorder is not None
        try:
            manifest = await self.recorder.finish(space)
        except Exception:
            # The working files stay; the next start-up's recovery archives them.
            logger.exception("could not archive the recording of space %s", space.id)
            return
        if manifest is not None and self.on_recorded is not None:
            await asyncio.to_thread(self.on_recorded, space.id)

    def _require_host(self, caller: Caller) -> None:
        if caller.member.role is not Role.HOST:
            raise Forbidden("only the host can start or end the space")

    # Room actions

    async def raise_hand(self, caller: Caller, raised: bool) -> None:
        room = await self.room(caller.space)
        self._publish(room, room.raise_hand(caller.member.id, raised))

    async def set_role(self, caller: Caller, target_id: str, role: Role) -> Member:
        room = await self.room(caller.space)
        events = room.set_role(caller.member.id, target_id, role)
        if events:
            await asyncio.to_thread(self.catalog.set_role, target_id, role)
        self._publish(room, events)
        return room.member(target_id)

    async def set_muted(self, caller: Caller, target_id: str, muted: bool) -> Member:
        room = await self.room(caller.space)
        self._publish(room, room.set_muted(caller.member.id, target_id, muted))
        return room.member(target_id)

    async def remove(self, caller: Caller, target_id: str) -> None:
        room = await self.room(caller.space)
        room.check_remove(caller.member.id, target_id)
        await asyncio.to_thread(self.catalog.remove_participant, target_id)
        events = room.remove(caller.member.id, target_id)
        await self.relay.room(caller.space.id).disconnect(target_id)
        self._publish(room, events)
        self.hub.close_participant(
            caller.space.id, target_id, "removed", "you were removed from this space by a moderator"
        )

    async def react(self, caller: Caller, emoji: str) -> None:
        room = await self.room(caller.space)
        self._publish(room, room.react(caller.member.id, emoji))

    # Media

    async def answer(self, caller: Caller, sdp: str) -> str:
        if caller.space.state is not SpaceState.LIVE:
            raise Conflict("the space is not live yet; the host starts it")
        may_publish = caller.member.on_stage
        return await self.relay.room(caller.space.id).answer(
            caller.member.id, sdp, may_publish=may_publish
        )

    # Events

    async def subscribe(self, space: SpaceRecord, participant_id: str | None) -> Subscription:
        room = await self.room(space)
        subscription = self.hub.subscribe(space.id, participant_id)
        if participant_id is not None:
            self._publish(room, room.set_present(participant_id, True))
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        self.hub.unsubscribe(subscription)
        room = self._rooms.get(subscription.space_id)
        pid = subscription.participant_id
        if room is None or pid is None or pid not in room.members:
            return
        if not self.hub.connected(subscription.space_id, pid):
            self._publish(room, room.set_present(pid, False))

    def snapshot(self, space: SpaceRecord, room: Room, you: str | None) -> Event:
        member = room.members.get(you) if you else None
        return {
            "type": "snapshot",
            "space": space_summary(space),
            "you": member.public() if member else None,
            **room.snapshot(),
        }

    def _publish(self, room: Room, events: list[Event]) -> None:
        if not events:
            return
        if any(e["type"] in ("seats", "removed") for e in events):
            self.relay.room(room.space_id).update_stage(room.seats())
        self.hub.publish(room.space_id, events)

    # Relay hooks (on the event loop, for every packet: keep them cheap)

    def audio_state(self, space_id: str, participant_id: str) -> AudioState:
        room = self._rooms.get(space_id)
        return AudioState.OFF_STAGE if room is None else room.audio_state(participant_id)

    def level(self, space_id: str, participant_id: str, loudness: int) -> None:
        peaks = self._peaks.setdefault(space_id, {})
        if loudness > peaks.get(participant_id, -1):
            peaks[participant_id] = loudness

    def audio(
        self, space_id: str, participant_id: str, packet: RtpPacket, arrival_ms: int, muted: bool
    ) -> None:
        if self.recorder is None:
            return
        room = self._rooms.get(space_id)
        member = room.members.get(participant_id) if room else None
        if member is not None:
            self.recorder.packet(space_id, participant_id, member.name, packet, arrival_ms, muted)

    def sender_report(self, space_id: str, participant_id: str, report: RtcpSrPacket) -> None:
        if self.recorder is not None:
            self.recorder.sender_report(space_id, participant_id, report)

    async def _flush_levels(self) -> None:
        while True:
            await asyncio.sleep(LEVEL_INTERVAL)
            self.flush_levels()

    def flush_levels(self) -> None:
        """Broadcast each room's speaking levels that changed since the last flush."""
        for space_id, room in self._rooms.items():
            peaks = self._peaks.pop(space_id, {})
            changed: dict[str, int] = {}
            for pid in set(room.levels) | set(peaks):
                level = (peaks.get(pid, 0) // LEVEL_STEP) * LEVEL_STEP
                if pid in room.members and room.set_level(pid, level):
                    changed[pid] = level
            if changed:
                self.hub.publish(space_id, [{"type": "levels", "levels": changed}])


def space_summary(space: SpaceRecord) -> dict[str, Any]:
    return {
        "id": space.id,
        "title": space.title,
        "state": space.state.value,
        "host_id": space.host_id,
        "created_at": space.created_at.isoformat(),
        "scheduled_for": _iso(space.scheduled_for),
        "started_at": _iso(space.started_at),
        "ended_at": _iso(space.ended_at),
        "record": space.record,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
