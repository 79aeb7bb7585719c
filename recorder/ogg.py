"""Ogg Opus files of packets as they came: muxed by PyAV, never encoded."""

from __future__ import annotations

import fractions
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av

from recorder.errors import TrackError
from recorder.opus import SAMPLE_RATE, opus_head, packet_samples

TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# libavformat's Ogg muxer keeps the newest complete page back until the next is cut, so up to
# two pages are in memory: at 250 ms a page, with the reorder window and the tick, a crash
# loses under a second. The cost: about 110 bytes a second of page headers.
PAGE_DURATION_US = 250_000


class OggOpusWriter:
    """Appends Opus packets to an Ogg file; pages reach the file within half a second."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.samples = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._container: Any = av.open(
                str(path),
                "w",
                format="ogg",
                # Short pages, each written through as soon as it is out of the muxer.
                options={"page_duration": str(PAGE_DURATION_US), "flush_packets": "1"},
            )
            stream = self._container.add_stream("libopus", rate=SAMPLE_RATE, layout="mono")
            # Opened first, so our header (pre-skip 0) replaces the encoder's own; nothing
            # is ever encoded.
            stream.codec_context.open()
            stream.codec_context.extradata = opus_head()
            stream.time_base = TIME_BASE
        except (av.error.FFmpegError, OSError) as exc:
            raise TrackError(f"could not create {path}: {exc}") from exc
        self._stream = stream

    def write(self, data: bytes, samples: int) -> None:
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.pts = packet.dts = self.samples
        packet.duration = samples
        packet.time_base = TIME_BASE
        try:
            self._container.mux(packet)
        except av.error.FFmpegError as exc:
            raise TrackError(f"could not write {self.path}: {exc}") from exc
        self.samples += samples

    def close(self) -> None:
        try:
            self._container.close()
        except av.error.FFmpegError as exc:
            raise TrackError(f"could not finish {self.path}: {exc}") from exc


def read_packets(path: Path) -> Iterator[bytes]:
    """The Opus packets of an Ogg file, up to its last intact page (crash-cut files too)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                if packet.size:
                    yield bytes(packet)
    except av.error.EOFError:
        return
    except (av.error.FFmpegError, IndexError) as exc:
        raise TrackError(f"could not read {path}: {exc}") from exc


def rewrite(source: Path, target: Path) -> int:
    """Copy a (possibly unfinished) track's packets into a finished file; its samples."""
    writer = OggOpusWriter(target)
    for data in read_packets(source):
        samples = packet_samples(data)
        if samples:
            writer.write(data, samples)
    writer.close()
    return writer.samples
