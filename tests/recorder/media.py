"""Real Opus media for recorder tests: tones and silence encoded by libopus, decoded by ffmpeg."""

from __future__ import annotations

import fractions
import subprocess
from pathlib import Path

import av
import numpy as np

RATE = 48_000
FRAME = 960


def tone(seconds: float, frequency: float = 1000.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def encode(signal: np.ndarray) -> list[bytes]:
    """20 ms Opus packets of a mono float signal, as a browser would send them."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.time_base = fractions.Fraction(1, RATE)
    codec.options = {"frame_duration": "20", "application": "voip"}
    codec.open()
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % FRAME, dtype=np.int16)])
    packets: list[bytes] = []
    for i in range(0, len(pcm), FRAME):
        frame = av.AudioFrame.from_ndarray(pcm[i : i + FRAME].reshape(1, -1), "s16", "mono")
        frame.sample_rate = RATE
        frame.pts = i
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return packets[: len(pcm) // FRAME]


def decode(path: Path) -> np.ndarray:
    """A plain decode with ffmpeg (``ffmpeg -i track.ogg out.wav``), as float mono."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32)


def onsets(samples: np.ndarray, threshold: float = 0.05, min_gap: float = 0.3) -> list[float]:
    """Times (s) where the signal's 5 ms RMS rises above ``threshold`` after quiet."""
    window = RATE // 200
    usable = len(samples) - len(samples) % window
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, window) ** 2, axis=1))
    loud = rms > threshold
    times: list[float] = []
    last = -1e9
    for i in np.flatnonzero(loud & ~np.concatenate([[False], loud[:-1]])):
        t = i * window / RATE
        if t - last >= min_gap:
            times.append(t)
        last = t
    return times
