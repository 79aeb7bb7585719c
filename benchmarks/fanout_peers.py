"""The peers of the fan-out benchmark that run in their own processes.

- ``listeners``: a pool of cheap aiortc listeners, driven by JSON lines on stdin. Each listener
  taps its receivers (``live.rtp_hooks.tap_receiver``) instead of decoding, and records the
  index and send time the speaker embedded in each packet.
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
import json
import logging
import struct
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
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
_STAMP = struct.Struct("!qI")  # send time (CLOCK_MONOTONIC, ns), packet index
PAYLOAD_BYTES = 80  # a 32 kb/s Opus voice frame
CONNECT_CONCURRENCY = 8
LATENCY_SAMPLES = 20_000

logger = logging.getLogger("fanout_peers")


def rtc_configuration() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


def speaker_payload(index: int) -> bytes:
    stamp = _STAMP.pack(time.monotonic_ns(), index & 0xFFFFFFFF)
    return bytes([TOC]) + stamp + bytes(PAYLOAD_BYTES - 1 - len(stamp))


class SpeakerTrack(MediaStreamTrack):
    """A microphone that sends pre-made packets: aiortc packetizes an ``av.Packet`` as is."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
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
    """One listener's connection and what it heard."""

    group: str
    pc: RTCPeerConnection
    heard: int = 0
    indices: array[int] = field(default_factory=lambda: array("q"))
    latencies_us: array[int] = field(default_factory=lambda: array("q"))
    # Baseline streams carry re-encoded audio, no stamp: only arrivals are counted.
    window_arrivals: int = 0

    def on_packet(self, packet: RtpPacket, _arrival_ms: int) -> None:
        now = time.monotonic_ns()
        self.heard += 1
        self.window_arrivals += 1
        payload = packet.payload
        if len(payload) >= 1 + _STAMP.size and payload[0] == TOC:
            sent, index = _STAMP.unpack_from(payload, 1)
            if 0 < now - sent < 60_000_000_000:
                self.indices.append(index)
                self.latencies_us.append((now - sent) // 1000)

    def tap(self) -> None:
        for transceiver in self.pc.getTransceivers():
            tap_receiver(transceiver.receiver, self.on_packet)

    def reset(self) -> None:
        self.indices = array("q")
        self.latencies_us = array("q")
        self.window_arrivals = 0


class ListenerPool:
    """The listeners of one process, and the commands the benchmark sends them."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self._pending_direct: Listener | None = None
        self._window_started = time.monotonic()
        self._gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

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
            self._window_started = time.monotonic()
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
        async with httpx.AsyncClient(
            base_url=command["url"],
            timeout=60,
            limits=httpx.Limits(max_connections=CONNECT_CONCURRENCY),
        ) as client:

            async def one() -> Listener | None:
                async with self._gate:
                    try:
                        return await connect(client)
                    except Exception as exc:  # reported as a count; the log says why
                        logger.warning("a %s listener failed to connect: %r", group, exc)
                        return None

            made = await asyncio.gather(*(one() for _ in range(command["count"])))
        listeners = [listener for listener in made if listener is not None]
        self.listeners += listeners
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
        latencies: list[int] = []
        for listener in self.listeners:
            if listener.group != group:
                continue
            if group == "baseline":
                received.append(listener.window_arrivals)
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
            "latencies_us": sorted(latencies)[::step],
            "window_s": time.monotonic() - self._window_started,
        }

    async def close(self, group: str | None) -> None:
        closing = [x for x in self.listeners if group is None or x.group == group]
        self.listeners = [x for x in self.listeners if x not in closing]
        await asyncio.gather(*(x.pc.close() for x in closing), return_exceptions=True)


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
    except BaseException:
        await pc.close()
        raise
    return listener


async def run_listeners() -> None:
    """Serve commands, one JSON line in, one JSON line out, until stdin closes."""
    restrict_host_addresses(["127.0.0.1"])
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
        pc.addTrack(relay.subscribe(track))
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
        import uvloop

        uvloop.run(run_listeners())
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
