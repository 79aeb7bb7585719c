"""The peers of the fan-out benchmark that run in their own processes.

- ``listeners``: a pool of cheap aiortc listeners, driven by JSON lines on stdin. Each listener
  taps its receivers (``live.rtp_hooks.tap_receiver``) instead of decoding, then reads its
  socket itself with kernel receive timestamps, and records the index and send time the
  speaker embedded in each packet. Its receivers start no decoder thread and no report loop.
- ``relay``: the real app (``stoa.app.create_app``) under uvicorn on a chosen event loop, for
  comparing loops; by default the benchmark runs ``stoa relay`` itself.
- ``baseline``: aiortc's ``MediaRelay`` behind two HTTP routes, the comparison the benchmark
  prints: it decodes the speaker once and re-encodes for every listener.

`SpeakerTrack` is the speaker: pre-made Opus-shaped packets, paced at 20 ms, sent by aiortc
without encoding.

Run only by ``benchmarks/relay_fanout.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import gc
import json
import logging
import os
import socket
import struct
import sys
import threading
import time
import types
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiortc.rtcrtpreceiver
import av
import httpx
import pylibsrtp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from live.rtp_hooks import restrict_host_addresses, tap_receiver

FRAME_SECONDS = 0.020
FRAME_SAMPLES = 960
OPUS_CLOCK = 48_000
# A CELT fullband 20 ms stereo TOC byte: the packet looks like Opus to anyone who checks.
TOC = 0xFC
# Send time (CLOCK_REALTIME, ns: the clock of the kernel's receive timestamps), packet index.
_STAMP = struct.Struct("!qI")
_TIMESPEC = struct.Struct("@qq")
# Linux's value; Python's socket module does not name it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
PAYLOAD_BYTES = 80  # a 32 kb/s Opus voice frame
LATENCY_SAMPLES = 20_000
CONNECT_ATTEMPTS = 3

logger = logging.getLogger("fanout_peers")


def rtc_configuration() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


def speaker_payload(index: int) -> bytes:
    stamp = _STAMP.pack(time.time_ns(), index & 0xFFFFFFFF)
    return bytes([TOC]) + stamp + bytes(PAYLOAD_BYTES - 1 - len(stamp))


class SpeakerTrack(MediaStreamTrack):
    """A microphone that sends pre-made packets: aiortc packetizes an ``av.Packet`` as is."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:  # type: ignore[type-arg]
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self.index * FRAME_SECONDS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(speaker_payload(self.index))
        packet.pts = self.index * FRAME_SAMPLES
        packet.time_base = fractions.Fraction(1, OPUS_CLOCK)
        self.index += 1
        return packet


