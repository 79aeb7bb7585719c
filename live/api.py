"""The live API: spaces, joining, WebRTC offers, stage actions (REST) and room events (WS)."""

from __future__ import annotations

import contextlib
import json
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Header, Request, Response, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, field_validator

from live.errors import BadRequest, Gone, LiveError
from live.room import REACTIONS, Member
from live.service import Caller, LiveService
from stoa.catalog import ProcessingState, Role, SpaceRecord, SpaceState

DEVICE_COOKIE = "stoa_device"
WS_CLIENT_MESSAGE_BYTES = 4096


# Schemas


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateSpace(_Strict):
    title: str = Field(min_length=1, max_length=200)
    host_name: str = Field(min_length=1, max_length=80)
    scheduled_for: datetime | None = Field(
        default=None, description="When the space starts (ISO 8601 with a time zone)."
    )
    record: bool = Field(
        default=True,
        description="Record each speaker's audio (the host's choice; everyone sees it).",
    )

    @field_validator("scheduled_for")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give scheduled_for with a time zone, e.g. 2030-01-01T18:00:00Z")
        return value


class JoinSpace(_Strict):
    name: str = Field(default="", max_length=80)


class Offer(_Strict):
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=64 * 1024)


class Answer(BaseModel):
    type: Literal["answer"] = "answer"
    sdp: str


class RoleChange(_Strict):
    role: Literal["speaker", "listener", "cohost"]


class MuteChange(_Strict):
    muted: bool = True


class ReactionIn(_Strict):
    emoji: str = Field(description=f"One of {' '.join(REACTIONS)}", max_length=16)


class ParticipantOut(BaseModel):
    id: str
    name: str
    role: Role
    hand_raised: bool = False
    muted: bool = False

    @classmethod
    def of(cls, member: Member) -> ParticipantOut:
        return cls(
            id=member.id,
            name=member.name,
            role=member.role,
            hand_raised=member.hand_raised,
            muted=member.muted,
        )


class PacketAccounting(BaseModel):
    """Per speaker: what was sent (from RTCP sender reports), received, lost and filled."""

    sent: int | None
    received: int
    lost: int
    filled_ms: float
    duplicate: int = 0
    late: int = 0
    muted: int = 0


class TrackOut(BaseModel):
    participant_id: str
    name: str
    start_offset_ms: float
    duration_ms: float
    bytes: int
    packets: PacketAccounting


class ProcessingOut(BaseModel):
    """The pipeline's run on a recorded space: its stage, percent done, and why it stopped."""

    state: ProcessingState
    stage: str
    progress: int = Field(ge=0, le=100)
    error: str | None = None


class SpaceOut(BaseModel):
    id: str
    title: str
    state: SpaceState
    record: bool = True
    host: ParticipantOut | None
    created_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    speakers: list[ParticipantOut] = []
    listener_count: int = 0
    tracks: list[TrackOut] = Field(
        default=[], description="The recorded tracks, once the space is recorded."
    )
    processing: ProcessingOut | None = Field(
        default=None, description="How turning the recording into a replay goes, once begun."
    )


class CreatedSpace(BaseModel):
    space: SpaceOut
    host_token: str


class Joined(BaseModel):
    participant: ParticipantOut
    token: str


class SpaceList(BaseModel):
    spaces: list[SpaceOut]


# Dependencies


def get_service(request: Request) -> LiveService:
    service: LiveService = request.app.state.live
    return service


ServiceDep = Annotated[LiveService, Depends(get_service)]


