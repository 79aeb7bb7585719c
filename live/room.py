"""A live room's state and rules: who is in it, who is on stage, and who may do what.

The room is plain data and decisions, with no I/O: every action checks the caller's role
against the room's own state and returns the events it caused, which the service persists
and broadcasts. The relay learns the stage from `Room.stage`.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from live.errors import BadRequest, Conflict, Forbidden, NotFound, RateLimited
from stoa.catalog import Role

MAX_COHOSTS = 2
MAX_SPEAKERS = 10
STAGE_SEATS = 1 + MAX_COHOSTS + MAX_SPEAKERS
REACTIONS = ("👏", "❤️", "😂", "🔥", "💯", "🙌", "👍", "😮")

Event = dict[str, Any]
ON_STAGE = frozenset({Role.HOST, Role.COHOST, Role.SPEAKER})
MODERATORS = frozenset({Role.HOST, Role.COHOST})
_STAGE_RANK = {Role.HOST: 0, Role.COHOST: 1, Role.SPEAKER: 2}


class AudioState(enum.Enum):
    """What becomes of a participant's audio packets."""

    OFF_STAGE = "off_stage"  # dropped: never forwarded, never recorded
    MUTED = "muted"  # not forwarded; recorded as silence
    LIVE = "live"  # forwarded and recorded


@dataclass
class Member:
    id: str
    name: str
    role: Role
    hand_raised: bool = False
    muted: bool = False
    present: bool = False
    # Orders the stage: seats go by rank, then by when one came on stage.
    stage_since: float = 0.0
    reaction_tokens: float = 0.0
    reaction_at: float = 0.0

    @property
    def on_stage(self) -> bool:
        return self.role in ON_STAGE

    def public(self) -> Event:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "hand_raised": self.hand_raised,
            "muted": self.muted,
        }


@dataclass
class ReactionLimit:
    burst: int = 5
    per_second: float = 0.5


