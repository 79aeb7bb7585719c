"""The relay's reach into aiortc's and aioice's private API (live/rtp_hooks.py).

These fail loudly if an aiortc or aioice upgrade moves what the hooks rely on.
"""

from __future__ import annotations

import inspect

import aioice.ice
import httpx
import pylibsrtp
import pylibsrtp._binding as pylibsrtp_binding
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.sdp import SessionDescription

from live.service import LiveService
from tests.conftest import LiveServer
from tests.rtc_clients import ToneTrack, create_space, join, wait_for


def test_private_api_is_where_the_hooks_expect_it() -> None:
    handler = RTCRtpReceiver._handle_rtp_packet
    assert inspect.iscoroutinefunction(handler)
    assert list(inspect.signature(handler).parameters) == ["self", "packet", "arrival_time_ms"]
    # The DTLS transport calls the receiver's method by attribute, so an instance override wins.
    source = inspect.getsource(RTCDtlsTransport._handle_rtp_data)
    assert "receiver._handle_rtp_packet(" in source
    assert "_tx_srtp" in inspect.getsource(RTCDtlsTransport._send_rtp)
    assert "sender._ssrc" in inspect.getsource(
        __import__("aiortc.rtcpeerconnection").rtcpeerconnection
    )
    assert callable(aioice.ice.get_host_addresses)
    assert "get_host_addresses(" in inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "_nominated" in inspect.getsource(aioice.ice.Connection)
    # The fast receive path: a socket callback looked up on the protocol, the router's tables.
    assert "_protocols" in inspect.getsource(aioice.ice.Connection)
    assert "ssrc_table" in inspect.getsource(RtpRouter)
    assert "payload_type_table" in inspect.getsource(RtpRouter)
    assert "_rx_srtp" in inspect.getsource(RTCDtlsTransport._recv_next)
    # The lean SRTP send: pylibsrtp's binding and its Session's buffer.
    assert callable(pylibsrtp_binding.lib.srtp_protect)
    assert callable(pylibsrtp_binding.lib.srtp_protect_rtcp)
    session_source = inspect.getsource(pylibsrtp.Session.__init__)
    assert all(f"self.{name}" in session_source for name in ("_srtp", "_cdata", "_buffer"))
    # carry_seat replaces the report loop; stop() waits on the events it sets.
    stop = inspect.getsource(RTCRtpSender.stop)
    assert "__rtcp_started.wait()" in stop and "__rtcp_exited.wait()" in stop
    assert "self._run_rtcp()" in inspect.getsource(RTCRtpSender.send)


async def test_hooks_hold_on_a_real_connection(live_server: LiveServer) -> None:
    service: LiveService = live_server.app.state.live
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        host = await create_space(client)
        listener = await join(client, host.space_id, "Lia")
        try:
            await host.connect(seats=12, send=ToneTrack(440), decode=False)
            await listener.connect(seats=13, decode=False)
            room = service.relay.rooms[host.space_id]
            await wait_for(
                lambda: room.listener_seats[0].packets_sent >= 25, what="forwarded packets"
            )
            # Tapped before the jitter buffer: nothing reaches aiortc's decoder.
            speaker = room.connections[host.participant_id]
            receiver = speaker.pc.getTransceivers()[0].receiver
            assert receiver.track._queue.qsize() == 0
            assert room.packets_in >= 25
            # Every sink sends on the fast path (SRTP straight to the nominated pair's socket).
            sinks = room.connections[listener.participant_id].sinks
            assert len(sinks) == 13 and all(sink.fast for sink in sinks)
            # The seats send the sender reports; aiortc's loop does not.
            assert all(sink.reports for sink in sinks)
            # The speaker's socket takes the fast receive path.
            protocols = receiver.transport.transport._connection._protocols
            assert all(type(p.datagram_received).__name__ == "_FastDatagrams" for p in protocols)
            # Each seat's sender announced the seat stream's SSRC in the answer.
            answer = SessionDescription.parse(
                room.connections[listener.participant_id].pc.localDescription.sdp
            )
            announced = [m.ssrc[0].ssrc for m in answer.media]
            assert announced == [seat.ssrc for seat in room.listener_seats]
            # The relay gathered candidates on 127.0.0.1 only (set by tests/conftest.py).
            hosts = {c.ip for m in answer.media for c in m.ice_candidates}
            assert hosts == {"127.0.0.1"}
        finally:
            await host.close_pc()
            await listener.close_pc()
