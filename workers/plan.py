"""The stages of processing a space, and the parts one run of it is made of.

::

    prepare/<track> ──> transcribe/<track> ──> captions ──> index ──┐
          │  (every track)                                          ├──> publish
          └───────────────> replay (mix, after every prepare) ──────┘

Each track is prepared and transcribed on its own, so one space's tracks are worked on in
parallel by as many workers as there are; ``captions`` waits for every track's transcript,
``replay`` for every track's loudness, ``publish`` for both branches. Parts carry a weight (their
share of the run's work, tracks weighted by their length) for the progress shown to people.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from stoa.catalog import PartSpec, TrackRecord


class Stage(enum.StrEnum):
    PREPARE = "prepare"
    TRANSCRIBE = "transcribe"
    REPLAY = "replay"
    CAPTIONS = "captions"
    INDEX = "index"
    PUBLISH = "publish"


# Shares of a run's work, in percent: recognition dominates, mixing and encoding come next.
WEIGHTS = {
    Stage.PREPARE: 10.0,
    Stage.TRANSCRIBE: 60.0,
    Stage.REPLAY: 20.0,
    Stage.CAPTIONS: 4.0,
    Stage.INDEX: 3.0,
    Stage.PUBLISH: 3.0,
}
_POSITION = {stage: i for i, stage in enumerate(Stage)}


def part_name(stage: Stage, participant_id: str | None = None) -> str:
    return f"{stage}/{participant_id}" if participant_id else str(stage)


def parse_part(name: str) -> tuple[Stage, str | None]:
    """A part's stage and, for per-track parts, the participant id."""
    stage, _, participant_id = name.partition("/")
    return Stage(stage), participant_id or None


def plan(tracks: Sequence[TrackRecord]) -> list[PartSpec]:
    """The parts of a run over these tracks."""
    total = sum(max(t.duration_ms, 1.0) for t in tracks) or 1.0
    prepares = [part_name(Stage.PREPARE, t.participant_id) for t in tracks]
    transcribes = [part_name(Stage.TRANSCRIBE, t.participant_id) for t in tracks]
    parts: list[PartSpec] = []
    for track, prepare, transcribe in zip(tracks, prepares, transcribes, strict=True):
        share = max(track.duration_ms, 1.0) / total
        parts.append(_spec(prepare, Stage.PREPARE, share))
        parts.append(_spec(transcribe, Stage.TRANSCRIBE, share, prepare))
    parts.append(_spec(Stage.REPLAY, Stage.REPLAY, 1.0, *prepares))
    parts.append(_spec(Stage.CAPTIONS, Stage.CAPTIONS, 1.0, *transcribes))
    parts.append(_spec(Stage.INDEX, Stage.INDEX, 1.0, Stage.CAPTIONS))
    parts.append(_spec(Stage.PUBLISH, Stage.PUBLISH, 1.0, Stage.INDEX, Stage.REPLAY))
    return parts


def _spec(name: str, stage: Stage, share: float, *waits_for: str) -> PartSpec:
    return PartSpec(
        name=name,
        stage=stage,
        position=_POSITION[stage],
        weight=WEIGHTS[stage] * share,
        waits_for=tuple(str(w) for w in waits_for),
    )
