"""The pipeline inside `stoa up`: no broker server, worker threads in the app, the API showing it.

The real app under uvicorn (``live_server``), the real engine with the tiny random model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from stoa.catalog import Catalog
from stoa.cli import main
from stoa.settings import Settings
from stoa.storage.local import LocalStore
from tests.conftest import LiveServer
from tests.rtc_clients import create_space
from tests.workers.spaces import PHRASES, Placed, RecordedSpace, record_space

PLACED = [Placed("Ann", 0.5, PHRASES[0]), Placed("Ben", 4.0, PHRASES[3])]


@pytest.fixture
def settings(settings: Settings, tiny_model: Path) -> Settings:
    return settings.model_copy(update={"whisper_model": str(tiny_model)})


@pytest.fixture
def recorded(settings: Settings, tmp_path: Path) -> RecordedSpace:
    """A recorded space in the app's catalog and storage, before the app starts."""
    catalog = Catalog(settings.catalog_url)
    catalog.migrate()
    try:
        return record_space(
            catalog, LocalStore(settings.data_dir / "objects"), tmp_path / "rec", PLACED, 7.0
        )
    finally:
        catalog.close()


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


async def processed(client: httpx.AsyncClient, space_id: str) -> dict[str, object]:
    """The space as the API shows it once its processing ended."""
    deadline = time.monotonic() + 120
    while True:
        space = (await client.get(f"/api/spaces/{space_id}")).json()
        processing = space.get("processing")
        if processing and processing["state"] != "running":
            return space  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, space
        await asyncio.sleep(0.1)


async def test_start_up_processes_a_recorded_space_and_the_api_shows_it(
    recorded: RecordedSpace, client: httpx.AsyncClient
) -> None:
    space = await processed(client, recorded.space.id)
    assert space["state"] == "replayable"
    assert space["processing"] == {
        "state": "done",
        "stage": "done",
        "progress": 100,
        "error": None,
    }
    assert [t["name"] for t in space["tracks"]] == ["Ann", "Ben"]  # type: ignore[index]


async def test_a_corrupt_track_shows_its_reason(
    settings: Settings, recorded: RecordedSpace, live_server: LiveServer
) -> None:
    # The space is processed at start-up: corrupt Ben's track first, then ask again.
    store = LocalStore(settings.data_dir / "objects")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        await processed(client, recorded.space.id)
        catalog = Catalog(settings.catalog_url)
        try:
            ben = next(t for t in catalog.tracks(recorded.space.id) if t.name == "Ben")
        finally:
            catalog.close()
        store.put_bytes(ben.storage_key, b"OggS" + bytes(3000), "audio/ogg")
        live_server.app.state.pipeline.pipeline.start(recorded.space.id)
        space = await processed(client, recorded.space.id)
    assert space["state"] == "replayable"  # the first run's replay stays
    processing = space["processing"]
    assert processing["state"] == "failed" and processing["stage"] == "prepare"  # type: ignore[index]
    assert processing["error"].startswith(f"the track of Ben ({ben.participant_id})")  # type: ignore[index]


async def test_a_space_ended_by_its_host_goes_to_the_pipeline(client: httpx.AsyncClient) -> None:
    host = await create_space(client, "Nobody speaks")
    # The host's joining loads the room, which starts its recording.
    r = await client.post(f"/api/spaces/{host.space_id}/join", json={}, headers=host.auth)
    assert r.status_code == 200
    r = await client.post(f"/api/spaces/{host.space_id}/end", headers=host.auth)
    assert r.status_code == 200
    space = await processed(client, host.space_id)
    assert space["state"] == "recorded"
    assert space["processing"]["state"] == "failed"  # type: ignore[index]
    assert space["processing"]["error"].startswith("nothing was recorded")  # type: ignore[index]


def test_stoa_reprocess_runs_a_space_again_here(
    settings: Settings, recorded: RecordedSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "STOA_DATA_DIR": str(settings.data_dir),
        "STOA_WHISPER_MODEL": settings.whisper_model,
    }.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    first = runner.invoke(main, ["reprocess", recorded.space.id])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["reprocess", recorded.space.id, "--model", settings.whisper_model])
    assert again.exit_code == 0, again.output
    assert f"run 2 of space {recorded.space.id} started" in again.output
    assert f"space {recorded.space.id} is replayable with run 2" in again.output
    missing = runner.invoke(main, ["reprocess", "nope"])
    assert missing.exit_code == 1 and "there is no space 'nope'" in missing.output


def test_stoa_worker_needs_a_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOA_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 1
    assert "stoa worker needs STOA_BROKER_URL" in result.output
