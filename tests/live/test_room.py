"""The room's rules, without I/O: roles and their limits, hands, mutes, reactions, the stage."""

from __future__ import annotations

import pytest

from live.errors import BadRequest, Conflict, Forbidden, NotFound, RateLimited
from live.room import (
    MAX_COHOSTS,
    MAX_SPEAKERS,
    STAGE_SEATS,
    AudioState,
    ReactionLimit,
    Room,
)
from stoa.catalog import Role


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def room(clock: FakeClock) -> Room:
    """A room with its host ``h``, present."""
    room = Room("space", "h", reaction_limit=ReactionLimit(burst=3, per_second=0.5), clock=clock)
    room.admit("h", "Hana", Role.HOST)
    room.set_present("h", True)
    return room


def admit(room: Room, member_id: str, role: Role = Role.LISTENER) -> None:
    room.admit(member_id, member_id.title(), role)
    room.set_present(member_id, True)


def types(events: list[dict[str, object]]) -> list[object]:
    return [e["type"] for e in events]


# Membership


def test_admit_returns_the_member_already_there(room: Room) -> None:
    first = room.admit("a", "Ada", Role.LISTENER)
    again = room.admit("a", "Someone else", Role.SPEAKER)
    assert again is first
    assert again.role is Role.LISTENER


def test_presence_events_and_listener_count(room: Room) -> None:
    room.admit("l", "Lia", Role.LISTENER)
    assert room.set_present("l", True) == [
        {
            "type": "joined",
            "participant": {
                "id": "l",
                "name": "Lia",
                "role": "listener",
                "hand_raised": False,
                "muted": False,
            },
        },
        {"type": "listeners", "count": 1},
    ]
    assert room.set_present("l", True) == []
    assert room.set_present("l", False) == [
        {"type": "left", "participant_id": "l"},
        {"type": "listeners", "count": 0},
    ]


def test_unknown_members_are_not_found(room: Room) -> None:
    with pytest.raises(NotFound):
        room.member("nobody")
    with pytest.raises(NotFound):
        room.set_role("h", "nobody", Role.SPEAKER)
    with pytest.raises(NotFound):
        room.set_role("nobody", "h", Role.LISTENER)
    with pytest.raises(NotFound):
        room.raise_hand("nobody", True)


# Roles


def test_host_promotes_a_listener_and_gets_the_events(room: Room) -> None:
    admit(room, "l")
    events = room.set_role("h", "l", Role.SPEAKER)
    assert events == [
        {
            "type": "role",
            "participant": {
                "id": "l",
                "name": "L",
                "role": "speaker",
                "hand_raised": False,
                "muted": False,
            },
            "by": "h",
        },
        {"type": "seats", "seats": ["h", "l"]},
        {"type": "listeners", "count": 0},
    ]
    assert room.audio_state("l") is AudioState.LIVE
    assert room.set_role("h", "l", Role.SPEAKER) == []


def test_at_most_two_cohosts(room: Room) -> None:
    for i in range(MAX_COHOSTS + 1):
        admit(room, f"c{i}")
    for i in range(MAX_COHOSTS):
        room.set_role("h", f"c{i}", Role.COHOST)
    with pytest.raises(Conflict, match="at most 2 co-hosts"):
        room.set_role("h", f"c{MAX_COHOSTS}", Role.COHOST)
    assert room.member(f"c{MAX_COHOSTS}").role is Role.LISTENER


def test_at_most_ten_speakers(room: Room) -> None:
    for i in range(MAX_SPEAKERS + 1):
        admit(room, f"s{i}")
    for i in range(MAX_SPEAKERS):
        room.set_role("h", f"s{i}", Role.SPEAKER)
    with pytest.raises(Conflict, match="stage is full"):
        room.set_role("h", f"s{MAX_SPEAKERS}", Role.SPEAKER)
    assert room.member(f"s{MAX_SPEAKERS}").role is Role.LISTENER
    assert len(room.stage) == 1 + MAX_SPEAKERS


