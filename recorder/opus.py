"""What the recorder needs to know about Opus packets, without decoding them (RFC 6716, 7845)."""

from __future__ import annotations

import struct

SAMPLE_RATE = 48_000

# Frame sizes in 48 kHz samples for the 32 TOC configurations (RFC 6716 §3.1).
_FRAME_SAMPLES = (
    [480, 960, 1920, 2880] * 3  # SILK NB, MB, WB: 10, 20, 40, 60 ms
    + [480, 960] * 2  # Hybrid SWB, FB: 10, 20 ms
    + [120, 240, 480, 960] * 4  # CELT NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
)

# libopus's own encoding of digital silence, CELT fullband mono, one frame each
# (tests/recorder/test_opus.py checks that libopus still produces them).
SILENCE = {
    120: bytes.fromhex("e0fffe"),
    240: bytes.fromhex("e8fffe"),
    480: bytes.fromhex("f0fffe"),
    960: bytes.fromhex("f8fffe"),
}
SILENCE_STEP = 120


def packet_samples(packet: bytes) -> int:
    """The number of 48 kHz samples an Opus packet decodes to; 0 if it is malformed."""
    if not packet:
        return 0
    toc = packet[0]
    per_frame = _FRAME_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(packet) < 2:
            return 0
        frames = packet[1] & 0x3F
    samples = per_frame * frames
    # A packet longer than 120 ms is invalid (RFC 6716 §3.2.5).
    return samples if 0 < samples <= 5760 else 0


def silence(samples: int) -> list[tuple[bytes, int]]:
    """Silence packets covering ``samples`` (rounded down to 2.5 ms), largest first."""
    packets = []
    for size in (960, 480, 240, 120):
        count, samples = divmod(samples, size)
        packets.extend([(SILENCE[size], size)] * count)
    return packets


def opus_head(channels: int = 1, pre_skip: int = 0) -> bytes:
    """The OpusHead identification header (RFC 7845 §5.1).

    Pre-skip is 0: sample n of the decoded track is sample n of the packets as sent, which
    keeps the track's timeline exact.
    """
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, SAMPLE_RATE, 0, 0)
