"""Where the pipeline keeps what it makes, in object storage.

Every run writes under its own prefix, ``spaces/<space>/runs/<run>/``, so a run never overwrites
what readers are using: the catalog's ``processing.outputs`` names the published run's keys and
switches to the new ones in one transaction; the older run's objects are deleted afterwards.
"""

from __future__ import annotations

from stoa.storage import key

# Names of the published outputs, as the catalog's ``processing.outputs`` keys them.
AUDIO = "audio"
PEAKS = "peaks"
VTT = "vtt"
SRT = "srt"
TXT = "txt"
JSON = "json"

_FILES = {
    AUDIO: "replay.m4a",
    PEAKS: "peaks.json",
    VTT: "captions.vtt",
    SRT: "captions.srt",
    TXT: "transcript.txt",
    JSON: "transcript.json",
}
CONTENT_TYPES = {
    AUDIO: "audio/mp4",
    PEAKS: "application/json",
    VTT: "text/vtt; charset=utf-8",
    SRT: "application/x-subrip; charset=utf-8",
    TXT: "text/plain; charset=utf-8",
    JSON: "application/json",
}
CAPTION_FORMATS = {VTT: "vtt", SRT: "srt", TXT: "txt", JSON: "json"}


def run_prefix(space_id: str, run: int) -> str:
    return key("spaces", space_id, "runs", str(run))


def output_key(space_id: str, run: int, name: str) -> str:
    return key("spaces", space_id, "runs", str(run), _FILES[name])


def outputs(space_id: str, run: int) -> dict[str, str]:
    """Every published output's key for a run, by name."""
    return {name: output_key(space_id, run, name) for name in _FILES}


def speech_key(space_id: str, run: int, participant_id: str) -> str:
    """A track prepared for recognition (16 kHz mono FLAC); deleted once the run is published."""
    return key("spaces", space_id, "runs", str(run), "speech", f"{participant_id}.flac")


def speech_prefix(space_id: str, run: int) -> str:
    return key("spaces", space_id, "runs", str(run), "speech")
