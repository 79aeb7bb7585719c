"""``kill -9`` of the whole process during a space, then a restart: nothing is lost up to the
last second, and the space ends up recorded, uploaded and in the catalog."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from stoa.settings import Settings
from stoa.storage import open_store
from tests.conftest import free_port
from tests.recorder.media import RATE, decode, onsets
from tests.recorder.test_recording_live import BurstTrack
from tests.rtc_clients import create_space, wait_for


@pytest.fixture(params=["local", "s3"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "STOA_DATA_DIR": str(tmp_path / "data"),
        "STOA_HOST": "127.0.0.1",
        "STOA_PORT": str(free_port()),
        "STOA_SECRET_KEY": "crash-test-secret-key-0123456789abcdef",
        "STOA_RTC_BIND_ADDRESSES": '["127.0.0.1"]',
    }
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_config")
        env.update(
            STOA_STORAGE="s3",
            STOA_S3_BUCKET=s3.bucket,
            STOA_S3_PREFIX=s3.prefix,
            STOA_S3_ENDPOINT_URL=s3.endpoint_url,
            STOA_S3_REGION=s3.region,
            STOA_S3_ACCESS_KEY_ID=s3.access_key_id,
            STOA_S3_SECRET_ACCESS_KEY=s3.secret_access_key,
        )
    return env


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['STOA_PORT']}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stoa.cli", "up"], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/spaces", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    server = Server(env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


async def test_kill_9_then_restart_keeps_the_recording(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        host = await create_space(client, "Crashing")
        origin = datetime.fromisoformat(
            (await client.get(f"/api/spaces/{host.space_id}")).json()["started_at"]
        ).timestamp()
        mic = BurstTrack([0.5, 2.0, 3.5])
        await host.connect(seats=1, send=mic, decode=False)
        await wait_for(lambda: len(mic.sent_at) == 3, 15)
        # Past the last tone by more than the second a crash may lose.
        await asyncio.sleep(1.4)
        killed_at = time.time()
        server.kill()
        await host.close_pc()

    server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        space: dict[str, object] = {}
        for _ in range(100):
            space = (await client.get(f"/api/spaces/{host.space_id}")).json()
            if space["state"] == "recorded":
                break
            await asyncio.sleep(0.1)
    assert space["state"] == "recorded", space
    (api_track,) = space["tracks"]  # type: ignore[misc]

    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            if name.startswith("STOA_"):
                patch.setenv(name, value)
        store = open_store(Settings())
    manifest = json.loads(store.get_bytes(f"spaces/{host.space_id}/manifest.json"))
    assert manifest["recovered"] is True
    (track,) = manifest["tracks"]
    assert track["participant_id"] == host.participant_id
    path = tmp_path / "track.ogg"
    store.download(track["key"], path)
    audio = decode(path)
    start = track["start_offset_ms"] / 1000
    end = start + len(audio) / RATE
    # Everything up to the last second before the kill was kept; nothing after it exists.
    assert killed_at - origin - 1.0 <= end <= killed_at - origin + 0.05
    found = [start + t for t in onsets(audio, threshold=0.1)]
    assert found == pytest.approx([t - origin for t in mic.sent_at], abs=0.04)
    assert api_track["duration_ms"] == pytest.approx(track["duration_ms"])  # type: ignore[index]
    # The working files are gone; the space is not live any more.
    assert not (Path(env["STOA_DATA_DIR"]) / "recordings" / host.space_id).exists()