def bearer(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


TokenDep = Annotated[str | None, Depends(bearer)]


async def current_caller(space_id: str, service: ServiceDep, token: TokenDep) -> Caller:
    return await service.authenticate(space_id, token)


CallerDep = Annotated[Caller, Depends(current_caller)]


def device_id(request: Request, response: Response) -> str:
    """An opaque id of this browser, kept in a cookie, so a removed person cannot rejoin."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if not (16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()):
        value = secrets.token_urlsafe(24)
        response.set_cookie(
            DEVICE_COOKIE, value, max_age=365 * 86400, httponly=True, samesite="lax"
        )
    return value


DeviceDep = Annotated[str, Depends(device_id)]


async def space_out(service: LiveService, space: SpaceRecord) -> SpaceOut:
    host: ParticipantOut | None = None
    speakers: list[ParticipantOut] = []
    listeners = 0
    room = service.live_room(space.id)
    if room is None and space.state in (SpaceState.LIVE, SpaceState.SCHEDULED):
        room = await service.room(space)
    if room is not None:
        stage = room.stage
        speakers = [ParticipantOut.of(m) for m in stage]
        host_member = room.members.get(space.host_id)
        host = ParticipantOut.of(host_member) if host_member else None
        listeners = room.listener_count
    if host is None:
        record = await service.participant(space.host_id)
        host = ParticipantOut(id=record.id, name=record.name, role=record.role)
    tracks = []
    processing = None
    if space.state in (SpaceState.RECORDED, SpaceState.REPLAYABLE):
        found = await anyio.to_thread.run_sync(service.catalog.processing, space.id)
        if found is not None:
            processing = ProcessingOut(
                state=found.state,
                stage=found.stage,
                progress=int(found.progress),
                error=found.error,
            )
        tracks = [
            TrackOut(
                participant_id=t.participant_id,
                name=t.name,
                start_offset_ms=t.start_offset_ms,
                duration_ms=t.duration_ms,
                bytes=t.bytes,
                packets=PacketAccounting(**t.packets),
            )
            for t in await service.tracks(space.id)
        ]
    return SpaceOut(
        id=space.id,
        title=space.title,
        state=space.state,
        record=space.record,
        tracks=tracks,
        processing=processing,
        host=host,
        created_at=space.created_at,
        scheduled_for=space.scheduled_for,
        started_at=space.started_at,
        ended_at=space.ended_at,
        speakers=speakers,
        listener_count=listeners,
    )


# Routes

# Spaces as the catalog knows them: served by every process (`stoa up`, `stoa api`, `stoa relay`).
spaces_router = APIRouter(prefix="/api", tags=["spaces"])
# Everything that touches a live room: served by the process that holds the rooms.
router = APIRouter(prefix="/api", tags=["live"])


@spaces_router.post("/spaces", status_code=201, response_model=CreatedSpace)
async def create_space(body: CreateSpace, service: ServiceDep, device: DeviceDep) -> CreatedSpace:
    """Open a space (live at once, or scheduled); the host token is the host's key to it."""
    space, _host, token = await service.create_space(
        title=body.title,
        host_name=body.host_name,
        scheduled_for=body.scheduled_for,
        device_id=device,
        record=body.record,
    )
    return CreatedSpace(space=await space_out(service, space), host_token=token)


@spaces_router.get("/spaces", response_model=SpaceList)
async def list_spaces(
    service: ServiceDep,
    state: SpaceState | None = None,
    limit: Annotated[int, Field(ge=1, le=100)] = 50,
) -> SpaceList:
    spaces = await service.list_spaces([state] if state else [], min(max(limit, 1), 100))
    return SpaceList(spaces=[await space_out(service, s) for s in spaces])


@spaces_router.get("/spaces/{space_id}", response_model=SpaceOut)
async def get_space(space_id: str, service: ServiceDep) -> SpaceOut:
    return await space_out(service, await service.space(space_id))


@router.post("/spaces/{space_id}/join", response_model=Joined)
async def join_space(
    space_id: str, body: JoinSpace, service: ServiceDep, token: TokenDep, device: DeviceDep
) -> Joined:
    """Join as a listener with a name, or as the host with the host token as Bearer."""
    if not token and not body.name:
        raise BadRequest("give a name to join the space")
    member, new_token = await service.join(space_id, name=body.name, device_id=device, token=token)
    return Joined(participant=ParticipantOut.of(member), token=new_token)


@router.post("/spaces/{space_id}/leave", status_code=204)
async def leave_space(caller: CallerDep, service: ServiceDep) -> None:
    await service.leave(caller)


@router.post("/spaces/{space_id}/rtc", response_model=Answer)
async def rtc_offer(body: Offer, caller: CallerDep, service: ServiceDep) -> Answer:
    """Answer a WebRTC offer: receive-only seats, plus a first sending transceiver on stage."""
    return Answer(sdp=await service.answer(caller, body.sdp))


@router.post("/spaces/{space_id}/start", response_model=SpaceOut)
async def start_space(caller: CallerDep, service: ServiceDep) -> SpaceOut:
    return await space_out(service, await service.start_space(caller))


@router.post("/spaces/{space_id}/end", response_model=SpaceOut)
async def end_space(caller: CallerDep, service: ServiceDep) -> SpaceOut:
    return await space_out(service, await service.end_space(caller))


@router.post("/spaces/{space_id}/hand", status_code=204)
async def raise_hand(caller: CallerDep, service: ServiceDep) -> None:
    await service.raise_hand(caller, True)


@router.delete("/spaces/{space_id}/hand", status_code=204)
async def lower_hand(caller: CallerDep, service: ServiceDep) -> None:
    await service.raise_hand(caller, False)


@router.post("/spaces/{space_id}/participants/{participant_id}/role", response_model=ParticipantOut)
async def set_role(
    participant_id: str, body: RoleChange, caller: CallerDep, service: ServiceDep
) -> ParticipantOut:
    return ParticipantOut.of(await service.set_role(caller, participant_id, Role(body.role)))


@router.post("/spaces/{space_id}/participants/{participant_id}/mute", response_model=ParticipantOut)
async def mute(
    participant_id: str, caller: CallerDep, service: ServiceDep, body: MuteChange | None = None
) -> ParticipantOut:
    """Mute a speaker (host, co-hosts, or oneself); ``{"muted": false}`` unmutes oneself."""
    muted = True if body is None else body.muted
    return ParticipantOut.of(await service.set_muted(caller, participant_id, muted))


@router.delete("/spaces/{space_id}/participants/{participant_id}", status_code=204)
async def remove(participant_id: str, caller: CallerDep, service: ServiceDep) -> None:
    """Remove someone: their token stops working and their browser cannot rejoin."""
    await service.remove(caller, participant_id)


@router.post("/spaces/{space_id}/reactions", status_code=204)
async def react(body: ReactionIn, caller: CallerDep, service: ServiceDep) -> None:
    await service.react(caller, body.emoji)


@router.websocket("/spaces/{space_id}/events")
async def events(websocket: WebSocket, space_id: str, token: str | None = None) -> None:
    """Room state: a snapshot on connect, then events. ``?token=`` makes you present."""
    service: LiveService = websocket.app.state.live
    await websocket.accept()
    try:
        space = await service.space(space_id)
        participant_id = None
        if token:
            participant_id = (await service.authenticate(space_id, token)).member.id
        elif space.state in (SpaceState.ENDED, SpaceState.RECORDED, SpaceState.REPLAYABLE):
            raise Gone("this space has ended")
    except LiveError as exc:
        await websocket.send_json(
            {"type": "error", "status": exc.status_code, "code": exc.code, "detail": str(exc)}
        )
        await websocket.close(code=4000 + exc.status_code, reason=str(exc)[:120])
        return
    subscription = await service.subscribe(space, participant_id)
    room = await service.room(space)
    try:
        await websocket.send_json(service.snapshot(space, room, participant_id))
        async with anyio.create_task_group() as tg:
            tg.start_soon(_read_client, websocket, tg.cancel_scope)
            while True:
                event = await subscription.queue.get()
                if event is None:
                    await websocket.send_json(
                        {
                            "type": "closed",
                            "code": subscription.code,
                            "reason": subscription.reason,
                        }
                    )
                    await websocket.close(code=4001, reason=subscription.reason[:120])
                    tg.cancel_scope.cancel()
                    return
                await websocket.send_json(event)
    except WebSocketDisconnect:
        pass
    finally:
        await service.unsubscribe(subscription)


async def _read_client(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Answer pings; anything else gets an error event and the socket stays open."""
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            scope.cancel()
            return
        text = frame.get("text")
        message: Any = None
        if text is not None and len(text) <= WS_CLIENT_MESSAGE_BYTES:
            with contextlib.suppress(ValueError):
                message = json.loads(text)
        if isinstance(message, dict) and message.get("type") == "ping":
            await websocket.send_json({"type": "pong"})
        else:
            await websocket.send_json(
                {
                    "type": "error",
                    "status": 400,
                    "detail": 'this socket only takes {"type": "ping"} as text; '
                    "actions go through the REST API",
                }
            )
