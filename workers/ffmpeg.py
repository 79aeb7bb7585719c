"""Running ffmpeg for the media stages, and reading its EBU R128 loudness summary.

Decoding, resampling, mixing, measuring and encoding run in one ffmpeg process per job: its
filters are C, off Python's GIL, so a worker's other threads (and the in-process workers beside
a web server) keep running, and its ``ebur128`` filter is the reference EBU R128 meter.
ffmpeg's failures become `MediaError` with ffmpeg's own last words, which say what is wrong
with the file.

Decoded audio goes through `guard` first. Opus decodes silence, most of a recorded track, into
denormal floats (below 1.2e-38), and recursive filters decay into them when their input falls
silent: ebur128's K-weighting settles on the smallest doubles for good. On many x86 CPUs each
operation on a denormal takes a microcode assist, tens of times a normal one: on such a CPU
preparing a track took eight times its decoding, and encoding the mix twice as long. The guard
adds a tone at half the sample rate, far below anything audio holds, that keeps every value
normal; the results are the same (see `guard`).
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from workers.errors import MediaError, PermanentError

# What ebur128 prints at the end: "Integrated loudness:\n    I:  -23.0 LUFS".
_INTEGRATED = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf|nan)\s*LUFS")
_ERROR_LINES = 4
_CONTEXT = re.compile(r"\[[\w:-]+ @ 0x[0-9a-f]+\] ")
_NO_FILTER = re.compile(r"No such filter: '(\w+)'")
# ebur128's floor: gated blocks quieter than this do not count (silence has no loudness).
SILENT_LUFS = -70.0


def run(args: Sequence[str], *, what: str) -> str:
    """Run ffmpeg with ``args``; its log (stderr). `MediaError` naming ``what`` if it fails."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-y", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace")
    except FileNotFoundError as exc:
        raise PermanentError("ffmpeg is not installed on this worker") from exc
    if done.returncode != 0:
        missing = _NO_FILTER.search(done.stderr)
        if missing:
            raise PermanentError(
                f"ffmpeg on this worker has no {missing[1]} filter: Stoa needs ffmpeg 4.4 or later"
            )
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        reason = "; ".join(lines[-_ERROR_LINES:]) or f"exit status {done.returncode}"
        raise MediaError(f"{what}: ffmpeg failed: {_readable(reason, args)}")
    return done.stderr


def _readable(reason: str, args: Sequence[str]) -> str:
    """ffmpeg's words without its context addresses and the worker's scratch paths."""
    reason = _CONTEXT.sub("", reason)
    for arg in args:
        if "/" in arg and not arg.startswith("["):
            reason = reason.replace(arg, Path(arg).name)
    return reason


def integrated_loudness(log: str) -> float | None:
    """The last integrated loudness (LUFS) ebur128 reported in ``log``; None for silence."""
    found = _INTEGRATED.findall(log)
    if not found:
        raise MediaError("ffmpeg's loudness meter reported nothing")
    value = float(found[-1])
    if math.isnan(value) or value <= SILENT_LUFS:
        return None
    return value


def meter(label: str) -> str:
    """A filter chain that measures ``label`` and discards it (the summary goes to the log)."""
    return f"[{label}]ebur128=framelog=verbose,anullsink"


# The guard's level: 1e-15, 200 dB under 16-bit audio's smallest step, and too small to change
# by one bit a float sample louder than −150 dBFS; yet 10^23 times the largest denormal.
GUARD_DB = -300.0


def guard(level_db: float = GUARD_DB) -> str:
    """A filter that keeps audio out of denormal floats (``adenorm``, ffmpeg 4.4 and later).

    It adds ±10^(level_db/20) in turn, sample by sample. Alternating, it passes ebur128's
    K-weighting (a constant would cancel in its high-pass filter exactly, and leave it to decay
    into denormals), yet its loudness, some −300 LUFS, is far under the meter's −70 LUFS gate,
    so measurements are unchanged; resampling to 16 kHz filters it out, and 16-bit samples and
    AAC round it away.
    """
    return f"adenorm=level={level_db:g}:type=ac"
