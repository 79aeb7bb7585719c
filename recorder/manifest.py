"""A recorded space's manifest: its clock and every track, with packet accounting."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from recorder.opus import SAMPLE_RATE

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ManifestTrack:
    participant_id: str
    name: str
    key: str
    start_offset_ms: float
    duration_ms: float
    bytes: int
    packets_sent: int | None
    packets_received: int
    packets_lost: int
    packets_filled_ms: float
    packets: dict[str, Any]
    codec: dict[str, Any]


@dataclass(frozen=True)
class Manifest:
    space_id: str
    started_at: datetime
    ended_at: datetime
    record: bool
    tracks: list[ManifestTrack] = field(default_factory=list)
    recovered: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "space_id": self.space_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "record": self.record,
            "recovered": self.recovered,
            "clock": {
                "origin": self.started_at.isoformat(),
                "sample_rate": SAMPLE_RATE,
                "meaning": "sample n of a track plays at origin + start_offset_ms + n / 48000 s",
            },
            "tracks": [asdict(t) for t in self.tracks],
        }

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False).encode()
