"""The recorder's tap on the relay: packets in on the event loop, files written on a thread.

The relay calls `RecorderTap.packet` for every packet a speaker sends; that only puts a
tuple on a queue, so writing never blocks the event loop. One thread per process drains the
queue into each space's `SpaceRecording`, advances the tracks' live edge every 200 ms (which
keeps Ogg pages flowing to the file) and finishes a space when asked, in queue order, so
every packet that came before the end is in its tracks.

The thread drains the queue on each tick rather than waiting on it: a put that wakes a
waiting thread costs a futex call and a hand-over of the GIL, for every packet, on the event
loop too. Packets only go to files on the tick anyway; a finish or a stop wakes the thread
at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

from recorder.space_recording import SpaceRecording
from recorder.track_writer import TrackInfo

logger = logging.getLogger(__name__)

TICK = 0.2
THREAD_NAME = "stoa-recorder"
_NTP_EPOCH_TO_UNIX_MS = 2_208_988_800_000
_PR_SET_NAME = 15


class RecorderTap:
    def __init__(self, folder: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self._clock = clock
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._spaces: dict[str, SpaceRecording] = {}
        # Spaces being recorded, as seen from the event loop.
        self.recording: set[str] = set()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    # Event loop side

    def start(self, space_id: str, origin: datetime) -> None:
        if space_id in self.recording:
            return
        self.recording.add(space_id)
        self._queue.put(("start", space_id, origin))

    def packet(
        self,
        space_id: str,
        participant_id: str,
        name: str,
        ssrc: int,
        seq: int,
        timestamp: int,
        arrival_ms: int,
        payload: bytes,
        muted: bool,
    ) -> None:
        """One packet of a speaker; ``arrival_ms`` as aiortc gives it (NTP epoch)."""
        self._queue.put(
            (
                "rtp",
                space_id,
                participant_id,
                name,
                ssrc,
                seq,
                timestamp,
                arrival_ms,
                payload,
                muted,
            )
        )

    def sender_report(
        self,
        space_id: str,
        participant_id: str,
        ssrc: int,
        sender_time: float,
        timestamp: int,
        packet_count: int,
        arrival: float,
    ) -> None:
        self._queue.put(
            ("sr", space_id, participant_id, ssrc, sender_time, timestamp, packet_count, arrival)
        )

    async def finish(self, space_id: str, end: datetime) -> list[TrackInfo]:
        """Close the space's tracks at ``end``; the tracks that hold audio."""
        if space_id not in self.recording:
            return []
        self.recording.discard(space_id)
        future: Future[list[TrackInfo]] = Future()
        self._queue.put(("finish", space_id, end.timestamp(), future))
        self._wake.set()
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._queue.put(("stop",))
        self._wake.set()
        self._thread.join(timeout=10)

    # Recorder thread

    def _run(self) -> None:
        _name_native_thread(THREAD_NAME)
        next_tick = time.monotonic() + TICK
        while True:
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item[0] == "stop":
                    self._finish_all()
                    return
                self._handle(item)
            if time.monotonic() >= next_tick:
                now = self._clock()
                for recording in self._spaces.values():
                    recording.advance(now)
                next_tick = time.monotonic() + TICK

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        try:
            if kind == "rtp":
                _, space_id, pid, name, ssrc, seq, ts, arrival_ms, payload, muted = item
                recording = self._spaces.get(space_id)
                if recording is not None:
                    arrival = (arrival_ms - _NTP_EPOCH_TO_UNIX_MS) / 1000
                    recording.packet(pid, name, ssrc, seq, ts, arrival, payload, muted)
            elif kind == "sr":
                _, space_id, pid, ssrc, sender_time, ts, count, arrival = item
                recording = self._spaces.get(space_id)
                if recording is not None:
                    recording.sender_report(pid, ssrc, sender_time, ts, count, arrival)
            elif kind == "start":
                _, space_id, origin = item
                self._spaces[space_id] = SpaceRecording(space_id, origin, self.folder / space_id)
            elif kind == "finish":
                _, space_id, end, future = item
                recording = self._spaces.pop(space_id, None)
                try:
                    future.set_result(recording.finish(end) if recording else [])
                except Exception as exc:  # handed to the awaiting coroutine
                    future.set_exception(exc)
        except Exception:
            # A bad packet or a broken file never stops the recorder for everyone.
            logger.exception("recorder could not handle %s", kind)

    def _finish_all(self) -> None:
        now = self._clock()
        for recording in self._spaces.values():
            recording.finish(now)
        self._spaces.clear()


def _name_native_thread(name: str) -> None:
    """Name the OS thread too (Python does it itself from 3.14 on), for top -H and profilers."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
