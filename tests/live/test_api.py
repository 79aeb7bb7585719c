"""The live API with real HTTP and WebSocket clients: permissions and bad input.

Every bad request gets a clear 4xx, and the relay keeps serving the space's other
participants while it happens.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from aiortc import RTCPeerConnection
from websockets.asyncio.client import connect

from tests.conftest import LiveServer
from tests.rtc_clients import Peer, ToneTrack, create_space, join, rtc_config, wait_for


def ws_url(server: LiveServer, space_id: str, token: str | None = None) -> str:
    url = server.url.replace("http://", "ws://") + f"/api/spaces/{space_id}/events"
    return f"{url}?token={token}" if token else url


async def next_event(
    ws: object, kind: str, timeout: float = 5.0, **match: object
) -> dict[str, object]:
    """The next event of type ``kind`` whose fields equal ``match``."""

    async def find() -> dict[str, object]:
        while True:
            event = json.loads(await ws.recv())  # type: ignore[attr-defined]
            if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event  # type: ignore[no-any-return]

    return await asyncio.wait_for(find(), timeout)


async def test_create_join_and_get(client: httpx.AsyncClient) -> None:
    host = await create_space(client, "Morning show")
    r = await client.get(f"/api/spaces/{host.space_id}")
    assert r.status_code == 200
    space = r.json()
    assert space["title"] == "Morning show"
    assert space["state"] == "live"
    assert space["host"]["name"] == "Hana Host"
    # The host joins with the host token.
    r = await client.post(f"/api/spaces/{host.space_id}/join", json={}, headers=host.auth)
    assert r.status_code == 200
    assert r.json()["participant"]["role"] == "host"
    listener = await join(client, host.space_id, "Lia")
    r = await client.post(f"/api/spaces/{host.space_id}/hand", headers=listener.auth)
    assert r.status_code == 204
    assert (await client.get("/api/spaces")).json()["spaces"][0]["id"] == host.space_id


async def test_scheduled_space_starts_and_ends(client: httpx.AsyncClient) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await client.post(
        "/api/spaces", json={"title": "Later", "host_name": "Hana", "scheduled_for": when}
    )
    assert r.status_code == 201
    body = r.json()
    space_id, auth = body["space"]["id"], {"Authorization": f"Bearer {body['host_token']}"}
    assert body["space"]["state"] == "scheduled"
    r = await client.post(f"/api/spaces/{space_id}/join", json={"name": "Early"})
    assert r.status_code == 409 and "scheduled" in r.json()["detail"]
    assert (await client.post(f"/api/spaces/{space_id}/start", headers=auth)).json()[
        "state"
    ] == "live"
    listener = await join(client, space_id, "Lia")
    r = await client.post(f"/api/spaces/{space_id}/end", headers=listener.auth)
    assert r.status_code == 403
    assert (await client.post(f"/api/spaces/{space_id}/end", headers=auth)).json()[
        "state"
    ] == "ended"
    r = await client.post(f"/api/spaces/{space_id}/join", json={"name": "Late"})
    assert r.status_code == 410
    r = await client.post(f"/api/spaces/{space_id}/hand", headers=listener.auth)
    assert r.status_code == 410


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "host_name": "x"},
        {"title": "x"},
        {"title": "x", "host_name": "y", "scheduled_for": "2020-01-01T00:00:00Z"},
        {"title": "x", "host_name": "y", "scheduled_for": "2030-01-01T00:00:00"},
        {"title": "x" * 201, "host_name": "y"},
        {"title": "x", "host_name": "y", "extra": 1},
    ],
)
async def test_bad_space_bodies_are_4xx_with_a_message(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    r = await client.post("/api/spaces", json=body)
    assert 400 <= r.status_code < 500
    assert r.json()["detail"]


async def test_tokens_and_permissions(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    host = await create_space(client)
    other = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    base = f"/api/spaces/{host.space_id}"
    # Unknown space.
    assert (await client.post("/api/spaces/nope/join", json={"name": "x"})).status_code == 404
    assert (await client.get("/api/spaces/nope")).status_code == 404
    # Missing, forged, expired and other-space tokens.
    assert (await client.post(f"{base}/hand")).status_code == 401
    forged = jwt.encode(
        {
            "sub": listener.participant_id,
            "space": host.space_id,
            "aud": "stoa-live",
            "exp": int(time.time()) + 60,
        },
        "not-the-server-key-not-the-server-key!!",
        algorithm="HS256",
    )
    r = await client.post(f"{base}/hand", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and "not valid" in r.json()["detail"]
    expired = jwt.encode(
        {
            "sub": listener.participant_id,
            "space": host.space_id,
            "aud": "stoa-live",
            "exp": int(time.time()) - 10,
        },
        live_server.settings.secret_key,
        algorithm="HS256",
    )
    r = await client.post(f"{base}/hand", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    r = await client.post(f"{base}/hand", headers=other.auth)
    assert r.status_code == 401 and "another space" in r.json()["detail"]
    r = await client.post(f"{base}/hand", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    # Actions the role does not allow.
    r = await client.post(
        f"{base}/participants/{listener.participant_id}/role",
        json={"role": "speaker"},
        headers=listener.auth,
    )
    assert r.status_code == 403
    r = await client.delete(f"{base}/participants/{host.participant_id}", headers=listener.auth)
    assert r.status_code == 403
    r = await client.post(
        f"{base}/participants/{host.participant_id}/role",
        json={"role": "listener"},
        headers=host.auth,
    )
    assert r.status_code == 403
    r = await client.post(
        f"{base}/participants/{listener.participant_id}/role",
        json={"role": "host"},
        headers=host.auth,
    )
    assert r.status_code == 422
    r = await client.post(f"{base}/reactions", json={"emoji": "💩"}, headers=listener.auth)
    assert r.status_code == 400 and "unknown reaction" in r.json()["detail"]
    r = await client.post(
        f"{base}/participants/nobody/mute", json={"muted": True}, headers=host.auth
    )
    assert r.status_code == 404


async def test_cohost_cannot_touch_the_host(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    host = await create_space(client)
    cohost = await join(other_browser, host.space_id, "Cole")
    base = f"/api/spaces/{host.space_id}"
    r = await client.post(
        f"{base}/participants/{cohost.participant_id}/role",
        json={"role": "cohost"},
        headers=host.auth,
    )
    assert r.status_code == 200 and r.json()["role"] == "cohost"
    for method, path, body in [
        ("DELETE", f"{base}/participants/{host.participant_id}", None),
        ("POST", f"{base}/participants/{host.participant_id}/role", {"role": "listener"}),
        ("POST", f"{base}/participants/{host.participant_id}/mute", {"muted": True}),
        ("POST", f"{base}/end", None),
    ]:
        r = await client.request(method, path, json=body, headers=cohost.auth)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["detail"]


async def test_removed_participant_is_locked_out(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient, live_server: LiveServer
) -> None:
    host = await create_space(client)
    troll = await join(other_browser, host.space_id, "Troll")
    async with connect(ws_url(live_server, host.space_id, troll.token)) as ws:
        await next_event(ws, "snapshot")
        r = await client.delete(
            f"/api/spaces/{host.space_id}/participants/{troll.participant_id}", headers=host.auth
        )
        assert r.status_code == 204
        closed = await next_event(ws, "closed")
        assert "removed" in str(closed["reason"])
    # The token stops working at once, and the same browser cannot rejoin.
    r = await other_browser.post(f"/api/spaces/{host.space_id}/hand", headers=troll.auth)
    assert r.status_code == 403 and "removed" in r.json()["detail"]
    r = await other_browser.post(f"/api/spaces/{host.space_id}/join", json={"name": "Troll 2"})
    assert r.status_code == 403 and "cannot rejoin" in r.json()["detail"]
    # Another browser can still join.
    await join(client, host.space_id, "Someone else")


async def test_reactions_are_rate_limited(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    host = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    burst = live_server.settings.reaction_burst
    async with connect(ws_url(live_server, host.space_id, host.token)) as ws:
        await next_event(ws, "snapshot")
        codes = [
            (
                await client.post(
                    f"/api/spaces/{host.space_id}/reactions",
                    json={"emoji": "👏"},
                    headers=listener.auth,
                )
            ).status_code
            for _ in range(burst + 2)
        ]
        assert codes[:burst] == [204] * burst
        assert codes[burst:] == [429, 429]
        event = await next_event(ws, "reaction")
        assert event == {
            "type": "reaction",
            "participant_id": listener.participant_id,
            "emoji": "👏",
        }


async def test_websocket_snapshot_events_and_garbage(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    host = await create_space(client)
    async with connect(ws_url(live_server, host.space_id, host.token)) as ws:
        snapshot = await next_event(ws, "snapshot")
        assert snapshot["seats"] == [host.participant_id]
        assert snapshot["you"]["role"] == "host"  # type: ignore[index]
        listener = await join(client, host.space_id, "Lia")
        async with connect(ws_url(live_server, host.space_id, listener.token)) as lws:
            await next_event(lws, "snapshot")
            joined = await next_event(ws, "joined")
            assert joined["participant"]["name"] == "Hana Host"  # type: ignore[index]
            joined = await next_event(ws, "joined")
            assert joined["participant"]["name"] == "Lia"  # type: ignore[index]
            await next_event(ws, "listeners", count=1)
            # Garbage gets an error event; the socket stays open.
            for garbage in ["not json", '{"type": "launch"}', "[1,2", "x" * 10_000]:
                await lws.send(garbage)
                error = await next_event(lws, "error")
                assert error["status"] == 400
            await lws.send(b"\x00\xff binary")
            assert (await next_event(lws, "error"))["status"] == 400
            await lws.send('{"type": "ping"}')
            await next_event(lws, "pong")
            await client.post(f"/api/spaces/{host.space_id}/hand", headers=listener.auth)
            hand = await next_event(ws, "hand")
            assert hand == {
                "type": "hand",
                "participant_id": listener.participant_id,
                "raised": True,
            }
        left = await next_event(ws, "left")
        assert left["participant_id"] == listener.participant_id
    async with connect(ws_url(live_server, host.space_id, "forged.token.here")) as ws:
        error = await next_event(ws, "error")
        assert error["status"] == 401
    async with connect(ws_url(live_server, "no-such-space")) as ws:
        assert (await next_event(ws, "error"))["status"] == 404


async def test_end_disconnects_everyone(client: httpx.AsyncClient, live_server: LiveServer) -> None:
    host = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    async with connect(ws_url(live_server, host.space_id, listener.token)) as ws:
        await next_event(ws, "snapshot")
        await client.post(f"/api/spaces/{host.space_id}/end", headers=host.auth)
        ended = await next_event(ws, "ended")
        assert ended["space"]["state"] == "ended"  # type: ignore[index]
        closed = await next_event(ws, "closed")
        assert "ended" in str(closed["reason"])


async def test_bad_input_never_disturbs_the_room(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    """Malformed SDP, a listener trying to send, oversized bodies: 4xx, and audio flows on."""
    host = await create_space(client)
    listener = await join(client, host.space_id, "Lia")
    intruder = await join(client, host.space_id, "Ivan")
    rtc = f"/api/spaces/{host.space_id}/rtc"
    try:
        await host.connect(seats=12, send=ToneTrack(440), decode=False)
        await listener.connect(seats=13)
        await wait_for(lambda: listener.received[0] >= 25, what="audio before the abuse")
        before = listener.received[0]

        bad_offers = [
            "v=0\r\nthis is not sdp",
            "",
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
            "\x00" * 100,
        ]
        for sdp in bad_offers:
            r = await client.post(rtc, json={"type": "offer", "sdp": sdp}, headers=intruder.auth)
            assert 400 <= r.status_code < 500, r.text
            assert r.json()["detail"]
        r = await client.post(rtc, json={"type": "answer", "sdp": "v=0"}, headers=intruder.auth)
        assert r.status_code == 422

        # A listener's offer that tries to send audio is refused, with a reason.
        pc = RTCPeerConnection(rtc_config())
        pc.addTransceiver(ToneTrack(1000), direction="sendonly")
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        r = await client.post(
            rtc, json={"type": "offer", "sdp": pc.localDescription.sdp}, headers=intruder.auth
        )
        await pc.close()
        assert r.status_code == 400 and "listeners cannot send audio" in r.json()["detail"]

        # A video offer, and too many seats.
        pc = RTCPeerConnection(rtc_config())
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        r = await client.post(
            rtc, json={"type": "offer", "sdp": pc.localDescription.sdp}, headers=intruder.auth
        )
        await pc.close()
        assert r.status_code == 400 and "audio only" in r.json()["detail"]
        pc = RTCPeerConnection(rtc_config())
        for _ in range(20):
            pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        r = await client.post(
            rtc, json={"type": "offer", "sdp": pc.localDescription.sdp}, headers=intruder.auth
        )
        await pc.close()
        assert r.status_code == 400 and "13 stage seats" in r.json()["detail"]

        # Oversized bodies, declared and streamed.
        big = "x" * (live_server.settings.max_body_bytes + 1)
        r = await client.post(
            "/api/spaces", content=big, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413 and "larger than" in r.json()["detail"]

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(100):
                yield b"x" * 4096

        r = await client.post(
            "/api/spaces", content=chunks(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        r = await client.post(
            "/api/spaces", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422

        # The listener kept hearing the host the whole time.
        await wait_for(lambda: listener.received[0] >= before + 50, what="audio after the abuse")
        assert listener.energy(0) > 0.05
    finally:
        await host.close_pc()
        await listener.close_pc()


async def test_listener_count_and_presence(
    client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    host = await create_space(client)
    peers: list[Peer] = [await join(client, host.space_id, f"L{i}") for i in range(3)]
    sockets = [
        await connect(ws_url(live_server, host.space_id, p.token)).__aenter__() for p in peers
    ]
    try:
        for ws in sockets:
            await next_event(ws, "snapshot")
        r = await client.get(f"/api/spaces/{host.space_id}")
        assert r.json()["listener_count"] == 3
    finally:
        for ws in sockets:
            await ws.close()
    for _ in range(50):
        r = await client.get(f"/api/spaces/{host.space_id}")
        if r.json()["listener_count"] == 0:
            break
        await asyncio.sleep(0.05)
    assert r.json()["listener_count"] == 0
