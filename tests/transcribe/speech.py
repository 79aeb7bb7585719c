"""Real speech for tests: espeak-ng phrases placed at known times, and where their sound is.

Importable by other test packages (``from tests.transcribe.speech import place, Phrase``).
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from transcribe.audio import SAMPLE_RATE, decode

PHRASES = (
    "The quick brown fox jumps over the lazy dog.",
    "Welcome to the space, everyone. Let us begin.",
    "Thank you for having me here today.",
    "Recording starts now, please speak clearly.",
)


@lru_cache(maxsize=64)
def _spoken(text: str, voice: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "phrase.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        samples = np.concatenate(list(decode(path)))
    samples.setflags(write=False)
    return samples


def spoken(text: str, voice: str = "en") -> np.ndarray:
    """``text`` said by espeak-ng, as 16 kHz mono float32."""
    return _spoken(text, voice)


def sounding(samples: np.ndarray, threshold: float = 0.01) -> tuple[float, float]:
    """First and last moment (s) where 10 ms frames are louder than ``threshold`` RMS."""
    frame = SAMPLE_RATE // 100
    usable = len(samples) - len(samples) % frame
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > threshold)
    return loud[0] * frame / SAMPLE_RATE, (loud[-1] + 1) * frame / SAMPLE_RATE


@dataclass(frozen=True)
class Phrase:
    at: float  # where the phrase's audio is placed (s)
    text: str
    voice: str = "en"

    @property
    def audio(self) -> np.ndarray:
        return spoken(self.text, self.voice)

    @property
    def sound(self) -> tuple[float, float]:
        """Where the phrase is audible on the track's clock (s)."""
        start, end = sounding(self.audio)
        return self.at + start, self.at + end


def place(phrases: list[Phrase], duration: float) -> np.ndarray:
    """A track of ``duration`` seconds of silence with the phrases placed in it."""
    track = np.zeros(round(duration * SAMPLE_RATE), dtype=np.float32)
    for phrase in phrases:
        start = round(phrase.at * SAMPLE_RATE)
        audio = phrase.audio[: len(track) - start]
        track[start : start + len(audio)] += audio
    return track


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """16-bit mono WAV."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def write_long_wav(path: Path, phrases: list[Phrase], duration: float) -> Path:
    """A long mostly silent WAV written a second at a time, never whole in memory."""
    second = SAMPLE_RATE
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        for index in range(int(np.ceil(duration))):
            chunk = np.zeros(second, dtype=np.float32)
            for phrase in phrases:
                offset = round(phrase.at * SAMPLE_RATE) - index * second
                audio = phrase.audio
                lo, hi = max(0, offset), min(second, offset + len(audio))
                if lo < hi:
                    chunk[lo:hi] += audio[lo - offset : hi - offset]
            out.writeframes((np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes())
    return path
