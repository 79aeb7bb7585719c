"""Recording through the real relay: aiortc speakers on loopback, tracks checked with ffmpeg."""

from __future__ import annotations

import asyncio
import fractions
import json
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from stoa.settings import Settings
from stoa.storage import ObjectStore, open_store
from tests.conftest import LiveServer
from tests.recorder.media import RATE, decode, onsets
from tests.rtc_clients import FRAME, Peer, create_space, join, wait_for


class BurstTrack(MediaStreamTrack):
    """A microphone, paced in real time: silence with 200 ms tone bursts at given offsets.

    It notes the wall-clock time each burst was captured, to compare with where it was
    recorded.
    """

    kind = "audio"

    def __init__(self, bursts: list[float], frequency: float = 1000.0) -> None:
        super().__init__()
        # Speaks once released (tests that patch the sender first hold it).
        self.released = asyncio.Event()
        self.released.set()
        self.bursts = bursts
        self.frequency = frequency
        self.sent_at: list[float] = []
        self.started_at: float | None = None
        self._index = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self.released.wait()
        now = time.time()
        if self.started_at is None:
            self.started_at = now
        due = self.started_at + self._index * FRAME / RATE
        if due > now:
            await asyncio.sleep(due - now)
        t = self._index * FRAME / RATE
        samples = np.zeros(FRAME, dtype=np.int16)
        for start in self.bursts:
            if start <= t < start + 0.2:
                if len(self.sent_at) < self.bursts.index(start) + 1:
                    # When the frame was "captured": its place in the paced stream.
                    self.sent_at.append(due)
                n = np.arange(FRAME) + self._index * FRAME
                samples = (0.5 * 32767 * np.sin(2 * np.pi * self.frequency * n / RATE)).astype(
                    np.int16
                )
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._index * FRAME
        frame.time_base = fractions.Fraction(1, RATE)
        self._index += 1
        return frame


@pytest.fixture(params=["local", "s3"])
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    if request.param == "local":
        return settings
    s3 = request.getfixturevalue("s3_config")
    return settings.model_copy(
        update={
            "storage": "s3",
            "s3_bucket": s3.bucket,
            "s3_prefix": s3.prefix,
            "s3_endpoint_url": s3.endpoint_url,
            "s3_region": s3.region,
            "s3_access_key_id": s3.access_key_id,
            "s3_secret_access_key": s3.secret_access_key,
        }
    )


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


async def recorded(client: httpx.AsyncClient, space_id: str) -> dict[str, object]:
    body: dict[str, object] = {}
    for _ in range(200):
        body = (await client.get(f"/api/spaces/{space_id}")).json()
        if body["state"] == "recorded":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"space never became recorded: {body}")


def fetch(store: ObjectStore, key: str, folder: Path) -> Path:
    path = folder / key.replace("/", "_")
    store.download(key, path)
    return path


async def test_each_speaker_gets_a_timeline_true_track(
    client: httpx.AsyncClient, live_server: LiveServer, tmp_path: Path
) -> None:
    host = await create_space(client, "Recorded")
    listener = await join(client, host.space_id, "Lia")
    sam = await join(client, host.space_id, "Sam")
    started = (await client.get(f"/api/spaces/{host.space_id}")).json()["started_at"]
    origin = __import__("datetime").datetime.fromisoformat(started).timestamp()
    r = await client.post(
        f"/api/spaces/{host.space_id}/participants/{sam.participant_id}/role",
        json={"role": "speaker"},
        headers=host.auth,
    )
    assert r.status_code == 200
    host_mic = BurstTrack([0.5, 2.0, 3.5], 800)
    sam_mic = BurstTrack([1.0, 2.5], 1200)
    peers: list[Peer] = [host, listener, sam]
    try:
        await host.connect(seats=12, send=host_mic, decode=False)
        await listener.connect(seats=13, decode=False)
        await sam.connect(seats=12, send=sam_mic, decode=False)
        # The listener also tries to be recorded: its offer to send is refused.
        await wait_for(lambda: len(host_mic.sent_at) == 3 and len(sam_mic.sent_at) == 2, 15)
        await asyncio.sleep(0.6)
    finally:
        for peer in peers:
            await peer.close_pc()
    r = await client.post(f"/api/spaces/{host.space_id}/end", headers=host.auth)
    assert r.json()["state"] == "ended"
    space = await recorded(client, host.space_id)

    store = open_store(live_server.settings)
    manifest = json.loads(store.get_bytes(f"spaces/{host.space_id}/manifest.json"))
    assert manifest["record"] is True
    tracks = {t["participant_id"]: t for t in manifest["tracks"]}
    # Speakers only: the listener is never recorded.
    assert set(tracks) == {host.participant_id, sam.participant_id}
    assert tracks[sam.participant_id]["name"] == "Sam"
    ended = __import__("datetime").datetime.fromisoformat(manifest["ended_at"]).timestamp()
    for pid, mic in [(host.participant_id, host_mic), (sam.participant_id, sam_mic)]:
        track = tracks[pid]
        audio = decode(fetch(store, track["key"], tmp_path))
        start = track["start_offset_ms"] / 1000
        # Every track decodes, and lasts the speaker's time on the space clock: from their
        # first packet to the end of the space.
        assert len(audio) / RATE == pytest.approx(track["duration_ms"] / 1000, abs=0.001)
        assert mic.started_at is not None
        assert start == pytest.approx(mic.started_at - origin, abs=0.04)
        assert start + len(audio) / RATE == pytest.approx(ended - origin, abs=0.04)
        # A tone sent at space time t is found at t +- 40 ms.
        found = [start + t for t in onsets(audio, threshold=0.1)]
        assert found == pytest.approx([t - origin for t in mic.sent_at], abs=0.04)
        assert track["packets_lost"] == 0
        assert track["packets_received"] > 0
        assert track["packets_sent"] is None or track["packets_sent"] <= track["packets_received"]
    # The packet accounting is in the API too.
    api_tracks = {t["participant_id"]: t for t in space["tracks"]}  # type: ignore[union-attr]
    assert (
        api_tracks[sam.participant_id]["packets"]["received"]
        == (tracks[sam.participant_id]["packets_received"])
    )


