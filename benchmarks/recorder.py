"""Recorder benchmark: what recording costs the relay, per packet and per speaker.

The real app runs in its own process (``stoa up``, a temporary data folder, local storage),
everything on 127.0.0.1. A space gets a full stage of 13 aiortc speakers (the host, 2
co-hosts promoted through the REST API, 10 speakers), each sending pre-encoded Opus packets
(libopus once, at start-up; aiortc sends an ``av.Packet`` as is) at 50 packets a second and
receiving the other 12 on seats it taps (``live.rtp_hooks.tap_receiver``: nothing decoded).
Listeners (``--listeners``, each with 13 tapped seats) join from separate processes. Over a
window of ``--duration`` seconds the benchmark reads, from /proc:

- the CPU time of the relay's recorder thread (named ``stoa-recorder``; ``recorder.tap``
  names the OS thread), at nanosecond resolution from ``/proc/<pid>/task/<tid>/schedstat``;
- the relay process's CPU time, and its event-loop thread's;
- the packets the speakers sent and the listeners received in the window.

Then it ends the space, waits for ``recorded`` and takes the packet counts of every track from
``GET /api/spaces/{id}``. The same run again with a space that does not record (``record:
false``) gives the relay's CPU without recording, for the ratio. The recorder's cost per
packet is its thread's CPU time over the packets of the window; per speaker, that over 13.
The goal (issue 3): all 13 speakers together at most 2 % of one core.

The recorder's own enqueueing on the event loop (``Recorder.packet``: one tuple on a queue)
is in the event-loop thread's time, where it drowns in the relay's; it is timed on its own in
the benchmark's process (``enqueue_cost``). The clients share the machine's cores with the
relay: CPU time, not wall time, is measured, but a loaded machine still shows, most in the
relay process's total, so the table prints the load average, and ``--rounds`` alternates the
two runs and reports medians.

Usage, from the repository root (a round takes about a minute and a half)::

    python -m benchmarks.recorder
    python -m benchmarks.recorder --rounds 3
    python -m benchmarks.recorder --duration 60 --listeners 100 --no-baseline
    python -m benchmarks.recorder --py-spy /tmp/profiles   # py-spy on the relay, per window

``--py-spy DIR`` writes py-spy's raw stacks of the relay (``--threads``: each stack starts
with its thread) for each window; the recorder thread's are those through
``RecorderTap._run``.

Every process the benchmark starts stops with it (also if it is killed: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fractions
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import psutil
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from live.rtp_hooks import restrict_host_addresses, tap_receiver
from recorder.tap import THREAD_NAME

ROOT = Path(__file__).resolve().parent.parent
RATE = 48_000
FRAME = 960  # 20 ms
PACKETS_PER_SECOND = RATE // FRAME
STAGE = 13
COHOSTS = 2
CONNECT_CONCURRENCY = 8
GOAL = 0.02  # of one core, all 13 speakers together


# Speakers' media: real Opus packets, encoded once.


def opus_packets(seconds: float = 4.0, bitrate: int = 32_000) -> list[bytes]:
    """20 ms Opus packets of a voice-like signal (a gliding, pulsing tone in some noise)."""
    rng = np.random.default_rng(1)
    t = np.arange(round(seconds * RATE)) / RATE
    pitch = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    voice = np.sin(2 * np.pi * np.cumsum(pitch) / RATE) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    signal = 0.3 * voice + 0.02 * rng.standard_normal(len(t))
    pcm = (np.clip(signal, -1, 1) * 32767).astype(np.int16)
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = bitrate
    codec.time_base = fractions.Fraction(1, RATE)
    codec.options = {"frame_duration": "20", "application": "voip"}
    codec.open()
    packets: list[bytes] = []
    for i in range(0, len(pcm) - FRAME + 1, FRAME):
        frame = av.AudioFrame.from_ndarray(pcm[i : i + FRAME].reshape(1, -1), "s16", "mono")
        frame.sample_rate = RATE
        frame.pts = i
        packets.extend(bytes(p) for p in codec.encode(frame))
    return packets


class OpusTrack(MediaStreamTrack):
    """A microphone that sends pre-made Opus packets in real time; aiortc encodes nothing."""

    kind = "audio"

    def __init__(self, packets: list[bytes], offset: int) -> None:
        super().__init__()
        self.packets = packets
        self.offset = offset
        self.index = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        wait = self._start + self.index / PACKETS_PER_SECOND - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.packets[(self.index + self.offset) % len(self.packets)])
        packet.pts = self.index * FRAME
        packet.time_base = fractions.Fraction(1, RATE)
        self.index += 1
        return packet


# Peers


def rtc_configuration() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])


@dataclass
class Peer:
    """One participant: its identity, and (once connected) its connection and what it heard."""

    participant_id: str
    token: str
    pc: RTCPeerConnection | None = None
    track: OpusTrack | None = None
    heard: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def on_packet(self, _packet: RtpPacket, _arrival_ms: int) -> None:
        self.heard += 1

    async def connect(
        self, client: httpx.AsyncClient, space_id: str, seats: int, track: OpusTrack | None
    ) -> None:
        pc = self.pc = RTCPeerConnection(rtc_configuration())
        if track is not None:
            self.track = track
            pc.addTransceiver(track, direction="sendonly")
        receivers = [pc.addTransceiver("audio", direction="recvonly") for _ in range(seats)]
        await pc.setLocalDescription(await pc.createOffer())
        response = await client.post(
            f"/api/spaces/{space_id}/rtc",
            json={"type": "offer", "sdp": pc.localDescription.sdp},
            headers=self.auth,
        )
        response.raise_for_status()
        await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
        for transceiver in receivers:
            tap_receiver(transceiver.receiver, self.on_packet)
        deadline = time.monotonic() + 60
        while pc.connectionState != "connected":
            if pc.connectionState in ("failed", "closed") or time.monotonic() > deadline:
                raise ConnectionError(f"peer connection {pc.connectionState}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()


async def join(client: httpx.AsyncClient, space_id: str, name: str) -> Peer:
    response = await client.post(f"/api/spaces/{space_id}/join", json={"name": name})
    response.raise_for_status()
    body = response.json()
    return Peer(body["participant"]["id"], body["token"])


async def run_listeners(url: str, space_id: str, count: int, seats: int) -> None:
    """A listener pool process: connect, say how many, then report packets heard per line."""
    restrict_host_addresses(["127.0.0.1"])
    listeners: list[Peer] = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(i: int) -> None:
            async with gate:
                peer = await join(client, space_id, f"Listener {i}")
                listeners.append(peer)
                await peer.connect(client, space_id, seats, None)

        results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    failed = sum(isinstance(r, BaseException) for r in results)
    _reply({"connected": count - failed, "failed": failed})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while await reader.readline():
            _reply({"heard": sum(p.heard for p in listeners)})
    finally:
        await asyncio.gather(*(p.close() for p in listeners), return_exceptions=True)


def _reply(body: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(body) + "\n")
    sys.stdout.flush()


# Child processes


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: no child outlives a benchmark that was killed.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)


class Pool:
    """A listener pool process, spoken to in JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a listener pool exited (code {await self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def heard(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"heard\n")
        await self.proc.stdin.drain()
        return int((await self.read())["heard"])


async def _stop(proc: asyncio.subprocess.Process, timeout: float = 20.0) -> None:
    if proc.returncode is not None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Measuring


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a process (threads of one name added up)."""
    times: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            if task.name == str(pid):
                name = "event loop"
            ns = int((task / "schedstat").read_text().split()[0])
            times[name] = times.get(name, 0.0) + ns / 1e9
    return times


def process_cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


@dataclass
class Run:
    """One measured window of one space, and what its recording held."""

    record: bool
    window_s: float = 0.0
    sent: int = 0  # speakers' packets in the window
    listeners: int = 0
    listener_share: float = 0.0  # of the packets the listeners should have had
    speaker_share: float = 0.0
    recorder_cpu_s: float = 0.0
    loop_cpu_s: float = 0.0
    process_cpu_s: float = 0.0
    finish_cpu_s: float = 0.0
    tracks: list[dict[str, Any]] = field(default_factory=list)
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def per_packet_us(self) -> float:
        return self.recorder_cpu_s / self.sent * 1e6 if self.sent else 0.0

    def recorder_core(self) -> float:
        return self.recorder_cpu_s / self.window_s

    def process_core(self) -> float:
        return self.process_cpu_s / self.window_s

    def loop_core(self) -> float:
        return self.loop_cpu_s / self.window_s


@dataclass(frozen=True)
class Options:
    duration: float
    settle: float
    rounds: int
    listeners: int
    listener_procs: int
    baseline: bool
    py_spy: Path | None


async def start_relay(data_dir: Path, log: Path) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOA_")}
    env.update(
        STOA_DATA_DIR=str(data_dir),
        STOA_HOST="127.0.0.1",
        STOA_PORT=str(port),
        STOA_SECRET_KEY=secrets.token_urlsafe(48),
        STOA_RTC_BIND_ADDRESSES='["127.0.0.1"]',
    )
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "stoa.cli",
            "up",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=_die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"the relay exited; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                await client.get(f"{url}/api/spaces")
                return proc, url
            if time.monotonic() > deadline:
                raise RuntimeError(f"the relay did not start; see {log}")
            await asyncio.sleep(0.2)


async def start_listeners(
    opts: Options, url: str, space_id: str, logs: Path
) -> tuple[list[Pool], int]:
    procs = max(1, min(opts.listener_procs, opts.listeners))
    shares = [opts.listeners // procs + (i < opts.listeners % procs) for i in range(procs)]
    pools = []
    for i, share in enumerate(shares):
        with (logs / f"listeners-{i}.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.recorder",
                "listeners",
                url,
                space_id,
                str(share),
                str(STAGE),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        pools.append(Pool(proc))
    replies = await asyncio.gather(*(pool.read() for pool in pools))
    return pools, sum(r["connected"] for r in replies)


async def stage(client: httpx.AsyncClient, record: bool) -> tuple[str, list[Peer]]:
    """Create a space and seat 13: the host, 2 co-hosts and 10 speakers."""
    response = await client.post(
        "/api/spaces",
        json={"title": "Recorder benchmark", "host_name": "Host", "record": record},
    )
    response.raise_for_status()
    body = response.json()
    space_id = body["space"]["id"]
    host = Peer(body["space"]["host"]["id"], body["host_token"])
    peers = [host]
    for i in range(1, STAGE):
        peer = await join(client, space_id, f"Speaker {i}")
        role = "cohost" if i <= COHOSTS else "speaker"
        response = await client.post(
            f"/api/spaces/{space_id}/participants/{peer.participant_id}/role",
            json={"role": role},
            headers=host.auth,
        )
        response.raise_for_status()
        peers.append(peer)
    return space_id, peers


class Profiler:
    """py-spy on the relay for the window, when asked for (``--py-spy DIR``)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, pid: int, name: str, seconds: float) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            self.exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "250",
            "--threads",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(self.folder / f"{name}.txt"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )

    async def wait(self) -> None:
        if self.proc is not None:
            await asyncio.wait_for(self.proc.wait(), 60)
            self.proc = None


async def measure(opts: Options, record: bool, packets: list[bytes], workdir: Path) -> Run:
    run = Run(record=record)
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = workdir / ("recording" if record else "not-recording")
    relay, url = await start_relay(data_dir, workdir / "relay.log")
    pools: list[Pool] = []
    peers: list[Peer] = []
    profiler = Profiler(opts.py_spy)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            space_id, peers = await stage(client, record)
            for i, peer in enumerate(peers):
                track = OpusTrack(packets, offset=i * 7)
                await peer.connect(client, space_id, STAGE - 1, track)
            pools, run.listeners = await start_listeners(opts, url, space_id, workdir)
            await asyncio.sleep(opts.settle)

            speakers = [p.track for p in peers if p.track is not None]
            sent0 = sum(t.index for t in speakers)
            heard0 = sum(await asyncio.gather(*(pool.heard() for pool in pools)))
            spoken0 = sum(p.heard for p in peers)
            threads0, process0 = thread_cpu(relay.pid), process_cpu(relay.pid)
            t0 = time.monotonic()
            name = f"{workdir.name}-{'recording' if record else 'not-recording'}"
            await profiler.start(relay.pid, name, opts.duration)
            await asyncio.sleep(opts.duration)
            threads1, process1 = thread_cpu(relay.pid), process_cpu(relay.pid)
            run.window_s = time.monotonic() - t0
            sent1 = sum(t.index for t in speakers)
            spoken1 = sum(p.heard for p in peers)
            sent_heard = sum(t.index for t in speakers)
            heard1 = sum(await asyncio.gather(*(pool.heard() for pool in pools)))
            run.load = os.getloadavg()
            await profiler.wait()

            run.sent = sent1 - sent0
            # Listeners are asked when the speakers have sent so many (in flight: under 1 %).
            expected = (sent_heard - sent0) * run.listeners
            run.listener_share = (heard1 - heard0) / expected if expected else 0.0
            run.speaker_share = (spoken1 - spoken0) / (run.sent * (STAGE - 1))
            if THREAD_NAME not in threads1:
                raise RuntimeError(f"no {THREAD_NAME!r} thread in the relay: {sorted(threads1)}")
            run.recorder_cpu_s = threads1[THREAD_NAME] - threads0[THREAD_NAME]
            run.loop_cpu_s = threads1["event loop"] - threads0["event loop"]
            run.process_cpu_s = process1 - process0

            for peer in peers:
                await peer.close()
            response = await client.post(f"/api/spaces/{space_id}/end", headers=peers[0].auth)
            response.raise_for_status()
            if record:
                body = await _recorded(client, space_id)
                run.finish_cpu_s = thread_cpu(relay.pid)[THREAD_NAME] - threads1[THREAD_NAME]
                run.tracks = list(body["tracks"])
    finally:
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        await asyncio.gather(*(_stop(pool.proc) for pool in pools), return_exceptions=True)
        await _stop(relay)
    return run


async def _recorded(client: httpx.AsyncClient, space_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = (await client.get(f"/api/spaces/{space_id}")).json()
        if body["state"] == "recorded":
            return body
        if time.monotonic() > deadline:
            raise RuntimeError(f"the space never became recorded: {body['state']}")
        await asyncio.sleep(0.1)


def enqueue_cost(packets: list[bytes], count: int = 13 * 1500) -> tuple[float, float]:
    """The event-loop side, timed in this process: ``Recorder.packet`` per packet, in µs.

    For a space being recorded (a tuple onto the queue) and for one that is not (a set
    lookup). The recorder thread runs meanwhile, as in the relay.
    """
    from aiortc import clock

    from recorder.recorder import Recorder
    from stoa.catalog import Catalog
    from stoa.storage.stub import MemoryStore

    with tempfile.TemporaryDirectory(prefix="stoa-recorder-enqueue-") as tmp:
        folder = Path(tmp)
        recorder = Recorder(Catalog(f"sqlite:///{folder}/catalog.db"), MemoryStore(), folder)
        try:
            recorder.tap.start("recorded", datetime.now(UTC))
            rtp = [
                RtpPacket(
                    payload_type=111,
                    sequence_number=(i // STAGE) & 0xFFFF,
                    timestamp=(i // STAGE * FRAME) & 0xFFFFFFFF,
                    ssrc=1000 + i % STAGE,
                    payload=packets[i % len(packets)],
                )
                for i in range(count)
            ]
            costs = []
            for space_id in ("recorded", "not-recorded"):
                now_ms = clock.current_ms()
                t0 = time.thread_time()
                for i, packet in enumerate(rtp):
                    recorder.packet(space_id, f"p{i % STAGE}", "Speaker", packet, now_ms, False)
                costs.append((time.thread_time() - t0) / count * 1e6)
        finally:
            recorder.close()
    return costs[0], costs[1]


# Report


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else 0.0


def _loads(runs: list[Run]) -> str:
    return ", ".join(f"{r.load[0]:.2f}" for r in runs)


def report(
    opts: Options,
    recording: list[Run],
    baseline: list[Run],
    enqueue: tuple[float, float],
    load_before: float,
) -> str:
    """The results table: medians over the rounds, then each round's recorder and relay CPU."""
    first = recording[0]
    received = _median([sum(t["packets"]["received"] for t in r.tracks) for r in recording])
    lost = max(sum(t["packets"]["lost"] for t in r.tracks) for r in recording)
    all13 = _median([r.recorder_core() for r in recording])
    per_packet = _median([r.per_packet_us() for r in recording])
    process = _median([r.process_core() for r in recording])
    rounds = f", median of {len(recording)} rounds" if len(recording) > 1 else ""
    rows = [
        f"Recorder benchmark: {STAGE} speakers (host, {COHOSTS} co-hosts, {STAGE - 1 - COHOSTS}"
        f" speakers) at {PACKETS_PER_SECOND} packets/s, {first.listeners} listeners x"
        f" {STAGE} seats, {opts.duration:.0f} s windows{rounds}",
        f"machine: {os.cpu_count()} cores; 1-minute load average {load_before:.2f} before the"
        f" benchmark, after each window (the benchmark's own processes included):"
        f" {_loads(recording)} (recording)"
        + (f", {_loads(baseline)} (not recording)" if baseline else ""),
        "",
        f"{'':46}{'recording':>15}{'not recording':>15}",
    ]

    def row(label: str, a: str, b: str = "") -> None:
        rows.append(f"{label:46}{a:>15}{b:>15}")

    def both(metric: Any, fmt: str) -> tuple[str, str]:
        a = format(_median([metric(r) for r in recording]), fmt)
        return a, format(_median([metric(r) for r in baseline]), fmt) if baseline else ""

    row("packets sent by speakers, per window", *both(lambda r: r.sent, ",.0f"))
    # Counts are read while packets are on their way, and a loaded machine holds some back
    # (then lets them go): a few % either side.
    row("  share heard by listeners", *both(lambda r: r.listener_share, ".1%"))
    row("  share heard by speakers (12 seats each)", *both(lambda r: r.speaker_share, ".1%"))
    row("packets recorded (whole space, 13 tracks)", f"{received:,.0f}")
    row("  lost (sequence gaps, worst round)", f"{lost:,}")
    row("recorder thread CPU, % of a core", *both(lambda r: r.recorder_core(), ".2%"))
    row("  per packet", f"{per_packet:.1f} us")
    row("  per speaker", f"{all13 / STAGE:.3%}")
    row(
        f"  all {STAGE} speakers (goal <= {GOAL:.0%} of a core)",
        f"{all13:.2%}",
        "goal met" if all13 <= GOAL else "goal MISSED",
    )
    row(
        "  finishing the space (once)",
        f"{_median([r.finish_cpu_s for r in recording]) * 1000:.0f} ms",
    )
    row(
        "event loop's enqueue per packet (in-process)",
        f"{enqueue[0]:.2f} us",
        f"{enqueue[1]:.2f} us",
    )
    row("relay process CPU, % of a core", *both(lambda r: r.process_core(), ".1%"))
    row("  event-loop thread", *both(lambda r: r.loop_core(), ".1%"))
    if baseline:
        without = _median([r.process_core() for r in baseline])
        rows.append(
            f"recording: relay process {process / without:.3f}x the CPU without"
            f" ({process - without:+.2%} of a core; the recorder thread is {all13:.2%})"
        )
    if len(recording) > 1:
        rows.append("")
        rows.append("each round: recorder thread, relay process (recording | not recording)")
        for i, r in enumerate(recording):
            b = baseline[i] if i < len(baseline) else None
            rows.append(
                f"  {i + 1}: {r.recorder_core():.2%}, {r.process_core():.1%}"
                + (f" | {b.recorder_core():.2%}, {b.process_core():.1%}" if b else "")
            )
    return "\n".join(rows)


async def run(opts: Options) -> str:
    restrict_host_addresses(["127.0.0.1"])
    load_before = os.getloadavg()[0]
    packets = opus_packets()
    recording: list[Run] = []
    baseline: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="stoa-recorder-bench-") as tmp:
        workdir = Path(tmp)
        try:
            for i in range(opts.rounds):
                _note(f"round {i + 1}: recording, 13 speakers, {opts.listeners} listeners")
                recording.append(await measure(opts, True, packets, workdir / f"{i}"))
                if opts.baseline:
                    _note(f"round {i + 1}: not recording")
                    baseline.append(await measure(opts, False, packets, workdir / f"{i}"))
        except BaseException:
            for log in sorted(workdir.glob("*/*.log")):
                # What went wrong, without the access and ICE lines.
                lines = [x for x in log.read_text().splitlines() if not x.startswith("INFO")]
                sys.stderr.write(f"--- {log.name}\n" + "\n".join(lines[-40:]) + "\n")
            raise
    return report(opts, recording, baseline, enqueue_cost(packets), load_before)


def _note(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.recorder", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=30.0, help="window, s (30)")
    parser.add_argument("--settle", type=float, default=3.0, help="wait before it, s (3)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both runs (1)")
    parser.add_argument("--listeners", type=int, default=50, help="listeners (50)")
    parser.add_argument("--listener-procs", type=int, default=2, help="their processes (2)")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the runs without recording"
    )
    parser.add_argument("--py-spy", type=Path, help="record the relay with py-spy into DIR")
    args = parser.parse_args(argv)
    return Options(
        duration=args.duration,
        settle=args.settle,
        rounds=max(1, args.rounds),
        listeners=args.listeners,
        listener_procs=args.listener_procs,
        baseline=not args.no_baseline,
        py_spy=args.py_spy,
    )


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["listeners"]:
        url, space_id, count, seats = argv[1:5]
        _uvloop_run(run_listeners(url, space_id, int(count), int(seats)))
        return
    opts = parse_args(argv)
    print(_uvloop_run(run(opts)))


def _uvloop_run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


if __name__ == "__main__":
    main()
