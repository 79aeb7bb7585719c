"""Audio for recognition: any file PyAV can read, as 16 kHz mono float32, a chunk at a time.

A chain of small generators, as in faster-whisper's ``audio.py``:
``demux -> decode, skipping damaged packets -> group -> resample``. Nothing holds more than one
group of frames, so an hour-long track decodes in the same memory as a minute.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

from transcribe.errors import AudioError

SAMPLE_RATE = 16_000
CHUNK_SAMPLES = SAMPLE_RATE  # what one chunk of an in-memory array holds: 1 s
_GROUP_SAMPLES = 1 << 16  # input samples resampled at once: PyAV's per-call cost, amortized
_MAX_DEMUX_FAILURES = 100  # consecutive unreadable stretches before a file counts as unreadable


def decode(path: str | Path) -> Iterator[np.ndarray]:
    """The first audio stream of ``path`` as 16 kHz mono float32 chunks.

    Raises ``AudioError`` naming the file when it is missing, not media, or has no audio.
    Undecodable packets in the middle of a stream are skipped, as faster-whisper does.
    """
    container = _open(path)
    try:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frames = _frames(container, path)
        frames = _group(frames)
        for frame in _resample(frames, resampler):
            yield frame.to_ndarray().reshape(-1)
    finally:
        container.close()
        # PyAV's resampler objects are freed only by the garbage collector, so a long-lived worker
        # would grow with every file: https://github.com/SYSTRAN/faster-whisper/issues/390
        gc.collect()


def probe_duration(path: str | Path) -> float | None:
    """The file's duration in seconds as its container states it, or None when it does not."""
    container = _open(path)
    try:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio stream")
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return float(container.duration) / av.time_base
        return None
    finally:
        container.close()


def chunks(audio: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Audio given as one array or as chunks, as a stream of 1-D float32 chunks (views, no copy)."""
    if isinstance(audio, np.ndarray):
        array = audio
        audio = (array[i : i + CHUNK_SAMPLES] for i in range(0, len(array), CHUNK_SAMPLES))
    for chunk in audio:
        if chunk.ndim != 1:
            raise AudioError(f"expected mono samples (one dimension), got shape {chunk.shape}")
        if chunk.size:
            yield chunk if chunk.dtype == np.float32 else chunk.astype(np.float32)


def counted(
    audio: Iterable[np.ndarray], on_seconds: Callable[[float], None]
) -> Iterator[np.ndarray]:
    """Pass chunks through, telling ``on_seconds`` how much audio each one held (for progress)."""
    for chunk in audio:
        yield chunk
        on_seconds(len(chunk) / SAMPLE_RATE)


def _open(path: str | Path) -> Any:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except FileNotFoundError as exc:
        raise AudioError(f"{path}: no such file") from exc
    except (av.error.FFmpegError, OSError) as exc:
        raise AudioError(f"{path}: not an audio file PyAV can read ({exc})") from exc


def _frames(container: Any, path: str | Path) -> Iterator[Any]:
    # Packet by packet: an exception out of PyAV's decode() generator would end it, so a
    # damaged packet must be caught where it is decoded for the rest of the stream to follow.
    stream = container.streams.audio[0]
    for packet in _packets(container, stream, path):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue  # a damaged packet: its audio is lost, the rest of the stream is not
        except av.error.FFmpegError as exc:
            raise AudioError(f"{path}: decoding failed ({exc})") from exc
        yield from frames


def _packets(container: Any, stream: Any, path: str | Path) -> Iterator[Any]:
    failures = 0
    while True:
        try:
            for packet in container.demux(stream):
                yield packet
                failures = 0
            return
        except av.error.InvalidDataError as exc:
            # The demuxer resumes after damaged data when asked again; give up on a file that
            # is damaged throughout.
            failures += 1
            if failures > _MAX_DEMUX_FAILURES:
                raise AudioError(f"{path}: damaged beyond reading ({exc})") from exc
        except av.error.FFmpegError as exc:
            raise AudioError(f"{path}: reading failed ({exc})") from exc


def _group(frames: Iterable[Any]) -> Iterator[Any]:
    fifo = av.AudioFifo()
    for frame in frames:
        frame.pts = None  # the FIFO checks timestamps for gaps; a track's own may have some
        fifo.write(frame)
        if fifo.samples >= _GROUP_SAMPLES:
            yield fifo.read()
    if fifo.samples:
        yield fifo.read()


def _resample(frames: Iterable[Any], resampler: Any) -> Iterator[Any]:
    for frame in itertools.chain(frames, [None]):  # None flushes the resampler
        yield from resampler.resample(frame)
