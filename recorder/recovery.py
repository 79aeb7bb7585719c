"""After a crash: end the spaces that were left live, and save what they recorded.

A track cut by a crash is an Ogg file without its end-of-stream page, up to the last page
that reached the disk (at most a second behind). Its packets are copied into a finished
file, and the sidecar JSON written beside it says whose it is and where it starts.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from recorder.archive import archive
from recorder.errors import RecoveryError, TrackError
from recorder.ogg import rewrite
from recorder.opus import SAMPLE_RATE
from recorder.track_writer import CODEC, TrackInfo
from stoa.catalog import Catalog, SpaceState
from stoa.storage import ObjectStore

logger = logging.getLogger(__name__)


def recover(catalog: Catalog, store: ObjectStore, folder: Path) -> list[str]:
    """End spaces left live and archive their recordings; the ids of the spaces recovered."""
    recovered = []
    for space in catalog.list_spaces(states=[SpaceState.LIVE], limit=100_000):
        space_folder = folder / space.id
        ended_at = _last_write(space_folder) or datetime.now(UTC)
        space = catalog.end_space_at(space.id, ended_at)
        recovered.append(space.id)
        logger.warning("space %s was left live by a crash; ended it", space.id)
    # Spaces ended (by a crash, or before an archive could finish) with working files left.
    for space in catalog.list_spaces(states=[SpaceState.ENDED], limit=100_000):
        space_folder = folder / space.id
        if not space.record or not space_folder.is_dir():
            continue
        try:
            infos = [finalize(path) for path in sorted(space_folder.glob("*.ogg"))]
        except RecoveryError:
            logger.exception("could not recover the tracks of space %s", space.id)
            continue
        archive(
            catalog=catalog,
            store=store,
            space=space,
            infos=[i for i in infos if i is not None],
            ended_at=space.ended_at or datetime.now(UTC),
            folder=space_folder,
            recovered=True,
        )
        if space.id not in recovered:
            recovered.append(space.id)
    return recovered


def finalize(path: Path) -> TrackInfo | None:
    """Finish a track file cut short; None if it holds nothing playable."""
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise RecoveryError(f"no readable sidecar for {path}: {exc}") from exc
    if meta.get("start") is None:
        return None
    finished = path.with_suffix(".final")
    try:
        samples = rewrite(path, finished)
    except TrackError as exc:
        raise RecoveryError(str(exc)) from exc
    if samples == 0:
        finished.unlink(missing_ok=True)
        return None
    os.replace(finished, path)
    return TrackInfo(
        participant_id=meta["participant_id"],
        name=meta["name"],
        path=str(path),
        start_offset_ms=meta["start"] * 1000 / SAMPLE_RATE,
        duration_ms=samples * 1000 / SAMPLE_RATE,
        stats=meta["stats"],
        codec=dict(CODEC),
    )


def _last_write(folder: Path) -> datetime | None:
    times = [p.stat().st_mtime for p in folder.glob("*.ogg")] if folder.is_dir() else []
    return datetime.fromtimestamp(max(times), UTC) if times else None
