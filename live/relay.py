"""The relay: an SFU that forwards each speaker's Opus packets to everyone who hears them.

Nothing is decoded or re-encoded. A speaker's packets are taken before aiortc's jitter buffer
(`rtp_hooks.tap_receiver`) and handed to the seat streams that carry that speaker; a seat
stream rewrites them once onto its own SSRC and sends the same bytes to every connection that
listens on it.

Listeners' connections share one set of 13 seat streams per space, so a stage change is a
switch of each seat's source, and costs listeners no SDP exchange. A speaker's connection has
seats of its own, carrying everyone on stage but itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtcpSrPacket, RtpPacket
from aiortc.sdp import SessionDescription

from live.errors import InvalidOffer
from live.room import STAGE_SEATS, AudioState
from live.rtp_hooks import RtpSink, carry_seat, tap_receiver, tap_sender_reports
from live.seat import SeatStream
from stoa.settings import IceServer

logger = logging.getLogger(__name__)


class RelayHooks(Protocol):
    """What the relay asks of, and tells, the rest of the live service (cheap: per packet)."""

    def audio_state(self, space_id: str, participant_id: str) -> AudioState:
        """Whether a participant's audio is forwarded, muted, or not theirs to send."""

    def level(self, space_id: str, participant_id: str, loudness: int) -> None:
        """A speaker's audio level from the RFC 6464 extension: 0 silent .. 127 loudest."""

    def audio(
        self, space_id: str, participant_id: str, packet: RtpPacket, arrival_ms: int, muted: bool
    ) -> None:
        """A packet of someone on stage, for the recorder (``muted``: record silence)."""

    def sender_report(self, space_id: str, participant_id: str, report: RtcpSrPacket) -> None:
        """An RTCP sender report from a speaker."""


MAX_SDP_BYTES = 64 * 1024
_SENDING = frozenset({"sendrecv", "sendonly"})


@dataclass(frozen=True)
class RelayConfig:
    """How the relay's peer connections reach browsers."""

    ice_servers: Sequence[IceServer] = ()
    announced_address: str | None = None

    def rtc_configuration(self) -> RTCConfiguration:
        # Always a list, even empty: aiortc would otherwise ask Google's public STUN server.
        return RTCConfiguration(
            iceServers=[
                RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                for s in self.ice_servers
            ]
        )


class _SilentTrack(MediaStreamTrack):
    """What a seat's sender "sends": nothing. Packets go out through the seat's `RtpSink`s.

    aiortc's sender awaits ``recv`` forever, costing no CPU, until the connection closes.
    """

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def recv(self) -> Any:
        await self._never
        raise MediaStreamError

    def stop(self) -> None:
        if not self._never.done():
            self._never.set_result(None)
        super().stop()


@dataclass
class Connection:
    """One participant's peer connection with the relay."""

    participant_id: str
    pc: RTCPeerConnection
    seats: list[SeatStream]
    seat_transceivers: list[tuple[RTCRtpTransceiver, int]]
    personal: bool
    publishes: bool
    opus_payload_type: int | None
    sinks: list[RtpSink] = field(default_factory=list)


