"""Every place the relay reaches into aiortc's and aioice's private API, in one module.

aiortc decodes what it receives and encodes what it sends; an SFU must do neither. The hooks:

- `tap_receiver` takes a receiver's RTP packets before its jitter buffer and decoder
  (``RTCRtpReceiver._handle_rtp_packet``, called by ``RTCDtlsTransport._handle_rtp_data``);
- `tap_sender_reports` shows the recorder the sender reports that reach a receiver
  (``RTCRtpReceiver._handle_rtcp_packet``);
- `RtpSink` sends already-serialized RTP through a connection's SRTP session straight to the
  nominated ICE pair's socket (``RTCDtlsTransport._tx_srtp``, ``Connection._nominated``,
  ``StunProtocol.transport``), falling back to ``RTCDtlsTransport._send_rtp`` when the fast
  path is not there;
- `set_sender_ssrc` gives a sender the SSRC of the seat stream it carries before the answer
  is created, so one serialized packet serves every listener of a seat;
- `restrict_host_addresses` limits the interfaces aioice gathers host candidates on.

aiortc and aioice are pinned in pyproject.toml; tests/live/test_rtp_hooks.py fails if an
upgrade moves any of these.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RtcpSrPacket, RtpPacket

logger = logging.getLogger(__name__)

PacketHandler = Callable[[RtpPacket, int], None]


def tap_receiver(receiver: RTCRtpReceiver, handler: PacketHandler) -> None:
    """Route a receiver's RTP packets to ``handler(packet, arrival_ms)`` instead of decoding.

    The receiver's RTCP (sender reports, receiver reports) keeps flowing through aiortc.
    """

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        handler(packet, arrival_time_ms)

    # The DTLS transport looks the method up on the instance for every packet.
    receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]


SenderReportHandler = Callable[[RtcpSrPacket], None]


def tap_sender_reports(receiver: RTCRtpReceiver, handler: SenderReportHandler) -> None:
    """Also hand the RTCP sender reports a receiver gets to ``handler``; aiortc keeps them too."""
    original = receiver._handle_rtcp_packet

    async def handle_rtcp_packet(packet: Any) -> None:
        await original(packet)
        if isinstance(packet, RtcpSrPacket):
            handler(packet)

    receiver._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]


def set_sender_ssrc(sender: RTCRtpSender, ssrc: int) -> None:
    """Make ``sender`` announce and use ``ssrc``; call before the answer is created."""
    sender._ssrc = ssrc


class RtpSink:
    """Where one seat's packets go for one peer connection: SRTP-protect, then send."""

    __slots__ = ("_dtls", "_fast", "_pending", "payload_type")

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self._dtls = sender.transport
        self.payload_type = payload_type
        self._fast: tuple[Callable[[bytes], bytes], Callable[[bytes, Any], None], Any] | None
        self._fast = _fast_path(self._dtls)
        self._pending: set[asyncio.Future[None]] = set()

    @property
    def fast(self) -> bool:
        return self._fast is not None

    def send(self, data: bytes) -> None:
        fast = self._fast
        if fast is not None:
            protect, sendto, addr = fast
            sendto(protect(data), addr)
            return
        self._send_slow(self._dtls._send_rtp(data))

    def _send_slow(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("RTP send failed: %s", task.exception())


def _fast_path(
    dtls: Any,
) -> tuple[Callable[[bytes], bytes], Callable[[bytes, Any], None], Any] | None:
    try:
        protect = dtls._tx_srtp.protect
        pair = dtls.transport._connection._nominated[1]
        udp = pair.protocol.transport
        addr = pair.remote_addr
    except (AttributeError, KeyError, TypeError):
        return None
    if protect is None or udp is None or not hasattr(udp, "sendto"):
        return None
    return protect, udp.sendto, addr


_original_host_addresses = aioice.ice.get_host_addresses


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Gather ICE host candidates only on ``addresses`` (all interfaces when empty)."""
    if not addresses:
        aioice.ice.get_host_addresses = _original_host_addresses
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses
