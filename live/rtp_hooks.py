"""Every place the relay reaches into aiortc's, aioice's and pylibsrtp's private API, in one module.

aiortc decodes what it receives and encodes what it sends; an SFU must do neither. The hooks:

- `tap_receiver` takes a receiver's RTP packets before its jitter buffer and decoder
  (``RTCRtpReceiver._handle_rtp_packet``, called by ``RTCDtlsTransport._handle_rtp_data``).
  Once the first packet has come that way, the tapped connection's sockets get a fast path
  (``StunProtocol.datagram_received``, ``Connection._protocols``, ``RtpRouter.ssrc_table``,
  ``RTCDtlsTransport._rx_srtp``): tapped RTP is unprotected and handed over in the socket's
  callback, without aioice's queue and the DTLS transport's task, and the socket is drained
  on each callback. An event loop reads a fixed number of datagrams per socket and turn (one
  for asyncio, 32 for uvloop): while hundreds of listeners' sockets keep a relay's loop busy,
  a speaker's socket would otherwise back up until the kernel drops its packets and its ICE
  consent expires;
- `RtpSink` sends already-serialized RTP (and a seat's RTCP) through a connection's SRTP
  session straight to the nominated ICE pair's socket (``RTCDtlsTransport._tx_srtp``,
  ``Connection._nominated``, ``StunProtocol.transport``, libsrtp through pylibsrtp's cffi
  binding), falling back to ``RTCDtlsTransport._send_rtp`` when the fast path is not there;
- `carry_seat` gives a sender the SSRC of the seat stream it carries before the answer is
  created, so one serialized packet serves every listener of a seat, and hands its RTCP
  sender reports to the seat (``RTCRtpSender._run_rtcp``): aiortc would send one report per
  sender and second, 13 per listener, each built and encrypted in Python;
- `set_sender_ssrc` only gives the SSRC, and leaves the reports to aiortc;
- `restrict_host_addresses` limits the interfaces aioice gathers host candidates on.

aiortc, aioice and pylibsrtp are pinned in pyproject.toml; tests/live/test_rtp_hooks.py fails
if an upgrade moves any of these.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCRtpReceiver, RTCRtpSender, clock
from aiortc.rtp import RtcpByePacket, RtcpSrPacket, RtpPacket
from pylibsrtp._binding import ffi, lib

logger = logging.getLogger(__name__)

PacketHandler = Callable[[RtpPacket, int], None]
Send = Callable[[bytes], None]

# At most this many datagrams are read from a tapped socket in one callback, beyond the one
# the event loop read: enough for seconds of a speaker's packets, not a monopoly on the loop.
DRAIN_LIMIT = 64
_DATAGRAM_BYTES = 65_536
_SRTP_TRAILER = pylibsrtp.SRTP_MAX_TRAILER_LEN
_SRTCP_TRAILER = pylibsrtp.SRTP_MAX_SRTCP_TRAILER_LEN

_taps: weakref.WeakKeyDictionary[RTCRtpReceiver, PacketHandler] = weakref.WeakKeyDictionary()
_fast_transports: weakref.WeakSet[Any] = weakref.WeakSet()
_seat_senders: weakref.WeakSet[RTCRtpSender] = weakref.WeakSet()


def tap_receiver(receiver: RTCRtpReceiver, handler: PacketHandler) -> None:
    """Route a receiver's RTP packets to ``handler(packet, arrival_ms)`` instead of decoding.

    The receiver's RTCP (sender reports, receiver reports) keeps flowing through aiortc.
    """
    _taps[receiver] = handler

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        # aiortc's path: the first packets, until the router knows the SSRC.
        handler(packet, arrival_time_ms)
        _receive_fast(receiver.transport)

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


def _receive_fast(dtls: Any) -> None:
    """Give the sockets of ``dtls``'s connection the fast path for tapped RTP, once."""
    if dtls in _fast_transports:
        return
    _fast_transports.add(dtls)
    try:
        protocols = list(dtls.transport._connection._protocols)
        for protocol in protocols:
            _FastDatagrams(dtls, protocol)
    except AttributeError as exc:
        logger.warning("no fast receive path, aiortc or aioice moved: %s", exc)