class RoomRelay:
    """The forwarding state of one space."""

    def __init__(
        self,
        space_id: str,
        config: RelayConfig,
        hooks: RelayHooks,
    ) -> None:
        self.space_id = space_id
        self._config = config
        self._hooks = hooks
        self.listener_seats = [SeatStream(i) for i in range(STAGE_SEATS)]
        self.connections: dict[str, Connection] = {}
        self._stage: list[str] = []
        self._routes: dict[str, list[SeatStream]] = {}
        self.packets_in = 0
        self.packets_dropped = 0

    # Negotiation

    async def answer(self, participant_id: str, sdp: str, *, may_publish: bool) -> str:
        """Answer a participant's offer; replaces that participant's previous connection."""
        media = _check_offer(sdp, may_publish=may_publish)
        publishes = (media[0].direction or "sendrecv") in _SENDING
        seat_count = len(media) - (1 if publishes else 0)
        pc = RTCPeerConnection(self._config.rtc_configuration())
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises ValueError, KeyError, ... on odd SDP
            await pc.close()
            raise InvalidOffer(f"the offer could not be applied: {exc}") from exc

        transceivers = pc.getTransceivers()
        personal = may_publish
        seats = (
            [SeatStream(i) for i in range(seat_count)]
            if personal
            else self.listener_seats[:seat_count]
        )
        seat_transceivers = transceivers[1:] if publishes else transceivers
        for transceiver, seat in zip(seat_transceivers, seats, strict=True):
            transceiver.direction = "sendonly"
            transceiver.sender.replaceTrack(_SilentTrack())
            carry_seat(transceiver.sender, seat.ssrc)
        if publishes:
            transceivers[0].direction = "recvonly"

        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await pc.close()
            raise InvalidOffer(f"the offer could not be answered: {exc}") from exc
        answer_sdp = pc.localDescription.sdp
        payload_types = _opus_payload_types(answer_sdp)
        connection = Connection(
            participant_id=participant_id,
            pc=pc,
            seats=seats,
            seat_transceivers=[
                (t, payload_types[i + (1 if publishes else 0)])
                for i, t in enumerate(seat_transceivers)
            ],
            personal=personal,
            publishes=publishes,
            opus_payload_type=payload_types[0] if publishes else None,
        )
        await self.disconnect(participant_id)
        self.connections[participant_id] = connection
        if publishes:
            receiver = transceivers[0].receiver
            tap_receiver(receiver, self._packet_handler(connection))
            tap_sender_reports(
                receiver,
                lambda report: self._hooks.sender_report(self.space_id, participant_id, report),
            )

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if self.connections.get(participant_id) is not connection:
                return
            if pc.connectionState == "connected":
                self._attach(connection)
            elif pc.connectionState in ("failed", "closed"):
                await self.disconnect(participant_id)

        self._route()
        return _announce(answer_sdp, self._config.announced_address)

    async def disconnect(self, participant_id: str) -> None:
        connection = self.connections.pop(participant_id, None)
        if connection is None:
            return
        self._detach(connection)
        self._route()
        await connection.pc.close()

    async def close(self) -> None:
        for participant_id in list(self.connections):
            await self.disconnect(participant_id)

    # Forwarding

    def update_stage(self, stage: Sequence[str]) -> None:
        """Seat the stage (participant ids in seat order) on every seat stream."""
        self._stage = list(stage)
        self._route()

    def _route(self) -> None:
        for i, seat in enumerate(self.listener_seats):
            seat.switch(self._stage[i] if i < len(self._stage) else None)
        for connection in self.connections.values():
            if connection.personal:
                others = [p for p in self._stage if p != connection.participant_id]
                for i, seat in enumerate(connection.seats):
                    seat.switch(others[i] if i < len(others) else None)
        routes: dict[str, list[SeatStream]] = {}
        for seat in self._all_seats():
            if seat.source is not None and seat.sinks:
                routes.setdefault(seat.source, []).append(seat)
        self._routes = routes

    def _all_seats(self) -> list[SeatStream]:
        seats = list(self.listener_seats)
        for connection in self.connections.values():
            if connection.personal:
                seats.extend(connection.seats)
        return seats

    def _attach(self, connection: Connection) -> None:
        connection.sinks = []
        for (transceiver, payload_type), seat in zip(
            connection.seat_transceivers, connection.seats, strict=True
        ):
            sink = RtpSink(transceiver.sender, payload_type)
            connection.sinks.append(sink)
            seat.sinks[connection.participant_id] = sink
        self._route()

    def _detach(self, connection: Connection) -> None:
        for seat in connection.seats:
            seat.sinks.pop(connection.participant_id, None)
        connection.sinks = []

    def _packet_handler(self, connection: Connection) -> Callable[[RtpPacket, int], None]:
        participant_id = connection.participant_id
        opus = connection.opus_payload_type
        hooks = self._hooks
        space_id = self.space_id

        def on_packet(packet: RtpPacket, arrival_ms: int) -> None:
            self.packets_in += 1
            state = hooks.audio_state(space_id, participant_id)
            if packet.payload_type != opus or state is AudioState.OFF_STAGE:
                # A listener's audio is never forwarded nor recorded, whatever its client sends.
                self.packets_dropped += 1
                return
            hooks.audio(space_id, participant_id, packet, arrival_ms, state is AudioState.MUTED)
            if state is AudioState.MUTED:
                return
            level = packet.extensions.audio_level
            if level is not None:
                hooks.level(space_id, participant_id, 127 - level[1])
            for seat in self._routes.get(participant_id, ()):
                seat.forward(packet, skip=participant_id)

        return on_packet