def test_a_cohost_stepping_down_to_speaker_keeps_a_seat_on_a_full_stage(room: Room) -> None:
    admit(room, "c")
    room.set_role("h", "c", Role.COHOST)
    for i in range(MAX_SPEAKERS):
        admit(room, f"s{i}")
        room.set_role("h", f"s{i}", Role.SPEAKER)
    room.set_role("h", "c", Role.SPEAKER)
    assert room.member("c").role is Role.SPEAKER
    assert len(room.stage) <= STAGE_SEATS


def test_only_the_host_makes_or_unmakes_cohosts(room: Room) -> None:
    for member_id in ("c1", "c2", "l"):
        admit(room, member_id)
    room.set_role("h", "c1", Role.COHOST)
    room.set_role("h", "c2", Role.COHOST)
    with pytest.raises(Forbidden, match="only the host"):
        room.set_role("c1", "l", Role.COHOST)
    with pytest.raises(Forbidden, match="only the host"):
        room.set_role("c1", "c2", Role.LISTENER)
    with pytest.raises(Forbidden, match="only the host"):
        room.set_role("c1", "c2", Role.SPEAKER)
    room.set_role("h", "c2", Role.SPEAKER)
    assert room.member("c2").role is Role.SPEAKER


def test_cohosts_move_speakers_and_listeners(room: Room) -> None:
    admit(room, "c")
    admit(room, "l")
    room.set_role("h", "c", Role.COHOST)
    assert types(room.set_role("c", "l", Role.SPEAKER)) == ["role", "seats", "listeners"]
    room.set_role("c", "l", Role.LISTENER)
    assert room.member("l").role is Role.LISTENER


def test_nobody_changes_the_host_or_gives_the_host_role(room: Room) -> None:
    admit(room, "c")
    admit(room, "l")
    room.set_role("h", "c", Role.COHOST)
    with pytest.raises(Forbidden, match="host's role"):
        room.set_role("c", "h", Role.LISTENER)
    with pytest.raises(Forbidden, match="host's role"):
        room.set_role("h", "h", Role.LISTENER)
    with pytest.raises(Forbidden, match="one host"):
        room.set_role("h", "l", Role.HOST)
    assert room.member("h").role is Role.HOST


def test_listeners_and_speakers_cannot_change_roles(room: Room) -> None:
    admit(room, "s")
    admit(room, "l")
    admit(room, "m")
    room.set_role("h", "s", Role.SPEAKER)
    with pytest.raises(Forbidden):
        room.set_role("s", "l", Role.SPEAKER)
    with pytest.raises(Forbidden):
        room.set_role("l", "l", Role.SPEAKER)
    with pytest.raises(Forbidden):
        room.set_role("l", "m", Role.LISTENER)


@pytest.mark.parametrize("role", [Role.SPEAKER, Role.COHOST])
def test_anyone_on_stage_may_step_down(room: Room, role: Role) -> None:
    admit(room, "x")
    room.set_role("h", "x", role)
    room.set_muted("x", "x", True)
    room.set_level("x", 90)
    events = room.set_role("x", "x", Role.LISTENER)
    assert events[0]["by"] == "x"
    assert events[1] == {"type": "seats", "seats": ["h"]}
    assert events[2] == {"type": "listeners", "count": 1}
    member = room.member("x")
    assert member.role is Role.LISTENER
    assert not member.muted
    assert "x" not in room.levels
    assert room.audio_state("x") is not AudioState.LIVE


# Hands


def test_listener_raises_and_lowers_a_hand(room: Room) -> None:
    admit(room, "l")
    assert room.raise_hand("l", True) == [{"type": "hand", "participant_id": "l", "raised": True}]
    assert room.raise_hand("l", True) == []
    assert room.member("l").public()["hand_raised"] is True
    assert room.raise_hand("l", False) == [{"type": "hand", "participant_id": "l", "raised": False}]
    assert room.raise_hand("l", False) == []


def test_promotion_lowers_the_hand_and_the_stage_cannot_raise_one(room: Room) -> None:
    admit(room, "l")
    room.raise_hand("l", True)
    room.set_role("h", "l", Role.SPEAKER)
    assert not room.member("l").hand_raised
    with pytest.raises(Conflict, match="already on stage"):
        room.raise_hand("l", True)
    with pytest.raises(Conflict):
        room.raise_hand("h", True)


