"""The stages of processing a space, and the parts one run of it is made of.

::

                        ┌──> transcribe/<track>/0 ──┐
    prepare/<track> ────┼──> transcribe/<track>/1 ──┼──> captions ──> index ──┐
          │             └──> ...  (every piece)  ───┘  (every track)          ├──> publish
          └───────────────> replay (mix, after every prepare) ────────────────┘

Each track is prepared on its own, and its transcription is split in pieces of at most
``piece_seconds`` (`pieces`), cut in silence where ``prepare`` found some (`workers.prepare.cuts`):
every piece is a part of its own, so one space's recognition is shared by as many workers as
there are, however few its tracks. Pieces of one track are recognized in one language, which
``prepare`` detects on the track's first speech when none is set (a piece detecting its own
could disagree with the others). A track short enough for one piece has one part, named
``transcribe/<track>`` as before, and detects its language there. ``captions`` waits for
every piece of every track, ``replay`` for every track's loudness, ``publish`` for both
branches. Parts carry a weight (their share of the run's work, tracks weighted by their length,
split evenly between a track's pieces) for the progress shown to people.
"""

from __future__ import annotations

import enum
import math
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

DEFAULT_PIECE_SECONDS = 300.0
"""The longest piece of a track that one transcription part recognizes."""


def part_name(stage: Stage, participant_id: str | None = None, piece: int | None = None) -> str:
    """``stage``, ``stage/<participant>``, or ``stage/<participant>/<piece>``."""
    if not participant_id:
        return str(stage)
    return f"{stage}/{participant_id}" if piece is None else f"{stage}/{participant_id}/{piece}"


def parse_part(name: str) -> tuple[Stage, str | None]:
    """A part's stage and, for per-track parts, the participant id."""
    stage, _, rest = name.partition("/")
    return Stage(stage), rest.partition("/")[0] or None


def parse_piece(name: str) -> int:
    """The piece of its track a transcription part recognizes: 0 for a part of one piece."""
    piece = name.split("/")[2:]
    return int(piece[0]) if piece else 0


def pieces(duration_ms: float, piece_seconds: float = DEFAULT_PIECE_SECONDS) -> int:
    """How many pieces a track of this length is transcribed in: none longer than a piece."""
    if piece_seconds <= 0:
        raise ValueError("piece_seconds must be positive")
    return max(1, math.ceil(duration_ms / 1000 / piece_seconds - 1e-9))


def transcribe_parts(participant_id: str, count: int) -> list[str]:
    """The names of a track's transcription parts, one per piece, in order."""
    if count == 1:
        return [part_name(Stage.TRANSCRIBE, participant_id)]
    return [part_name(Stage.TRANSCRIBE, participant_id, k) for k in range(count)]


def plan(
    tracks: Sequence[TrackRecord], piece_seconds: float = DEFAULT_PIECE_SECONDS
) -> list[PartSpec]:
    """The parts of a run over these tracks, their recognition in pieces of ``piece_seconds``."""
    total = sum(max(t.duration_ms, 1.0) for t in tracks) or 1.0
    prepares = [part_name(Stage.PREPARE, t.participant_id) for t in tracks]
    transcribes: list[str] = []
    parts: list[PartSpec] = []
    for track, prepare in zip(tracks, prepares, strict=True):
        share = max(track.duration_ms, 1.0) / total
        parts.append(_spec(prepare, Stage.PREPARE, share))
        names = transcribe_parts(track.participant_id, pieces(track.duration_ms, piece_seconds))
        for name in names:
            parts.append(_spec(name, Stage.TRANSCRIBE, share / len(names), prepare))
        transcribes += names
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
