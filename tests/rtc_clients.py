"""aiortc peers that speak the relay's protocol, for protocol-level and fan-out tests."""

from __future__ import annotations

import asyncio
import fractions
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import av
import httpx
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

SAMPLE_RATE = 48_000
FRAME = 960  # 20 ms


def tone_frames(frequency: float, amplitude: float = 0.3) -> Iterator[av.AudioFrame]:
    """Endless 20 ms s16 mono frames of a sine tone."""
    pts = 0
    while True:
        t = (np.arange(FRAME) + pts) / SAMPLE_RATE
        samples = (amplitude * 32767 * np.sin(2 * math.pi * frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        pts += FRAME
        yield frame


class ToneTrack(MediaStreamTrack):
    """A microphone that plays a tone, paced in real time; aiortc encodes it to Opus."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self._frames = tone_frames(frequency)
        self._start: float | None = None
        self._sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self._sent * FRAME / SAMPLE_RATE - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._sent += 1
        return next(self._frames)


def rtc_config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


@dataclass
class Peer:
    """A participant's HTTP identity and its peer connection."""

    client: httpx.AsyncClient
    space_id: str
    participant_id: str
    token: str
    pc: RTCPeerConnection | None = None
    seats: list[RTCRtpTransceiver] = field(default_factory=list)
    received: Counter[int] = field(default_factory=Counter)
    frames: dict[int, list[np.ndarray]] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def connect(
        self, *, seats: int = 13, send: MediaStreamTrack | None = None, decode: bool = True
    ) -> None:
        """Offer ``seats`` receive-only seats (and a sending transceiver first if ``send``)."""
        await self.close_pc()
        pc = RTCPeerConnection(rtc_config())
        if send is not None:
            pc.addTransceiver(send, direction="sendonly")
        self.seats = [pc.addTransceiver("audio", direction="recvonly") for _ in range(seats)]
        self.pc = pc
        await pc.setLocalDescription(await pc.createOffer())
        response = await self.client.post(
            f"/api/spaces/{self.space_id}/rtc",
            json={"type": "offer", "sdp": pc.localDescription.sdp},
            headers=self.auth,
        )
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        if decode:
            for index, transceiver in enumerate(self.seats):
                self._tasks.append(asyncio.create_task(self._consume(index, transceiver)))
        for _ in range(200):
            if pc.connectionState == "connected":
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"peer connection stuck in {pc.connectionState}")

    async def _consume(self, index: int, transceiver: RTCRtpTransceiver) -> None:
        track = transceiver.receiver.track
        try:
            while True:
                frame = await track.recv()
                self.received[index] += 1
                self.frames.setdefault(index, []).append(frame.to_ndarray().ravel())
        except MediaStreamError:
            pass

    def energy(self, seat: int, last: int = 25) -> float:
        """RMS of the last ``last`` decoded frames on a seat, in full-scale units."""
        frames = self.frames.get(seat, [])[-last:]
        if not frames:
            return 0.0
        samples = np.concatenate(frames).astype(np.float64) / 32768.0
        return float(np.sqrt(np.mean(samples**2)))

    def dominant_frequency(self, seat: int, last: int = 25) -> float:
        frames = self.frames.get(seat, [])[-last:]
        samples = np.concatenate(frames).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(samples))
        # Decoded frames are interleaved stereo at 48 kHz.
        freqs = np.fft.rfftfreq(len(samples), 1 / (2 * SAMPLE_RATE))
        return float(freqs[int(np.argmax(spectrum[1:])) + 1])

    def reset(self) -> None:
        self.received.clear()
        self.frames.clear()

    async def close_pc(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self.pc is not None:
            await self.pc.close()
            self.pc = None


async def create_space(client: httpx.AsyncClient, title: str = "Test space") -> Peer:
    response = await client.post("/api/spaces", json={"title": title, "host_name": "Hana Host"})
    assert response.status_code == 201, response.text
    body = response.json()
    return Peer(
        client=client,
        space_id=body["space"]["id"],
        participant_id=body["space"]["host"]["id"],
        token=body["host_token"],
    )


async def join(client: httpx.AsyncClient, space_id: str, name: str) -> Peer:
    response = await client.post(f"/api/spaces/{space_id}/join", json={"name": name})
    assert response.status_code == 200, response.text
    body = response.json()
    return Peer(
        client=client,
        space_id=space_id,
        participant_id=body["participant"]["id"],
        token=body["token"],
    )


async def wait_for(predicate: object, timeout: float = 10.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