@dataclass
class Room:
    """The state of one live space."""

    space_id: str
    host_id: str
    reaction_limit: ReactionLimit = field(default_factory=ReactionLimit)
    clock: Callable[[], float] = time.monotonic
    members: dict[str, Member] = field(default_factory=dict)
    levels: dict[str, int] = field(default_factory=dict)

    # Membership

    def admit(self, member_id: str, name: str, role: Role) -> Member:
        """Add a member (or return the one already there)."""
        member = self.members.get(member_id)
        if member is None:
            member = Member(
                id=member_id,
                name=name,
                role=role,
                stage_since=self.clock(),
                reaction_tokens=float(self.reaction_limit.burst),
                reaction_at=self.clock(),
            )
            self.members[member_id] = member
        return member

    def member(self, member_id: str) -> Member:
        member = self.members.get(member_id)
        if member is None:
            raise NotFound(f"no participant {member_id!r} in this space")
        return member

    def set_present(self, member_id: str, present: bool) -> list[Event]:
        member = self.member(member_id)
        if member.present == present:
            return []
        member.present = present
        if present:
            return [{"type": "joined", "participant": member.public()}, self._count()]
        self.levels.pop(member_id, None)
        return [{"type": "left", "participant_id": member_id}, self._count()]

    def drop(self, member_id: str) -> None:
        self.members.pop(member_id, None)
        self.levels.pop(member_id, None)

    # Views

    @property
    def stage(self) -> list[Member]:
        """Members on stage in seat order: the host, co-hosts, then speakers."""
        on_stage = [m for m in self.members.values() if m.on_stage]
        return sorted(on_stage, key=lambda m: (_STAGE_RANK[m.role], m.stage_since))

    @property
    def listener_count(self) -> int:
        return sum(1 for m in self.members.values() if m.present and not m.on_stage)

    def audio_state(self, member_id: str) -> AudioState:
        member = self.members.get(member_id)
        if member is None or not member.on_stage:
            return AudioState.OFF_STAGE
        return AudioState.MUTED if member.muted else AudioState.LIVE

    def seats(self) -> list[str]:
        return [m.id for m in self.stage]

    def snapshot(self) -> Event:
        present = [m.public() for m in self.members.values() if m.present or m.on_stage]
        return {
            "participants": present,
            "seats": self.seats(),
            "listener_count": self.listener_count,
            "levels": dict(self.levels),
        }

    # Actions

    def raise_hand(self, actor_id: str, raised: bool) -> list[Event]:
        actor = self.member(actor_id)
        if raised and actor.on_stage:
            raise Conflict("you are already on stage")
        if actor.hand_raised == raised:
            return []
        actor.hand_raised = raised
        return [{"type": "hand", "participant_id": actor.id, "raised": raised}]

    def set_role(self, actor_id: str, target_id: str, role: Role) -> list[Event]:
        actor = self.member(actor_id)
        target = self.member(target_id)
        if role is Role.HOST:
            raise Forbidden("a space has one host; the host role cannot be given")
        if target.role is Role.HOST:
            raise Forbidden("nobody can change the host's role")
        self_demotion = actor.id == target.id and role is Role.LISTENER
        if not self_demotion:
            if actor.role not in MODERATORS:
                raise Forbidden("only the host and co-hosts can change roles")
            if (role is Role.COHOST or target.role is Role.COHOST) and actor.role is not Role.HOST:
                raise Forbidden("only the host can make or unmake co-hosts")
        if target.role is role:
            return []
        if role is Role.COHOST and self._count_role(Role.COHOST) >= MAX_COHOSTS:
            raise Conflict(f"a space has at most {MAX_COHOSTS} co-hosts")
        if (
            role is Role.SPEAKER
            and target.role is not Role.COHOST
            and self._count_role(Role.SPEAKER) >= MAX_SPEAKERS
        ):
            raise Conflict(f"the stage is full: at most {MAX_SPEAKERS} speakers")
        was_on_stage = target.on_stage
        target.role = role
        target.hand_raised = False
        if role is Role.LISTENER:
            target.muted = False
            self.levels.pop(target.id, None)
        elif not was_on_stage:
            target.stage_since = self.clock()
        return [
            {"type": "role", "participant": target.public(), "by": actor.id},
            {"type": "seats", "seats": self.seats()},
            self._count(),
        ]

    def set_muted(self, actor_id: str, target_id: str, muted: bool) -> list[Event]:
        actor = self.member(actor_id)
        target = self.member(target_id)
        if not target.on_stage:
            raise Conflict(f"{target.name} is not on stage")
        if actor.id != target.id:
            if actor.role not in MODERATORS:
                raise Forbidden("only the host and co-hosts can mute others")
            if not muted:
                raise Forbidden("speakers unmute themselves")
            if target.role is Role.HOST:
                raise Forbidden("nobody can mute the host")
        if target.muted == muted:
            return []
        target.muted = muted
        if muted:
            self.levels.pop(target.id, None)
        return [{"type": "mute", "participant_id": target.id, "muted": muted, "by": actor.id}]

    def check_remove(self, actor_id: str, target_id: str) -> Member:
        """The member that ``actor_id`` may remove; raises when the rules say no."""
        actor = self.member(actor_id)
        target = self.member(target_id)
        if actor.id == target.id:
            raise Forbidden("leave the space instead of removing yourself")
        if actor.role not in MODERATORS:
            raise Forbidden("only the host and co-hosts can remove participants")
        if target.role is Role.HOST:
            raise Forbidden("nobody can remove the host")
        if target.role is Role.COHOST and actor.role is not Role.HOST:
            raise Forbidden("only the host can remove a co-host")
        return target

    def remove(self, actor_id: str, target_id: str) -> list[Event]:
        target = self.check_remove(actor_id, target_id)
        was_on_stage = target.on_stage
        self.drop(target.id)
        events: list[Event] = [{"type": "removed", "participant_id": target.id, "by": actor_id}]
        if was_on_stage:
            events.append({"type": "seats", "seats": self.seats()})
        events.append(self._count())
        return events

    def react(self, actor_id: str, emoji: str) -> list[Event]:
        actor = self.member(actor_id)
        if emoji not in REACTIONS:
            raise BadRequest(f"unknown reaction {emoji!r}; use one of {' '.join(REACTIONS)}")
        now = self.clock()
        limit = self.reaction_limit
        actor.reaction_tokens = min(
            float(limit.burst), actor.reaction_tokens + (now - actor.reaction_at) * limit.per_second
        )
        actor.reaction_at = now
        if actor.reaction_tokens < 1.0:
            wait = (1.0 - actor.reaction_tokens) / limit.per_second
            raise RateLimited(f"too many reactions; try again in {wait:.1f} s", retry_after=wait)
        actor.reaction_tokens -= 1.0
        return [{"type": "reaction", "participant_id": actor.id, "emoji": emoji}]

    def set_level(self, member_id: str, level: int) -> bool:
        """Record a speaker's audio level (0 = silent, 127 = loudest); True if it changed."""
        if self.levels.get(member_id) == level:
            return False
        self.levels[member_id] = level
        return True

    def _count_role(self, role: Role) -> int:
        return sum(1 for m in self.members.values() if m.role is role)

    def _count(self) -> Event:
        return {"type": "listeners", "count": self.listener_count}
