"""Fan-out benchmark: how many listener streams one relay core carries, against MediaRelay.

One speaker, N aiortc listeners in separate processes, the relay in its own process (``stoa
relay``, the real app, with a temporary data folder), everything on 127.0.0.1. N grows in
steps; the existing listeners stay connected. Each listener offers 13 seats, as the web client
does; the speaker sits on seat 0. At each step the benchmark measures, over a window of
``--duration`` seconds:

- loss: the share of the speaker's packets of the window that listeners did not receive
  (each packet carries its index);
- relay CPU: the relay process's CPU time (user + system, from /proc via psutil) as a
  fraction of one core, and the kernel's share of it; streams per core = listener streams /
  that fraction, packets/s/core = packets delivered per second / that fraction. On loopback
  the relay's sendto also pays for the receiving side of the kernel's UDP path;
- latency: the kernel's receive timestamp of the listener's socket (SO_TIMESTAMPNS) minus the
  CLOCK_REALTIME send time the speaker wrote into the packet, for relay listeners ("via
  relay") and for one listener connected straight to the speaker in the same client process
  ("direct"). Both include aiortc's sender in the speaker; neither includes the listener
  process working through its backlog. "added" = via relay - direct, percentile by
  percentile: the relay's receive path, its fan-out loop (the last of N listeners waits for
  N - 1 sends) and its event loop's other work.

Then the same for aiortc's ``MediaRelay`` (``benchmarks/fanout_peers.py``): the speaker's
track decoded once and re-encoded for each listener through ``relay.subscribe(track,
buffered=False)``. Its streams carry re-encoded audio, so no index: loss counts the gaps a
late encoder leaves in the RTP timestamps, and "lag" (in the latency column) how much slower
than its timestamps a stream arrived over the window (p50 / p95 over listeners, ms); a stream
more than 100 ms behind does not count as held.

The summary takes the largest step of each system that held (every listener connected, loss
at most ``--max-loss``) and prints its streams per core and their ratio. A step that does not
hold ends that system's run unless ``--keep-going``.

Everything shares the machine: the listener processes ("clients"), the speaker (this process)
and whatever else runs ("other", from /proc/stat) compete with the relay for cores, so the
table shows their CPU too. Loss and latency at a step where "other" is high say more about
the machine than about the relay; relay CPU time is the steadier measure.

Usage, from the repository root (defaults take three to six minutes on two cores)::

    python -m benchmarks.relay_fanout
    python -m benchmarks.relay_fanout --steps 100,300,600 --duration 15 --baseline-steps 10,20
    python -m benchmarks.relay_fanout --no-baseline --relay-loop asyncio --logs /tmp/fanout
    python -m benchmarks.relay_fanout --no-baseline --py-spy /tmp/profiles

``--py-spy DIR`` records the relay with py-spy during each window (``DIR/stoa-<N>.txt``,
collapsed stacks; py-spy must be on PATH or beside the interpreter). ``--logs DIR`` keeps the
processes' logs. Every process the benchmark starts ends with it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import uvloop
from aiortc import RTCPeerConnection, RTCSessionDescription

from benchmarks.fanout_peers import (
    FRAME_SECONDS,
    SpeakerTrack,
    rtc_configuration,
    wait_connected,
)
from live.rtp_hooks import restrict_host_addresses

ROOT = Path(__file__).resolve().parent.parent
PACKETS_PER_SECOND = round(1 / FRAME_SECONDS)
READY_TIMEOUT = 60.0
# A MediaRelay stream that arrives this much slower than its timestamps over a window has
# fallen behind real time.
MAX_LAG_MS = 100.0
# "Other" CPU above this, in cores, and the report says the machine was busy.
BUSY_MACHINE = 0.25


@dataclass(frozen=True)
class Step:
    """One measured window of one system at one number of listeners."""

    system: str
    listeners: int
    failed: int
    window_s: float
    relay_cpu: float  # cores
    relay_sys: float  # the kernel's share of it
    clients_cpu: float
    speaker_cpu: float
    other_cpu: float  # everything else on the machine, cores
    relay_rss_mb: float
    loss: float
    delivered_pps: float
    via_relay_us: tuple[float, float] | None = None  # p50, p95
    direct_us: tuple[float, float] | None = None
    lag_ms: tuple[float, float] | None = None  # MediaRelay: falling behind real time, p50, p95

    def held(self, max_loss_percent: float) -> bool:
        """Every listener connected, loss within bounds, and (MediaRelay) keeping up."""
        return (
            self.failed == 0
            and self.loss * 100 <= max_loss_percent
            and (self.lag_ms is None or self.lag_ms[1] <= MAX_LAG_MS)
        )

    @property
    def streams_per_core(self) -> float:
        return self.listeners / self.relay_cpu if self.relay_cpu > 0 else math.inf

    @property
    def packets_per_core(self) -> float:
        return self.delivered_pps / self.relay_cpu if self.relay_cpu > 0 else math.inf

    @property
    def added_us(self) -> tuple[float, float] | None:
        if self.via_relay_us is None or self.direct_us is None:
            return None
        return (
            self.via_relay_us[0] - self.direct_us[0],
            self.via_relay_us[1] - self.direct_us[1],
        )


# Child processes


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a child never outlives a benchmark that was killed.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Child:
    """A child process; for listener pools, a JSON-lines conversation on its stdin/stdout."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.ps = psutil.Process(proc.pid)
        self._lock = asyncio.Lock()

    async def call(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            self.proc.stdin.write(json.dumps(command).encode() + b"\n")
            await self.proc.stdin.drain()
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} exited (code {await self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok"):
            raise RuntimeError(f"{self.name}: {command['op']} failed: {reply['error']}")
        return reply

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def system_seconds(self) -> float:
        return float(self.ps.cpu_times().system)

    async def stop(self, timeout: float = 20.0) -> None:
        if self.proc.returncode is not None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class Processes:
    """Every child the benchmark starts; all of them stop when the benchmark ends."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[Child] = []

    async def start(
        self, name: str, argv: Sequence[str], env: dict[str, str] | None = None, pipe: bool = False
    ) -> Child:
        log = (self.logs / f"{name}.log").open("ab")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE if pipe else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if pipe else log,
            stderr=log,
            limit=1 << 26,
            preexec_fn=_die_with_parent,
        )
        log.close()
        child = Child(name, proc)
        self.children.append(child)
        return child

    async def stop(self, child: Child) -> None:
        await child.stop()
        if child in self.children:
            self.children.remove(child)

    async def stop_all(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children), return_exceptions=True)
        self.children = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _wait_http(url: str, child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            if child.proc.returncode is not None:
                raise RuntimeError(f"{child.name} exited; see its log")
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} did not start in {timeout:.0f} s")
            await asyncio.sleep(0.1)


async def start_relay(procs: Processes, data_dir: Path, loop: str) -> tuple[Child, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOA_")}
    env.update(
        STOA_DATA_DIR=str(data_dir),
        STOA_HOST="127.0.0.1",
        STOA_PORT=str(port),
        STOA_SECRET_KEY=secrets.token_urlsafe(48),
        STOA_RTC_BIND_ADDRESSES='["127.0.0.1"]',
    )
    if loop == "auto":
        argv = [sys.executable, "-m", "stoa.cli", "relay"]
    else:
        argv = [sys.executable, "-m", "benchmarks.fanout_peers", "relay", loop]
    relay = await procs.start("relay", argv, env=env)
    url = f"http://127.0.0.1:{port}"
    await _wait_http(f"{url}/api/spaces", relay)
    return relay, url


async def start_pools(procs: Processes, count: int) -> list[Child]:
    return [
        await procs.start(
            f"listeners-{i}",
            [sys.executable, "-m", "benchmarks.fanout_peers", "listeners"],
            pipe=True,
        )
        for i in range(count)
    ]


# Speakers


@dataclass
class Speaker:
    pc: RTCPeerConnection
    track: SpeakerTrack


async def _offer(track: SpeakerTrack, seats: int = 0) -> RTCPeerConnection:
    pc = RTCPeerConnection(rtc_configuration())
    pc.addTransceiver(track, direction="sendonly")
    for _ in range(seats):
        pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def stoa_speaker(client: httpx.AsyncClient) -> tuple[Speaker, str]:
    """Create a space; its host speaks on seat 0 (and, like a browser, offers 12 seats)."""
    response = await client.post(
        "/api/spaces", json={"title": "Fan-out benchmark", "host_name": "Speaker"}
    )
    response.raise_for_status()
    body = response.json()
    space_id, token = body["space"]["id"], body["host_token"]
    track = SpeakerTrack()
    pc = await _offer(track, seats=12)
    response = await client.post(
        f"/api/spaces/{space_id}/rtc",
        json={"type": "offer", "sdp": pc.localDescription.sdp},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
    await wait_connected(pc)
    return Speaker(pc, track), space_id


async def direct_speaker(pool: Child) -> Speaker:
    """A second speaker connection, straight to one listener: the latency without a relay."""
    track = SpeakerTrack()
    pc = await _offer(track)
    reply = await pool.call(op="connect", group="direct", sdp=pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    await pool.call(op="direct_answer", sdp="")
    await wait_connected(pc)
    return Speaker(pc, track)


async def baseline_speaker(url: str) -> Speaker:
    track = SpeakerTrack()
    pc = await _offer(track)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post("/publish", json={"sdp": pc.localDescription.sdp})
        response.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
    await wait_connected(pc)
    return Speaker(pc, track)


# Measuring


def _percentiles(samples: Sequence[float]) -> tuple[float, float] | None:
    if not samples:
        return None
    samples = sorted(samples)
    return (
        float(samples[int(0.50 * (len(samples) - 1))]),
        float(samples[int(0.95 * (len(samples) - 1))]),
    )


async def _add_listeners(
    pools: list[Child], count: int, concurrency: int, **command: Any
) -> tuple[int, int]:
    """Connect ``count`` more listeners, spread over the pools, ``concurrency`` at a time each."""
    shares = [count // len(pools) + (1 if i < count % len(pools) else 0) for i in range(len(pools))]
    replies = await asyncio.gather(
        *(
            pool.call(op="connect", count=share, concurrency=concurrency, **command)
            for pool, share in zip(pools, shares, strict=True)
        )
    )
    return sum(r["connected"] for r in replies), sum(r["failed"] for r in replies)


async def _wait_ready(pools: list[Child], group: str, expected: int) -> int:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        replies = await asyncio.gather(*(pool.call(op="status") for pool in pools))
        ready = sum(int(r["ready"].get(group, 0)) for r in replies)
        if ready >= expected or time.monotonic() > deadline:
            return ready
        await asyncio.sleep(0.25)


class Profiler:
    """py-spy on the relay during a window, when asked for."""

    def __init__(self, folder: Path | None, pid: int) -> None:
        self.folder = folder
        self.pid = pid
        self.exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    @contextlib.asynccontextmanager
    async def record(self, name: str, seconds: float) -> AsyncIterator[None]:
        if self.folder is None:
            yield
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            self.exe,
            "record",
            "--pid",
            str(self.pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(self.folder / f"{name}.txt"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            yield
        finally:
            await asyncio.wait_for(proc.wait(), seconds + 30)


async def measure(
    system: str,
    listeners: int,
    relay: Child,
    pools: list[Child],
    speaker: Speaker,
    direct: Speaker | None,
    duration: float,
    profiler: Profiler,
) -> Step:
    await asyncio.gather(*(pool.call(op="reset") for pool in pools))
    i0 = speaker.track.index
    d0 = direct.track.index if direct else 0
    me = psutil.Process()
    relay0, me0, sys0 = relay.cpu_seconds(), me.cpu_times(), relay.system_seconds()
    clients0 = sum(pool.cpu_seconds() for pool in pools)
    machine0 = _busy_seconds()
    t0 = time.monotonic()
    async with profiler.record(f"{system}-{listeners}", duration):
        await asyncio.sleep(duration)
    t1 = time.monotonic()
    relay1, me1, sys1 = relay.cpu_seconds(), me.cpu_times(), relay.system_seconds()
    clients1 = sum(pool.cpu_seconds() for pool in pools)
    machine1 = _busy_seconds()
    i1 = speaker.track.index
    d1 = direct.track.index if direct else 0
    rss = relay.ps.memory_info().rss / 2**20
    if system != "baseline":
        await asyncio.sleep(0.5)  # packets still on their way count as received
    reports = await asyncio.gather(
        *(pool.call(op="report", group=system, i0=i0, i1=i1) for pool in pools)
    )
    received = [n for r in reports for n in r["received"]]
    lag_ms = None
    if system == "baseline":
        expected = sum(n for r in reports for n in r["expected"])
        lag_ms = _percentiles([x for r in reports for x in r["lags_ms"]])
    else:
        expected = (i1 - i0) * len(received)
    received_total = sum(received)
    via_relay = [x for r in reports for x in r["latencies_us"]]
    direct_us = None
    if direct is not None:
        report = await pools[0].call(op="report", group="direct", i0=d0, i1=d1)
        direct_us = _percentiles(report["latencies_us"])
    window = t1 - t0
    speaker_cpu = (me1.user + me1.system) - (me0.user + me0.system)
    other = (machine1 - machine0) - (relay1 - relay0) - (clients1 - clients0) - speaker_cpu
    return Step(
        system=system,
        listeners=len(received),
        failed=listeners - len(received),
        window_s=window,
        relay_cpu=(relay1 - relay0) / window,
        relay_sys=(sys1 - sys0) / (relay1 - relay0) if relay1 > relay0 else 0.0,
        clients_cpu=(clients1 - clients0) / window,
        speaker_cpu=speaker_cpu / window,
        other_cpu=max(0.0, other / window),
        relay_rss_mb=rss,
        loss=1 - received_total / expected if expected else 1.0,
        delivered_pps=received_total / window,
        via_relay_us=_percentiles(via_relay) if system != "baseline" else None,
        direct_us=direct_us,
        lag_ms=lag_ms,
    )


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


# The two systems


@dataclass(frozen=True)
class Options:
    steps: tuple[int, ...]
    baseline_steps: tuple[int, ...]
    duration: float
    settle: float
    client_procs: int
    connect_concurrency: int
    seats: int
    max_loss: float
    relay_loop: str
    profile_dir: Path | None
    keep_going: bool
    logs: Path | None


async def run_stoa(opts: Options, procs: Processes, workdir: Path) -> list[Step]:
    relay, url = await start_relay(procs, workdir / "data", opts.relay_loop)
    pools = await start_pools(procs, opts.client_procs)
    profiler = Profiler(opts.profile_dir, relay.proc.pid)
    steps: list[Step] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        speaker, space_id = await stoa_speaker(client)
        direct = await direct_speaker(pools[0])
        connected = failed = 0
        try:
            for target in opts.steps:
                started = time.monotonic()
                if target > connected + failed:
                    made, lost = await _add_listeners(
                        pools,
                        target - connected - failed,
                        opts.connect_concurrency,
                        group="stoa",
                        url=url,
                        space_id=space_id,
                        seats=opts.seats,
                    )
                    connected, failed = connected + made, failed + lost
                await _wait_ready(pools, "stoa", connected)
                _note(f"stoa: {connected} listeners up in {time.monotonic() - started:.0f} s")
                await asyncio.sleep(opts.settle)
                step = await measure(
                    "stoa", target, relay, pools, speaker, direct, opts.duration, profiler
                )
                steps.append(step)
                _note(_row(step))
                if not step.held(opts.max_loss) and not opts.keep_going:
                    break
        finally:
            await speaker.pc.close()
            await direct.pc.close()
    for pool in pools:
        await procs.stop(pool)
    await procs.stop(relay)
    return steps


async def run_baseline(opts: Options, procs: Processes) -> list[Step]:
    port = _free_port()
    server = await procs.start(
        "baseline", [sys.executable, "-m", "benchmarks.fanout_peers", "baseline", str(port)]
    )
    url = f"http://127.0.0.1:{port}"
    await _wait_http(url, server)
    pools = await start_pools(procs, opts.client_procs)
    profiler = Profiler(None, server.proc.pid)
    speaker = await baseline_speaker(url)
    steps: list[Step] = []
    connected = failed = 0
    try:
        for target in opts.baseline_steps:
            started = time.monotonic()
            made, lost = await _add_listeners(
                pools,
                target - connected - failed,
                opts.connect_concurrency,
                group="baseline",
                url=url,
            )
            connected, failed = connected + made, failed + lost
            await _wait_ready(pools, "baseline", connected)
            _note(f"baseline: {connected} listeners up in {time.monotonic() - started:.0f} s")
            await asyncio.sleep(opts.settle)
            step = await measure(
                "baseline", target, server, pools, speaker, None, opts.duration, profiler
            )
            steps.append(step)
            _note(_row(step))
            if not step.held(opts.max_loss) and not opts.keep_going:
                break
    finally:
        await speaker.pc.close()
    for pool in pools:
        await procs.stop(pool)
    await procs.stop(server)
    return steps


# Report

_HEADER = (
    f"{'system':<10} {'streams':>7} {'fail':>4} {'loss %':>7} {'relay CPU':>9} {'sys':>4} "
    f"{'streams/core':>12} {'pkt/s':>7} {'pkt/s/core':>10} "
    f"{'clients CPU':>11} {'speaker':>7} {'other':>6} "
    f"{'RSS MB':>6} {'via relay p50/p95 ms':>20} {'direct p50/p95 ms':>17} "
    f"{'added p50/p95 ms':>16}"
)


def _ms(pair: tuple[float, float] | None) -> str:
    return "-" if pair is None else f"{pair[0] / 1000:.2f} / {pair[1] / 1000:.2f}"


def _lag(pair: tuple[float, float]) -> str:
    return f"lag {pair[0]:.0f} / {pair[1]:.0f}"


def _row(step: Step) -> str:
    name = "stoa" if step.system == "stoa" else "MediaRelay"
    return (
        f"{name:<10} {step.listeners:>7} {step.failed:>4} {step.loss * 100:>7.2f} "
        f"{step.relay_cpu * 100:>8.1f}% {step.relay_sys * 100:>3.0f}% "
        f"{step.streams_per_core:>12.0f} "
        f"{step.delivered_pps:>7.0f} {step.packets_per_core:>10.0f} "
        f"{step.clients_cpu * 100:>10.1f}% {step.speaker_cpu * 100:>6.1f}% "
        f"{step.other_cpu * 100:>5.1f}% {step.relay_rss_mb:>6.0f} "
        f"{_ms(step.via_relay_us) if step.lag_ms is None else _lag(step.lag_ms):>20} "
        f"{_ms(step.direct_us):>17} {_ms(step.added_us):>16}"
    )


def _best(steps: list[Step], max_loss: float) -> Step | None:
    held = [s for s in steps if s.held(max_loss)]
    return max(held, key=lambda s: s.listeners) if held else None


def report(opts: Options, stoa: list[Step], baseline: list[Step]) -> str:
    lines = [
        f"Fan-out on {os.cpu_count()} cores, 127.0.0.1; {opts.duration:.0f} s windows, "
        f"{PACKETS_PER_SECOND} packets/s per stream, listeners offer {opts.seats} seats, "
        f"{opts.client_procs} listener processes; relay CPU = user+system of the relay "
        "process, in % of one core.",
        _HEADER,
        *(_row(s) for s in stoa + baseline),
        "",
    ]
    busy = [s for s in stoa + baseline if s.other_cpu > BUSY_MACHINE]
    if busy:
        lines.append(
            f"note: other processes used up to {max(s.other_cpu for s in busy) * 100:.0f} % of "
            f"a core during {len(busy)} of the windows; their loss and latency are partly the "
            "machine's."
        )
    best, base = _best(stoa, opts.max_loss), _best(baseline, opts.max_loss)
    for label, step in (("stoa relay", best), ("MediaRelay", base)):
        if step is None:
            lines.append(f"{label}: no step held at <= {opts.max_loss} % loss")
            continue
        lines.append(
            f"{label}: {step.listeners} streams at {step.loss * 100:.2f} % loss on "
            f"{step.relay_cpu * 100:.1f} % of a core -> {step.streams_per_core:.0f} "
            f"streams/core, {step.packets_per_core:.0f} packets/s/core"
            + (
                f", relay-added latency p50 {step.added_us[0] / 1000:.2f} ms, "
                f"p95 {step.added_us[1] / 1000:.2f} ms"
                if step.added_us
                else ""
            )
        )
    if best and base:
        lines.append(
            f"ratio: {best.streams_per_core / base.streams_per_core:.1f}x the streams per core "
            "of MediaRelay"
        )
    return "\n".join(lines)


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# Entry


async def run(opts: Options) -> str:
    restrict_host_addresses(["127.0.0.1"])
    with tempfile.TemporaryDirectory(prefix="stoa-fanout-") as tmp:
        workdir = Path(tmp)
        if opts.logs is not None:
            opts.logs.mkdir(parents=True, exist_ok=True)
        procs = Processes(opts.logs or workdir)
        try:
            stoa = await run_stoa(opts, procs, workdir) if opts.steps else []
            baseline = await run_baseline(opts, procs) if opts.baseline_steps else []
        except BaseException:
            for log in sorted((opts.logs or workdir).glob("*.log")):
                tail = log.read_text(errors="replace").splitlines()[-15:]
                _note(f"--- {log.name}\n" + "\n".join(tail))
            raise
        finally:
            await procs.stop_all()
    return report(opts, stoa, baseline)


def _counts(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.relay_fanout",
        description="Listener streams per relay core, against aiortc's MediaRelay.",
    )
    parser.add_argument(
        "--steps",
        type=_counts,
        default=(100, 200, 400, 800),
        help="listener counts for the relay (default 100,200,400,800)",
    )
    parser.add_argument(
        "--baseline-steps",
        type=_counts,
        default=(10, 20, 40),
        help="listener counts for MediaRelay (default 10,20,40)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip MediaRelay")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per step (default 10)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds between connecting and measuring (default 2)",
    )
    parser.add_argument(
        "--client-procs", type=int, default=2, help="listener processes (default 2)"
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=4,
        help="connections each listener process sets up at once (default 4)",
    )
    parser.add_argument(
        "--seats",
        type=int,
        default=13,
        help="seats each relay listener offers, as browsers do (default 13)",
    )
    parser.add_argument(
        "--max-loss",
        type=float,
        default=0.5,
        help="loss in %% a step may have to count as held (default 0.5)",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="run every step even after one loses more than --max-loss",
    )
    parser.add_argument(
        "--relay-loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="auto runs `stoa relay` as shipped (uvicorn picks uvloop)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="record the relay with py-spy during each window into DIR",
    )
    parser.add_argument(
        "--logs", type=Path, default=None, metavar="DIR", help="keep the processes' logs in DIR"
    )
    args = parser.parse_args(argv)
    return Options(
        steps=args.steps,
        baseline_steps=() if args.no_baseline else args.baseline_steps,
        duration=args.duration,
        settle=args.settle,
        client_procs=max(1, args.client_procs),
        connect_concurrency=max(1, args.connect_concurrency),
        seats=args.seats,
        max_loss=args.max_loss,
        relay_loop=args.relay_loop,
        profile_dir=args.py_spy,
        keep_going=args.keep_going,
        logs=args.logs,
    )


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse_args(argv)
    try:
        print(uvloop.run(run(opts)), flush=True)
    except KeyboardInterrupt:
        # run() has stopped every process it started on the way out.
        raise SystemExit("interrupted") from None


if __name__ == "__main__":
    main()
