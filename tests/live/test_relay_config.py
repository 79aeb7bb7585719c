"""Relay settings that shape what browsers are told: ICE servers and the announced address."""

from __future__ import annotations

from live.relay import RelayConfig, _announce

ANSWER = (
    "a=candidate:abc 1 udp 2130706431 10.0.0.5 40000 typ host\r\n"
    "a=candidate:def 1 udp 1694498815 198.51.100.7 40000 typ srflx raddr 10.0.0.5 rport 40000\r\n"
)


def test_no_public_stun_server_by_default() -> None:
    assert RelayConfig().rtc_configuration().iceServers == []


def test_ice_servers_come_from_settings() -> None:
    config = RelayConfig(ice_servers=("stun:stun.example.org:3478",)).rtc_configuration()
    assert [s.urls for s in config.iceServers] == ["stun:stun.example.org:3478"]


def test_announced_address_replaces_host_candidates_only() -> None:
    rewritten = _announce(ANSWER, "203.0.113.9")
    assert "203.0.113.9 40000 typ host" in rewritten
    assert "10.0.0.5 40000 typ host" not in rewritten
    assert "198.51.100.7 40000 typ srflx" in rewritten
    assert _announce(ANSWER, None) == ANSWER