class _FastDatagrams:
    """A tapped connection's socket callback: tapped RTP here, everything else to aioice."""

    def __init__(self, dtls: Any, protocol: aioice.ice.StunProtocol) -> None:
        self._dtls = dtls
        self._router = dtls._rtp_router
        self._fallback = type(protocol).datagram_received.__get__(protocol)
        self._lost = type(protocol).connection_lost.__get__(protocol)
        self._sock = _reader(protocol.transport)
        self._buffer = bytearray(_DATAGRAM_BYTES) if self._sock is not None else bytearray()
        # The transports look both callbacks up on the protocol for every call.
        protocol.datagram_received = self  # type: ignore[method-assign, assignment]
        protocol.connection_lost = self.connection_lost  # type: ignore[method-assign]

    def __call__(self, data: bytes, addr: Any) -> None:
        self._dispatch(data, addr)
        sock = self._sock
        if sock is None:
            return
        view = memoryview(self._buffer)
        for _ in range(DRAIN_LIMIT):
            try:
                size, addr = sock.recvfrom_into(self._buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # an ICMP error on a UDP socket; the loop reports it too
                logger.debug("draining a tapped socket: %s", exc)
                return
            try:
                self._dispatch(bytes(view[:size]), addr)
            except Exception:
                logger.exception("a datagram from %s could not be handled", addr)

    def _dispatch(self, data: bytes, addr: Any) -> None:
        dtls = self._dtls
        srtp = dtls._rx_srtp
        # RFC 7983 demultiplexing as aiortc does it: RTP, and not RTCP (aiortc.rtp.is_rtcp).
        if (
            srtp is not None
            and len(data) >= 12
            and 127 < data[0] < 192
            and not 192 <= data[1] <= 208
        ):
            receiver = self._router.ssrc_table.get(int.from_bytes(data[8:12], "big"))
            handler = _taps.get(receiver) if receiver is not None else None
            if handler is not None and receiver in self._router.payload_type_table.get(
                data[1] & 0x7F, ()
            ):
                try:
                    packet = RtpPacket.parse(srtp.unprotect(data), dtls._rtp_header_extensions_map)
                except (pylibsrtp.Error, ValueError) as exc:
                    logger.debug("dropped an RTP packet: %s", exc)
                    return
                handler(packet, clock.current_ms())
                return
        self._fallback(data, addr)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._lost(exc)


def _reader(transport: Any) -> socket.socket | None:
    """Our own descriptor of a datagram transport's socket, to drain it without the loop."""
    try:
        fileno = transport.get_extra_info("socket").fileno()
        sock = socket.socket(fileno=os.dup(fileno))
    except (AttributeError, OSError) as exc:
        logger.debug("cannot drain this transport: %s", exc)
        return None
    sock.setblocking(False)
    return sock


def carry_seat(sender: RTCRtpSender, ssrc: int) -> None:
    """Make ``sender`` carry a seat stream; call before the answer is created.

    The sender announces ``ssrc``; its RTP and its RTCP sender reports go out through the
    seat's `RtpSink`s. aiortc's report loop for it only says BYE when the sender stops.
    """
    set_sender_ssrc(sender, ssrc)
    sender._run_rtcp = functools.partial(_bye_only, sender)  # type: ignore[method-assign]
    _seat_senders.add(sender)


async def _bye_only(sender: Any) -> None:
    # What RTCRtpSender._run_rtcp does, less the periodic reports; stop() waits on both events.
    sender._RTCRtpSender__rtcp_started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        pass
    await sender._send_rtcp([RtcpByePacket(sources=[sender._ssrc])])
    sender._RTCRtpSender__rtcp_exited.set()


def set_sender_ssrc(sender: RTCRtpSender, ssrc: int) -> None:
    """Make ``sender`` announce and use ``ssrc``; call before the answer is created."""
    sender._ssrc = ssrc


class RtpSink:
    """Where one seat's packets go for one peer connection: SRTP-protect, then send.

    ``send`` and ``send_rtcp`` take serialized RTP and RTCP. ``reports`` is true when the
    sender was set up with `carry_seat`: its seat sends the sender reports.
    """

    __slots__ = ("_dtls", "_pending", "payload_type", "reports", "send", "send_rtcp")

    def __init__(self, sender: RTCRtpSender, payload_type: int) -> None:
        self._dtls = sender.transport
        self.payload_type = payload_type
        self.reports = sender in _seat_senders
        self._pending: set[asyncio.Future[None]] = set()
        fast = _fast_send(self._dtls)
        self.send: Send = fast[0] if fast else self._send_slow
        self.send_rtcp: Send = fast[1] if fast else self._send_slow

    @property
    def fast(self) -> bool:
        return self.send != self._send_slow

    def _send_slow(self, data: bytes) -> None:
        self._track(self._dtls._send_rtp(data))

    def _track(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("RTP send failed: %s", task.exception())


def _fast_send(dtls: Any) -> tuple[Send, Send] | None:
    """Send functions for RTP and RTCP that protect with libsrtp and write to the socket.

    pylibsrtp's ``Session.protect`` allocates and copies on every call; at a few thousand
    packets per second and listener seat that is a third of the relay's time. These share
    the session's buffer, as ``protect`` does, with one length cell of their own.
    """
    try:
        session = dtls._tx_srtp
        pair = dtls.transport._connection._nominated[1]
        sendto = pair.protocol.transport.sendto
        addr = pair.remote_addr
        srtp = session._srtp[0]
        cdata = session._cdata
        buffer = session._buffer
    except (AttributeError, KeyError, TypeError):
        return None
    length = ffi.new("int *")
    capacity = len(cdata)

    def protector(protect: Any, trailer: int, what: str) -> Send:
        def send(data: bytes) -> None:
            size = len(data)
            if size > capacity - trailer:
                logger.debug("dropped an outgoing %s packet of %d bytes", what, size)
                return
            buffer[0:size] = data
            length[0] = size
            status = protect(srtp, cdata, length)
            if status:
                # Replayed sequence numbers (a duplicate from the speaker) end up here.
                logger.debug("libsrtp refused to protect an %s packet: status %d", what, status)
                return
            sendto(buffer[0 : length[0]], addr)

        return send

    return (
        protector(lib.srtp_protect, _SRTP_TRAILER, "RTP"),
        protector(lib.srtp_protect_rtcp, _SRTCP_TRAILER, "RTCP"),
    )


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