# Mutes


def test_moderators_mute_others_and_only_speakers_unmute_themselves(room: Room) -> None:
    admit(room, "c")
    admit(room, "s")
    room.set_role("h", "c", Role.COHOST)
    room.set_role("h", "s", Role.SPEAKER)
    room.set_level("s", 70)

    assert room.set_muted("c", "s", True) == [
        {"type": "mute", "participant_id": "s", "muted": True, "by": "c"}
    ]
    assert room.audio_state("s") is not AudioState.LIVE
    assert "s" not in room.levels
    assert room.set_muted("h", "s", True) == []
    with pytest.raises(Forbidden, match="unmute themselves"):
        room.set_muted("h", "s", False)
    with pytest.raises(Forbidden, match="unmute themselves"):
        room.set_muted("c", "s", False)

    assert room.set_muted("s", "s", False) == [
        {"type": "mute", "participant_id": "s", "muted": False, "by": "s"}
    ]
    assert room.audio_state("s") is AudioState.LIVE


def test_speakers_cannot_mute_others(room: Room) -> None:
    admit(room, "s1")
    admit(room, "s2")
    room.set_role("h", "s1", Role.SPEAKER)
    room.set_role("h", "s2", Role.SPEAKER)
    with pytest.raises(Forbidden, match="mute others"):
        room.set_muted("s1", "s2", True)
    assert room.set_muted("s1", "s1", True)[0]["muted"] is True


def test_nobody_mutes_the_host_but_the_host(room: Room) -> None:
    admit(room, "c")
    room.set_role("h", "c", Role.COHOST)
    with pytest.raises(Forbidden, match="host"):
        room.set_muted("c", "h", True)
    assert room.set_muted("h", "h", True)[0]["by"] == "h"
    assert room.set_muted("h", "h", False)[0]["muted"] is False


def test_listeners_have_nothing_to_mute(room: Room) -> None:
    admit(room, "l")
    with pytest.raises(Conflict, match="not on stage"):
        room.set_muted("h", "l", True)
    with pytest.raises(Conflict):
        room.set_muted("l", "l", True)


# Removal


def test_cohost_cannot_remove_demote_or_mute_the_host(room: Room) -> None:
    admit(room, "c")
    room.set_role("h", "c", Role.COHOST)
    with pytest.raises(Forbidden, match="remove the host"):
        room.remove("c", "h")
    with pytest.raises(Forbidden):
        room.set_role("c", "h", Role.SPEAKER)
    with pytest.raises(Forbidden):
        room.set_muted("c", "h", True)
    assert room.seats() == ["h", "c"]
    assert room.audio_state("h") is AudioState.LIVE


def test_removal_rules(room: Room) -> None:
    for member_id in ("c1", "c2", "s", "l"):
        admit(room, member_id)
    room.set_role("h", "c1", Role.COHOST)
    room.set_role("h", "c2", Role.COHOST)
    room.set_role("h", "s", Role.SPEAKER)
    with pytest.raises(Forbidden, match="only the host and co-hosts"):
        room.remove("s", "l")
    with pytest.raises(Forbidden, match="only the host and co-hosts"):
        room.remove("l", "s")
    with pytest.raises(Forbidden, match="only the host can remove a co-host"):
        room.remove("c1", "c2")
    with pytest.raises(Forbidden):
        room.remove("c1", "c1")
    with pytest.raises(Forbidden):
        room.remove("h", "h")
    assert room.check_remove("c1", "s").id == "s"


def test_removing_a_speaker_frees_the_seat(room: Room) -> None:
    admit(room, "c")
    admit(room, "s")
    room.set_role("h", "c", Role.COHOST)
    room.set_role("h", "s", Role.SPEAKER)
    room.set_level("s", 40)
    assert room.remove("c", "s") == [
        {"type": "removed", "participant_id": "s", "by": "c"},
        {"type": "seats", "seats": ["h", "c"]},
        {"type": "listeners", "count": 0},
    ]
    assert "s" not in room.members
    assert "s" not in room.levels
    with pytest.raises(NotFound):
        room.member("s")


