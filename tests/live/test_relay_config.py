"""Relay settings that shape what browsers are told: ICE servers and the announced address."""

from __future__ import annotations

from live.relay import RelayConfig, _announce
from stoa.settings import Settings

ANSWER = (
    "a=candidate:abc 1 udp 2130706431 10.0.0.5 40000 typ host\r\n"
    "a=candidate:def 1 udp 1694498815 198.51.100.7 40000 typ srflx raddr 10.0.0.5 rport 40000\r\n"
)


def test_no_public_stun_server_by_default() -> None:
    assert RelayConfig().rtc_configuration().iceServers == []


def test_ice_servers_come_from_settings() -> None:
    settings = Settings(
        ice_servers=[
            "stun:stun.example.org:3478",
            {"urls": "turn:turn.example.org", "username": "u", "credential": "p"},
        ]
    )
    config = RelayConfig(ice_servers=tuple(settings.ice_servers)).rtc_configuration()
    assert [(s.urls, s.username, s.credential) for s in config.iceServers] == [
        ("stun:stun.example.org:3478", None, None),
        ("turn:turn.example.org", "u", "p"),
    ]


def test_announced_address_replaces_host_candidates_only() -> None:
    rewritten = _announce(ANSWER, "203.0.113.9")
    assert "203.0.113.9 40000 typ host" in rewritten
    assert "10.0.0.5 40000 typ host" not in rewritten
    assert "198.51.100.7 40000 typ srflx" in rewritten
    assert _announce(ANSWER, None) == ANSWER
