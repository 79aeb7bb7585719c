"""The recorder as the live service sees it: start a space, feed it packets, finish it.

Only spaces whose host chose to record are recorded, and only participants on stage: the
relay never hands over a listener's packets.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from aiortc.rtp import RtcpSrPacket, RtpPacket

from recorder.archive import archive
from recorder.manifest import Manifest
from recorder.recovery import recover
from recorder.tap import RecorderTap
from recorder.timeline import ntp_to_unix
from stoa.catalog import Catalog, SpaceRecord
from stoa.storage import ObjectStore

logger = logging.getLogger(__name__)


class Recorder:
    def __init__(self, catalog: Catalog, store: ObjectStore, folder: Path) -> None:
        self.catalog = catalog
        self.store = store
        self.folder = folder
        self.tap = RecorderTap(folder)

    def recover(self) -> list[str]:
        """End spaces a crash left live and archive what they recorded (blocking)."""
        return recover(self.catalog, self.store, self.folder)

    def start(self, space: SpaceRecord) -> None:
        if space.record and space.started_at is not None:
            self.tap.start(space.id, space.started_at)

    def is_recording(self, space_id: str) -> bool:
        return space_id in self.tap.recording

    # Per packet, on the event loop.

    def packet(
        self,
        space_id: str,
        participant_id: str,
        name: str,
        packet: RtpPacket,
        arrival_ms: int,
        muted: bool,
    ) -> None:
        if space_id not in self.tap.recording:
            return
        self.tap.packet(
            space_id,
            participant_id,
            name,
            packet.ssrc,
            packet.sequence_number,
            packet.timestamp,
            arrival_ms,
            packet.payload,
            muted,
        )

    def sender_report(self, space_id: str, participant_id: str, report: RtcpSrPacket) -> None:
        if space_id not in self.tap.recording:
            return
        info = report.sender_info
        self.tap.sender_report(
            space_id,
            participant_id,
            report.ssrc,
            ntp_to_unix(info.ntp_timestamp),
            info.rtp_timestamp,
            info.packet_count,
            datetime.now(UTC).timestamp(),
        )

    async def finish(self, space: SpaceRecord) -> Manifest | None:
        """Close the space's tracks, upload them with the manifest, mark it recorded."""
        if not self.is_recording(space.id):
            return None
        ended_at = space.ended_at or datetime.now(UTC)
        infos = await self.tap.finish(space.id, ended_at)
        return await asyncio.to_thread(
            archive,
            catalog=self.catalog,
            store=self.store,
            space=space,
            infos=infos,
            ended_at=ended_at,
            folder=self.folder / space.id,
        )

    def close(self) -> None:
        self.tap.close()