def test_removing_a_listener_and_a_cohost(room: Room) -> None:
    admit(room, "c")
    admit(room, "l")
    room.set_role("h", "c", Role.COHOST)
    assert room.remove("h", "l") == [
        {"type": "removed", "participant_id": "l", "by": "h"},
        {"type": "listeners", "count": 0},
    ]
    assert types(room.remove("h", "c")) == ["removed", "seats", "listeners"]
    assert room.seats() == ["h"]


# Reactions


def test_reactions_are_rate_limited(room: Room, clock: FakeClock) -> None:
    admit(room, "l")
    for _ in range(3):
        assert room.react("l", "👏") == [{"type": "reaction", "participant_id": "l", "emoji": "👏"}]
    with pytest.raises(RateLimited) as caught:
        room.react("l", "🔥")
    assert caught.value.retry_after == pytest.approx(2.0)

    clock.advance(1.0)
    with pytest.raises(RateLimited) as caught:
        room.react("l", "🔥")
    assert caught.value.retry_after == pytest.approx(1.0)
    clock.advance(1.0)
    assert types(room.react("l", "🔥")) == ["reaction"]
    with pytest.raises(RateLimited):
        room.react("l", "🔥")


def test_reaction_tokens_refill_up_to_the_burst(room: Room, clock: FakeClock) -> None:
    admit(room, "l")
    clock.advance(3600)
    for _ in range(3):
        room.react("l", "❤️")
    with pytest.raises(RateLimited):
        room.react("l", "❤️")


def test_limits_are_per_member(room: Room) -> None:
    admit(room, "a")
    admit(room, "b")
    for _ in range(3):
        room.react("a", "💯")
    with pytest.raises(RateLimited):
        room.react("a", "💯")
    assert types(room.react("b", "💯")) == ["reaction"]


def test_unknown_reactions_are_refused(room: Room) -> None:
    admit(room, "l")
    with pytest.raises(BadRequest, match="unknown reaction"):
        room.react("l", "💩")


# The stage


def test_stage_order_is_host_cohosts_then_speakers_by_time(room: Room, clock: FakeClock) -> None:
    for member_id in ("s1", "s2", "c1", "c2", "l"):
        admit(room, member_id)
    clock.advance(1)
    room.set_role("h", "s2", Role.SPEAKER)
    clock.advance(1)
    room.set_role("h", "s1", Role.SPEAKER)
    clock.advance(1)
    room.set_role("h", "c2", Role.COHOST)
    clock.advance(1)
    room.set_role("h", "c1", Role.COHOST)
    assert room.seats() == ["h", "c2", "c1", "s2", "s1"]

    # Stepping down and coming back puts a speaker at the end of the queue.
    clock.advance(1)
    room.set_role("s2", "s2", Role.LISTENER)
    clock.advance(1)
    room.set_role("h", "s2", Role.SPEAKER)
    assert room.seats() == ["h", "c2", "c1", "s1", "s2"]

    # A co-host who steps down to speaker keeps the time they came on stage.
    room.set_role("h", "c2", Role.SPEAKER)
    assert room.seats() == ["h", "c1", "s1", "c2", "s2"]
    assert [m.id for m in room.stage] == room.seats()


def test_snapshot(room: Room) -> None:
    admit(room, "s")
    admit(room, "l")
    room.admit("away", "Away", Role.LISTENER)
    room.set_role("h", "s", Role.SPEAKER)
    room.set_level("s", 12)
    snapshot = room.snapshot()
    assert [p["id"] for p in snapshot["participants"]] == ["h", "s", "l"]
    assert snapshot["seats"] == ["h", "s"]
    assert snapshot["listener_count"] == 1
    assert snapshot["levels"] == {"s": 12}


def test_levels_report_changes_only(room: Room) -> None:
    assert room.set_level("h", 10)
    assert not room.set_level("h", 10)
    assert room.set_level("h", 0)
    room.set_present("h", False)
    assert room.levels == {}


def test_moderators_are_told_to_leave_rather_than_remove_themselves(room: Room) -> None:
    admit(room, "c")
    room.set_role("h", "c", Role.COHOST)
    for who in ("h", "c"):
        with pytest.raises(Forbidden, match="leave the space instead"):
            room.check_remove(who, who)