async def test_loss_reordering_and_duplicates_on_the_client_side(
    client: httpx.AsyncClient, live_server: LiveServer, tmp_path: Path
) -> None:
    host = await create_space(client, "Lossy")
    mic = BurstTrack([1.0, 3.0], 1000)
    mic.released.clear()
    rng = random.Random(7)
    dropped: list[int] = []
    counter = {"n": 0}
    try:
        await host.connect(seats=1, send=mic, decode=False)
        assert host.pc is not None
        sender = host.pc.getTransceivers()[0].sender
        transport = sender.transport
        original = transport._send_rtp
        held: list[bytes] = []

        async def lossy_send(data: bytes) -> None:
            if data[1] & 0x7F >= 72 and data[1] & 0x7F <= 76:  # RTCP: pass through
                await original(data)
                return
            counter["n"] += 1
            n = counter["n"]
            if 25 <= n <= 175:
                if rng.random() < 0.05:
                    dropped.append(int.from_bytes(data[2:4], "big"))
                    return
                if rng.random() < 0.03:
                    held.append(data)  # sent after the next packet: reordered
                    return
                if rng.random() < 0.03:
                    await original(data)  # duplicated
            await original(data)
            while held:
                await original(held.pop())

        transport._send_rtp = lossy_send
        mic.released.set()
        await wait_for(lambda: counter["n"] >= 210, 15)
    finally:
        await host.close_pc()
    await client.post(f"/api/spaces/{host.space_id}/end", headers=host.auth)
    await recorded(client, host.space_id)
    store = open_store(live_server.settings)
    manifest = json.loads(store.get_bytes(f"spaces/{host.space_id}/manifest.json"))
    (track,) = manifest["tracks"]
    assert dropped, "the test dropped nothing"
    assert track["packets_lost"] == len(dropped)
    # Duplicates are counted once (SRTP's replay protection already drops most of them).
    assert track["packets_received"] == counter["n"] - len(dropped)
    origin = __import__("datetime").datetime.fromisoformat(manifest["started_at"]).timestamp()
    audio = decode(fetch(store, track["key"], tmp_path))
    found = [track["start_offset_ms"] / 1000 + t for t in onsets(audio, threshold=0.1)]
    assert found == pytest.approx([t - origin for t in mic.sent_at], abs=0.04)


async def test_a_space_recorded_by_choice_only(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    r = await client.post(
        "/api/spaces", json={"title": "Off the record", "host_name": "Hana", "record": False}
    )
    body = r.json()
    assert body["space"]["record"] is False
    host = Peer(
        client=client,
        space_id=body["space"]["id"],
        participant_id=body["space"]["host"]["id"],
        token=body["host_token"],
    )
    mic = BurstTrack([0.2])
    try:
        await host.connect(seats=1, send=mic, decode=False)
        await wait_for(lambda: len(mic.sent_at) == 1)
    finally:
        await host.close_pc()
    r = await client.post(f"/api/spaces/{host.space_id}/end", headers=host.auth)
    await asyncio.sleep(0.5)
    space = (await client.get(f"/api/spaces/{host.space_id}")).json()
    assert space["state"] == "ended" and space["tracks"] == []
    store = open_store(live_server.settings)
    assert store.list(f"spaces/{host.space_id}") == []
    assert not (live_server.settings.data_dir / "recordings" / host.space_id).exists()
