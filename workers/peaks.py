"""Waveform peaks for the replay player, in the audiowaveform JSON format (version 2).

The format of BBC's ``audiowaveform``, which players such as peaks.js read: ``data`` holds a
minimum and a maximum per "pixel" of ``samples_per_pixel`` samples, as 8-bit integers. Read from
the raw float mix a block at a time, so an hour costs the same memory as a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SAMPLES_PER_PIXEL = 4800  # 100 ms at 48 kHz: 36,000 pixels for an hour
_PIXELS_PER_READ = 2048


def raw_blocks(path: Path, samples: int) -> Iterator[np.ndarray]:
    """A raw mono float32 file, ``samples`` per block."""
    with path.open("rb") as f:
        while block := f.read(samples * 4):
            yield np.frombuffer(block, dtype="<f4")


def peaks(
    blocks: Iterator[np.ndarray], *, gain: float = 1.0, samples_per_pixel: int = SAMPLES_PER_PIXEL
) -> Iterator[tuple[int, int]]:
    """(min, max) per pixel, as 8-bit values, of audio scaled by ``gain`` (clipped at full scale).

    Blocks must hold whole pixels, except the last.
    """
    for block in blocks:
        usable = len(block) - len(block) % samples_per_pixel
        shaped = [block[:usable].reshape(-1, samples_per_pixel)]
        if usable < len(block):
            shaped.append(block[usable:].reshape(1, -1))
        for pixels in shaped:
            low = np.clip(pixels.min(axis=1) * gain, -1.0, 1.0)
            high = np.clip(pixels.max(axis=1) * gain, -1.0, 1.0)
            for lo, hi in zip(_to_8bit(low), _to_8bit(high), strict=True):
                yield int(lo), int(hi)


def write_peaks(mix: Path, dest: Path, *, sample_rate: int, gain: float) -> int:
    """Write the peaks JSON of a raw float32 mix; the number of pixels."""
    pairs = list(
        peaks(raw_blocks(mix, SAMPLES_PER_PIXEL * _PIXELS_PER_READ), gain=gain),
    )
    document = {
        "version": 2,
        "channels": 1,
        "sample_rate": sample_rate,
        "samples_per_pixel": SAMPLES_PER_PIXEL,
        "bits": 8,
        "length": len(pairs),
        "data": [value for pair in pairs for value in pair],
    }
    dest.write_text(json.dumps(document, separators=(",", ":")))
    return len(pairs)


def _to_8bit(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values * 127.0), -128, 127).astype(np.int8)