async def wait_connected(pc: RTCPeerConnection, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while pc.connectionState != "connected":
        if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
            raise ConnectionError(f"peer connection {pc.connectionState}")
        await asyncio.sleep(0.05)


# Listeners


@dataclass
class Listener:
    """One listener's connection and what it heard.

    Until it is connected, the listener hears through `tap_receiver`. Then it reads its
    socket itself, with the kernel's receive timestamps (SO_TIMESTAMPNS): latency stops at
    the moment the relay's packet reached the listener's socket, so the time this process
    takes to work through a burst of 200 packets, one per listener, is not counted as the
    relay's. Everything but RTP still goes to aioice.
    """

    group: str
    pc: RTCPeerConnection
    heard: int = 0
    indices: array[int] = field(default_factory=lambda: array("q"))
    latencies_us: array[int] = field(default_factory=lambda: array("q"))
    # Baseline streams carry re-encoded audio, no stamp: RTP timestamps and arrivals instead.
    timestamps: array[int] = field(default_factory=lambda: array("q"))
    arrivals_ns: array[int] = field(default_factory=lambda: array("q"))
    sockets: list[socket.socket] = field(default_factory=list)

    def on_packet(self, packet: RtpPacket, _arrival_ms: int) -> None:
        self.record(packet.payload, packet.timestamp, time.time_ns())

    def record(self, payload: bytes, timestamp: int, arrived_ns: int) -> None:
        self.heard += 1
        if self.group == "baseline":
            self.timestamps.append(timestamp)
            self.arrivals_ns.append(arrived_ns)
        elif len(payload) >= 1 + _STAMP.size and payload[0] == TOC:
            sent, index = _STAMP.unpack_from(payload, 1)
            if 0 < arrived_ns - sent < 60_000_000_000:
                self.indices.append(index)
                self.latencies_us.append((arrived_ns - sent) // 1000)

    def baseline_window(self) -> tuple[int, int, float]:
        """Packets heard since the reset, packets the RTP timestamps span, lag gained (ms).

        MediaRelay drops the frames an encoder is too late for: they leave gaps in the
        timestamps. A stream that falls behind instead arrives slower than its timestamps.
        """
        heard = len(self.timestamps)
        if heard < 2:
            return heard, max(heard, 1), 0.0
        first = self.timestamps[0]
        span = max((t - first) % (1 << 32) for t in self.timestamps)
        arrivals_ms = (self.arrivals_ns[-1] - self.arrivals_ns[0]) / 1e6
        return heard, span // FRAME_SAMPLES + 1, arrivals_ms - span * 1000 / OPUS_CLOCK

    def tap(self) -> None:
        for transceiver in self.pc.getTransceivers():
            tap_receiver(transceiver.receiver, self.on_packet)

    def read_own_socket(self) -> None:
        """Take the connection's sockets over from the event loop's transports (asyncio)."""
        loop: Any = asyncio.get_running_loop()  # its private reader registry
        dtls = self.pc.getTransceivers()[0].receiver.transport
        for protocol in dtls.transport._connection._protocols:
            fileno = protocol.transport.get_extra_info("socket").fileno()
            sock = socket.socket(fileno=os.dup(fileno))
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.sockets.append(sock)
            # The transport removes whatever reads its descriptor when it closes.
            loop._remove_reader(fileno)
            loop._add_reader(fileno, self._read_ready, sock, protocol, dtls)

    def _read_ready(self, sock: socket.socket, protocol: Any, dtls: Any) -> None:
        for _ in range(64):
            try:
                data, ancillary, _flags, addr = sock.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 208:
                try:
                    packet = dtls._rx_srtp.unprotect(data)
                except pylibsrtp.Error:
                    continue
                timestamp = int.from_bytes(packet[4:8], "big")
                self.record(packet[_header_size(packet) :], timestamp, _kernel_time(ancillary))
            else:
                # aioice's own method: rtp_hooks' fast path on the instance would drain the
                # socket without timestamps.
                type(protocol).datagram_received(protocol, data, addr)

    def reset(self) -> None:
        self.indices = array("q")
        self.latencies_us = array("q")
        self.timestamps = array("q")
        self.arrivals_ns = array("q")

    async def close(self) -> None:
        await self.pc.close()
        for sock in self.sockets:
            sock.close()


def _header_size(packet: bytes) -> int:
    size = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:  # header extension: 4 bytes, then its length in 32-bit words
        size += 4 + 4 * int.from_bytes(packet[size + 2 : size + 4], "big")
    return size


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return int(seconds * 1_000_000_000 + nanoseconds)
    return time.time_ns()


class ListenerPool:
    """The listeners of one process, and the commands the benchmark sends them."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self._pending_direct: Listener | None = None

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "connect":
            return await self.connect(command)
        if op == "direct_answer":
            return await self.direct_answer(command["sdp"])
        if op == "status":
            return self.status()
        if op == "reset":
            for listener in self.listeners:
                listener.reset()
            return {}
        if op == "report":
            return self.report(command["group"], command["i0"], command["i1"])
        if op == "close":
            await self.close(command.get("group"))
            return {}
        raise ValueError(f"unknown command {op!r}")

    async def connect(self, command: dict[str, Any]) -> dict[str, Any]:
        group = command["group"]
        if group == "direct":
            return {"sdp": await self._direct_offer(command["sdp"])}
        connect: Callable[[httpx.AsyncClient], Awaitable[Listener]]
        if group == "stoa":
            space_id, seats = command["space_id"], command["seats"]

            async def connect(client: httpx.AsyncClient) -> Listener:
                return await _join_stoa(client, space_id, seats)
        else:
            connect = _join_baseline
        gate = asyncio.Semaphore(command["concurrency"])
        async with httpx.AsyncClient(
            base_url=command["url"],
            timeout=60,
            limits=httpx.Limits(max_connections=command["concurrency"]),
        ) as client:

            async def one() -> Listener | None:
                async with gate:
                    for attempt in range(CONNECT_ATTEMPTS):
                        try:
                            return await connect(client)
                        except httpx.TransportError as exc:
                            # uvicorn closing a keep-alive connection as a request goes out.
                            logger.info("connecting again after %r", exc)
                            if attempt + 1 == CONNECT_ATTEMPTS:
                                logger.warning("a %s listener failed to connect: %r", group, exc)
                        except Exception as exc:  # reported as a count; the log says why
                            logger.warning("a %s listener failed to connect: %r", group, exc)
                            break
                    return None

            made = await asyncio.gather(*(one() for _ in range(command["count"])))
        listeners = [listener for listener in made if listener is not None]
        self.listeners += listeners
        # Hundreds of connections are a million objects that live until the run ends: out
        # of the collector's sight, a full collection no longer stalls this process for a
        # second, long enough to miss ICE consent checks.
        gc.freeze()
        return {"connected": len(listeners), "failed": len(made) - len(listeners)}

    async def _direct_offer(self, sdp: str) -> str:
        # The speaker offers; this listener answers. The benchmark carries the SDP.
        pc = RTCPeerConnection(rtc_configuration())
        listener = Listener("direct", pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        listener.tap()
        await pc.setLocalDescription(await pc.createAnswer())
        self._pending_direct = listener
        return str(pc.localDescription.sdp)

    async def direct_answer(self, _sdp: str) -> dict[str, Any]:
        listener = self._pending_direct
        assert listener is not None
        await wait_connected(listener.pc)
        listener.read_own_socket()
        self.listeners.append(listener)
        return {}

    def status(self) -> dict[str, Any]:
        ready: dict[str, int] = {}
        for listener in self.listeners:
            if listener.heard:
                ready[listener.group] = ready.get(listener.group, 0) + 1
        return {"ready": ready}

    def report(self, group: str, i0: int, i1: int) -> dict[str, Any]:
        """Per listener of ``group``: packets of speaker indices [i0, i1) heard, and latencies."""
        received: list[int] = []
        expected: list[int] = []
        lags_ms: list[float] = []
        latencies: list[int] = []
        for listener in self.listeners:
            if listener.group != group:
                continue
            if group == "baseline":
                heard, spanned, lag = listener.baseline_window()
                received.append(heard)
                expected.append(spanned)
                lags_ms.append(lag)
                continue
            count = 0
            for index, latency in zip(listener.indices, listener.latencies_us, strict=True):
                if i0 <= index < i1:
                    count += 1
                    latencies.append(latency)
            received.append(count)
        step = max(1, len(latencies) // LATENCY_SAMPLES)
        return {
            "received": received,
            "expected": expected,
            "lags_ms": lags_ms,
            "latencies_us": sorted(latencies)[::step],
        }

    async def close(self, group: str | None) -> None:
        closing = [x for x in self.listeners if group is None or x.group == group]
        self.listeners = [x for x in self.listeners if x not in closing]
        await asyncio.gather(*(x.close() for x in closing), return_exceptions=True)


async def _join_stoa(client: httpx.AsyncClient, space_id: str, seats: int) -> Listener:
    response = await client.post(f"/api/spaces/{space_id}/join", json={"name": "listener"})
    response.raise_for_status()
    token = response.json()["token"]
    pc = RTCPeerConnection(rtc_configuration())
    try:
        for _ in range(seats):
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        response = await client.post(
            f"/api/spaces/{space_id}/rtc",
            json={"type": "offer", "sdp": pc.localDescription.sdp},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        listener = Listener("stoa", pc)
        listener.tap()
        await wait_connected(pc)
        listener.read_own_socket()
    except BaseException:
        await pc.close()
        raise
    return listener


async def _join_baseline(client: httpx.AsyncClient) -> Listener:
    pc = RTCPeerConnection(rtc_configuration())
    try:
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        response = await client.post("/subscribe", json={"sdp": pc.localDescription.sdp})
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        listener = Listener("baseline", pc)
        listener.tap()
        await wait_connected(pc)
        listener.read_own_socket()
    except BaseException:
        await pc.close()
        raise
    return listener


def _quiet_receivers() -> None:
    """Listeners here neither decode nor report: no decoder thread, no report loop.

    aiortc starts both for each receiver, 13 per listener; with hundreds of listeners the
    threads and wake-ups would take the CPU the relay is measured on. (A tapped receiver
    never learns of its streams, so its report loop had nothing to send anyway.)
    """

    class NoThread:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

        def start(self) -> None:
            pass

        def join(self, timeout: float | None = None) -> None:
            pass

    async def run_rtcp(receiver: Any) -> None:
        receiver._RTCRtpReceiver__rtcp_started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        receiver._RTCRtpReceiver__rtcp_exited.set()

    aiortc.rtcrtpreceiver.threading = types.SimpleNamespace(  # type: ignore[attr-defined, assignment]
        Thread=NoThread, Event=threading.Event
    )
    aiortc.rtcrtpreceiver.RTCRtpReceiver._run_rtcp = run_rtcp  # type: ignore[method-assign, assignment]


async def run_listeners() -> None:
    """Serve commands, one JSON line in, one JSON line out, until stdin closes."""
    restrict_host_addresses(["127.0.0.1"])
    _quiet_receivers()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pool = ListenerPool()
    try:
        while line := await reader.readline():
            command = json.loads(line)
            try:
                reply = {"ok": True, **await pool.handle(command)}
            except Exception as exc:
                logger.exception("command %s failed", command.get("op"))
                reply = {"ok": False, "error": repr(exc)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        await pool.close(None)


# The MediaRelay baseline


def baseline_app() -> Any:
    """aiortc's own fan-out: one decoder for the speaker, one encoder per listener."""
    from aiortc.contrib.media import MediaRelay
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    relay = MediaRelay()
    source: asyncio.Future[MediaStreamTrack] | None = None
    pcs: set[RTCPeerConnection] = set()

    def speaker_track() -> asyncio.Future[MediaStreamTrack]:
        nonlocal source
        if source is None:
            source = asyncio.get_running_loop().create_future()
        return source

    async def publish(request: Request) -> JSONResponse:
        pc = RTCPeerConnection(rtc_configuration())
        pcs.add(pc)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if not speaker_track().done():
                speaker_track().set_result(track)

        body = await request.json()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return JSONResponse({"sdp": pc.localDescription.sdp, "type": "answer"})

    async def subscribe(request: Request) -> JSONResponse:
        track = await asyncio.wait_for(asyncio.shield(speaker_track()), 30)
        pc = RTCPeerConnection(rtc_configuration())
        pcs.add(pc)
        body = await request.json()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        # Unbuffered: a late encoder skips frames (counted as lost) instead of lagging ever
        # further behind; aiortc's default buffers without bound.
        pc.addTrack(relay.subscribe(track, buffered=False))
        await pc.setLocalDescription(await pc.createAnswer())
        return JSONResponse({"sdp": pc.localDescription.sdp, "type": "answer"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        yield
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)

    return Starlette(
        routes=[
            Route("/publish", publish, methods=["POST"]),
            Route("/subscribe", subscribe, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(process)d %(name)s: %(message)s")
    role = argv[0]
    if role == "listeners":
        # asyncio's loop: the listeners read their sockets themselves (Listener.read_own_socket).
        asyncio.run(run_listeners())
    elif role == "relay":
        # The real app, as `stoa relay` serves it, on a chosen event loop.
        import uvicorn

        from stoa.app import create_app
        from stoa.settings import Settings

        settings = Settings()
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            ws="websockets-sansio",
            loop=argv[1],
        )
    elif role == "baseline":
        import uvicorn

        restrict_host_addresses(["127.0.0.1"])
        uvicorn.run(baseline_app(), host="127.0.0.1", port=int(argv[1]), log_level="warning")
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
