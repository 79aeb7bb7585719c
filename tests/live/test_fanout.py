"""Real aiortc peers on loopback: speakers are heard on their seats, stage changes move them."""

from __future__ import annotations

import httpx

from tests.rtc_clients import ToneTrack, create_space, join, wait_for


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


async def _settle(peer: object, seat: int, quiet_for: float = 0.6) -> int:
    """Wait until a seat stops receiving, then return its count."""
    import asyncio

    received = peer.received  # type: ignore[attr-defined]
    before = -1
    while received[seat] != before:
        before = received[seat]
        await asyncio.sleep(quiet_for)
    return int(received[seat])


async def test_stage_changes_move_speakers_between_seats(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    host = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    sam = await join(other_browser, host.space_id, "Sam")
    tia = await join(other_browser, host.space_id, "Tia")
    peers = [host, listener, sam, tia]
    try:
        await host.connect(seats=12, send=ToneTrack(440))
        await listener.connect(seats=13)

        # Sam raises a hand; the host invites him; he renegotiates and publishes.
        r = await client.post(f"/api/spaces/{host.space_id}/hand", headers=sam.auth)
        assert r.status_code == 204
        r = await client.post(
            f"/api/spaces/{host.space_id}/participants/{sam.participant_id}/role",
            json={"role": "speaker"},
            headers=host.auth,
        )
        assert r.status_code == 200 and r.json()["role"] == "speaker"
        await sam.connect(seats=12, send=ToneTrack(880))
        await wait_for(lambda: listener.received[1] >= 40, what="Sam on the listener's seat 1")
        assert abs(listener.dominant_frequency(1) - 880) < 15
        assert abs(listener.dominant_frequency(0) - 440) < 15
        # Speakers hear everyone on stage but themselves, on their own seats.
        await wait_for(lambda: host.received[0] >= 40 and sam.received[0] >= 40, what="stage")
        assert abs(host.dominant_frequency(0) - 880) < 15
        assert abs(sam.dominant_frequency(0) - 440) < 15
        assert sam.received[1] == 0 and host.received[1] == 0

        # Tia comes on stage after Sam: seat 2. When Sam steps down, she moves to seat 1,
        # and the listener's seat 1 stays one stream (same SSRC, no renegotiation).
        await client.post(
            f"/api/spaces/{host.space_id}/participants/{tia.participant_id}/role",
            json={"role": "speaker"},
            headers=host.auth,
        )
        await tia.connect(seats=12, send=ToneTrack(660), decode=False)
        await wait_for(lambda: listener.received[2] >= 40, what="Tia on seat 2")
        assert abs(listener.dominant_frequency(2) - 660) < 15
        r = await client.post(
            f"/api/spaces/{host.space_id}/participants/{sam.participant_id}/role",
            json={"role": "listener"},
            headers=sam.auth,
        )
        assert r.status_code == 200
        seat1_before = listener.received[1]
        await wait_for(
            lambda: listener.received[1] >= seat1_before + 60, what="Tia moving to seat 1"
        )
        assert abs(listener.dominant_frequency(1, last=20) - 660) < 15
        # Seat 2 falls silent; Sam's old connection still sends, but he is off stage.
        await _settle(listener, 2)
        assert listener.energy(0) > 0.05
    finally:
        for peer in peers:
            await peer.close_pc()


async def test_fewer_seats_get_that_many_speakers_and_mute_stops_forwarding(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    host = await create_space(client)
    sam = await join(other_browser, host.space_id, "Sam")
    small = await join(client, host.space_id, "One-seat listener")
    peers = [host, sam, small]
    try:
        await client.post(
            f"/api/spaces/{host.space_id}/participants/{sam.participant_id}/role",
            json={"role": "speaker"},
            headers=host.auth,
        )
        await host.connect(seats=12, send=ToneTrack(440), decode=False)
        await sam.connect(seats=12, send=ToneTrack(880), decode=False)
        await small.connect(seats=1)
        await wait_for(lambda: small.received[0] >= 40, what="the host on the only seat")
        assert abs(small.dominant_frequency(0) - 440) < 15

        # The host mutes herself: her seat stops, whatever her client keeps sending.
        r = await client.post(
            f"/api/spaces/{host.space_id}/participants/{host.participant_id}/mute",
            json={"muted": True},
            headers=host.auth,
        )
        assert r.status_code == 200 and r.json()["muted"] is True
        stopped = await _settle(small, 0)
        r = await client.post(
            f"/api/spaces/{host.space_id}/participants/{host.participant_id}/mute",
            json={"muted": False},
            headers=host.auth,
        )
        assert r.status_code == 200
        await wait_for(lambda: small.received[0] >= stopped + 40, what="unmuted audio")
    finally:
        for peer in peers:
            await peer.close_pc()


async def test_speaking_levels_come_from_the_audio_level_extension(
    client: httpx.AsyncClient, live_server: object
) -> None:
    import json

    from websockets.asyncio.client import connect

    host = await create_space(client)
    url = live_server.url.replace("http://", "ws://")  # type: ignore[attr-defined]
    async with connect(f"{url}/api/spaces/{host.space_id}/events?token={host.token}") as ws:
        try:
            await host.connect(seats=12, send=ToneTrack(440), decode=False)
            while True:
                event = json.loads(await ws.recv())
                if event["type"] == "levels" and event["levels"].get(host.participant_id, 0) > 0:
                    break
            # A -10 dBFS tone: loud, far above the silence floor.
            assert event["levels"][host.participant_id] >= 64
        finally:
            await host.close_pc()
