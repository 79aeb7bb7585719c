"""Real aiortc peers on loopback: speakers are heard on their seats, stage changes move them."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.rtc_clients import ToneTrack, create_space, join, wait_for


@pytest.fixture
async def client(live_server: LiveServer) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


async def test_host_is_heard_by_listener_on_seat_zero(client: httpx.AsyncClient) -> None:
    host = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    await host.connect(seats=12, send=ToneTrack(440), decode=False)
    await listener.connect(seats=13)
    try:
        await wait_for(lambda: listener.received[0] >= 50, what="audio on seat 0")
        assert listener.energy(0) > 0.05
        assert abs(listener.dominant_frequency(0) - 440) < 15
        assert sum(listener.received[i] for i in range(1, 13)) == 0
    finally:
        await host.close_pc()
        await listener.close_pc()
