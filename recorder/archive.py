"""Putting a finished recording away: tracks and manifest into storage, tracks into the catalog.

Runs off the event loop (``asyncio.to_thread``). Uploads come first and the catalog last, in
one transaction, so a space is `recorded` only once everything it lists is stored; run again
after a failure, it replaces what is there.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from recorder.manifest import Manifest, ManifestTrack
from recorder.track_writer import TrackInfo
from stoa.catalog import Catalog, SpaceRecord, TrackRecord
from stoa.storage import ObjectStore, key


def track_key(space_id: str, participant_id: str) -> str:
    return key("spaces", space_id, "tracks", f"{participant_id}.ogg")


def manifest_key(space_id: str) -> str:
    return key("spaces", space_id, "manifest.json")


def archive(
    *,
    catalog: Catalog,
    store: ObjectStore,
    space: SpaceRecord,
    infos: list[TrackInfo],
    ended_at: datetime,
    folder: Path,
    recovered: bool = False,
) -> Manifest:
    """Upload the tracks and manifest, record the tracks, mark the space recorded."""
    assert space.started_at is not None
    tracks = []
    for info in infos:
        stats = info.stats
        tracks.append(
            ManifestTrack(
                participant_id=info.participant_id,
                name=info.name,
                key=track_key(space.id, info.participant_id),
                start_offset_ms=round(info.start_offset_ms, 3),
                duration_ms=round(info.duration_ms, 3),
                bytes=Path(info.path).stat().st_size,
                packets_sent=stats.get("packets_sent"),
                packets_received=stats["packets_received"],
                packets_lost=stats["packets_lost"],
                packets_filled_ms=round(stats["filled_ms"], 1),
                packets=stats,
                codec=info.codec,
            )
        )
    manifest = Manifest(
        space_id=space.id,
        started_at=space.started_at,
        ended_at=ended_at,
        record=space.record,
        tracks=tracks,
        recovered=recovered,
    )
    for info, track in zip(infos, tracks, strict=True):
        store.put_file(track.key, Path(info.path), "audio/ogg")
    store.put_bytes(manifest_key(space.id), manifest.dumps(), "application/json")
    catalog.record_tracks(
        space.id,
        [
            TrackRecord(
                participant_id=t.participant_id,
                name=t.name,
                storage_key=t.key,
                start_offset_ms=t.start_offset_ms,
                duration_ms=t.duration_ms,
                bytes=t.bytes,
                packets={
                    "sent": t.packets_sent,
                    "received": t.packets_received,
                    "lost": t.packets_lost,
                    "filled_ms": t.packets_filled_ms,
                    "duplicate": t.packets["packets_duplicate"],
                    "late": t.packets["packets_late"],
                    "muted": t.packets["packets_muted"],
                },
                codec=t.codec,
            )
            for t in tracks
        ],
        manifest_key(space.id),
    )
    # The working copies are in storage now.
    shutil.rmtree(folder, ignore_errors=True)
    return manifest