class Relay:
    """The relay of every live space in this process."""

    def __init__(self, config: RelayConfig, hooks: RelayHooks):
        self.config = config
        self._hooks = hooks
        self.rooms: dict[str, RoomRelay] = {}

    def room(self, space_id: str) -> RoomRelay:
        room = self.rooms.get(space_id)
        if room is None:
            room = RoomRelay(space_id, self.config, self._hooks)
            self.rooms[space_id] = room
        return room

    async def close_room(self, space_id: str) -> None:
        room = self.rooms.pop(space_id, None)
        if room is not None:
            await room.close()

    async def close(self) -> None:
        for space_id in list(self.rooms):
            await self.close_room(space_id)


def _check_offer(sdp: str, *, may_publish: bool) -> list[Any]:
    """The offer's media sections, after checking the offer is one we serve."""
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise InvalidOffer(f"the offer is larger than {MAX_SDP_BYTES} bytes")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever the text trips it into
        raise InvalidOffer(f"the offer is not valid SDP: {exc}") from exc
    media = description.media
    if not media:
        raise InvalidOffer("the offer has no media sections; offer receive-only audio seats")
    for m in media:
        if m.kind != "audio":
            raise InvalidOffer(f"spaces carry audio only; the offer has a {m.kind} section")
        if not any(c.mimeType.lower() == "audio/opus" for c in m.rtp.codecs):
            raise InvalidOffer("every audio section must offer the Opus codec")
        if m.ice is None or not m.ice.usernameFragment or not m.dtls or not m.dtls.fingerprints:
            raise InvalidOffer("the offer lacks ICE credentials or a DTLS fingerprint")
    # SDP's default direction is sendrecv (RFC 4566 §6).
    directions = [m.direction or "sendrecv" for m in media]
    publishes = directions[0] in _SENDING
    if publishes and not may_publish:
        raise InvalidOffer(
            "listeners cannot send audio: offer receive-only transceivers, "
            "or raise your hand to be invited on stage"
        )
    seats = media[1:] if publishes else media
    if any(d in _SENDING for d in directions[1 if publishes else 0 :]):
        raise InvalidOffer("only the first transceiver may send; the others are receive-only seats")
    if len(seats) > STAGE_SEATS:
        raise InvalidOffer(f"a space has {STAGE_SEATS} stage seats; the offer has {len(seats)}")
    if not seats and not publishes:
        raise InvalidOffer("the offer has nothing to send or receive")
    return list(media)


def _opus_payload_types(answer_sdp: str) -> list[int]:
    description = SessionDescription.parse(answer_sdp)
    types: list[int] = []
    for m in description.media:
        opus = [c.payloadType for c in m.rtp.codecs if c.mimeType.lower() == "audio/opus"]
        types.append(opus[0] if opus and opus[0] is not None else -1)
    return types


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host.*)$", re.MULTILINE)


def _announce(sdp: str, address: str | None) -> str:
    """Announce ``address`` in the host candidates, for a relay behind a 1:1 NAT."""
    if address is None:
        return sdp
    return _CANDIDATE.sub(lambda m: m.group(1) + address + m.group(3), sdp)
