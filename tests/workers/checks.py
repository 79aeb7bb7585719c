"""Checks on what the pipeline published: the replay file, its loudness, the caption cues."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stoa.catalog import Catalog
from stoa.storage import ObjectStore
from tests.workers.spaces import RecordedSpace
from workers import keys

TOLERANCE = 0.1  # s: cues against where speech was placed (the issue's ± 100 ms)

_CUE = re.compile(r"^(\S+) --> (\S+)")
_VOICE = re.compile(r"^<v ([^>]+)>")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str


def seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def vtt_cues(text: str) -> list[Cue]:
    """Cues of a WebVTT file with their ``<v Speaker>`` voice."""
    cues = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        timing = _CUE.match(line)
        if timing:
            voice = _VOICE.match(lines[i + 1])
            assert voice, f"cue without a voice: {lines[i + 1]!r}"
            cues.append(Cue(seconds(timing[1]), seconds(timing[2]), voice[1]))
    return cues


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def loudness(path: Path) -> float:
    """Integrated loudness (LUFS), measured by ffmpeg's EBU R128 meter on the decoded file."""
    log = subprocess.run(
        ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path)]
        + ["-af", "ebur128=framelog=verbose", "-f", "null", "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    found = re.findall(r"Integrated loudness:\s*I:\s*(-?[\d.]+) LUFS", log)
    return float(found[-1])


def moov_before_mdat(path: Path) -> bool:
    """MP4 with its index first (``+faststart``): players seek before the whole file loads."""
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def assert_replay(
    catalog: Catalog,
    store: ObjectStore,
    recorded: RecordedSpace,
    folder: Path,
    *,
    every_phrase_covered: bool = True,
) -> list[Cue]:
    """The issue's checks on a processed space; its caption cues.

    ``every_phrase_covered``: the random model's segments cover every speech clip when a batch
    holds few of them (phrases seconds apart); a batch of many clips may leave one uncovered.
    """
    record = catalog.processing(recorded.space.id)
    assert record is not None and record.published_run is not None
    audio = folder / "replay.m4a"
    store.download(record.outputs[keys.AUDIO], audio)
    assert abs(duration(audio) - recorded.duration) < 0.05
    assert abs(loudness(audio) - -16.0) <= 1.0
    assert moov_before_mdat(audio)

    cues = vtt_cues(store.get_bytes(record.outputs[keys.VTT]).decode())
    assert cues
    for cue in cues:
        stretches = recorded.stretches(recorded.participants[cue.speaker])
        assert any(
            start - TOLERANCE <= cue.start and cue.end <= end + TOLERANCE
            for start, end in stretches
        ), f"{cue} is not inside {cue.speaker}'s speech {stretches}"
    for placed in recorded.placed if every_phrase_covered else ():
        start, end = placed.sound
        assert any(c.speaker == placed.speaker and c.start < end and c.end > start for c in cues), (
            f"no cue covers {placed}"
        )
    # The search index (caption segments) says the same, attributed by participant id.
    for segment in catalog.caption_segments(recorded.space.id):
        stretches = recorded.stretches(segment.speaker_id)
        assert any(
            start - TOLERANCE <= segment.start and segment.end <= end + TOLERANCE
            for start, end in stretches
        ), f"{segment} is not inside its speaker's speech"
    return cues


def assert_one_set_of_captions(catalog: Catalog, space_id: str, cues: list[Cue]) -> None:
    """No segment or cue twice: a speaker's own never overlap (each track's never do)."""
    for speaker in {c.speaker for c in cues}:
        own = sorted((c.start, c.end) for c in cues if c.speaker == speaker)
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(own, own[1:], strict=False)), own
    segments = catalog.caption_segments(space_id)
    for speaker_id in {s.speaker_id for s in segments}:
        own = sorted((s.start, s.end) for s in segments if s.speaker_id == speaker_id)
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(own, own[1:], strict=False)), own
