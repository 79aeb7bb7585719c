"""Replay API throughput: requests per second for a space's detail and its captions, with 100
concurrent clients.

    python -m benchmarks.replay_api [--seconds 10] [--clients 100] [--minutes 60]
        [--tool wrk|httpx]

The space: a one-hour replayable space with four speakers, one caption segment every 4 s
(900 segments; the captions file is written by the real formatter, ``transcribe.captions``),
four recorded tracks with their packet accounting, in a SQLite catalog and local object storage
in a temporary folder, published through the catalog as the pipeline publishes.

The server is the real app (``stoa.app.create_app``, as ``stoa api`` serves it: no relay) under
uvicorn in a process of its own, one worker, access log off. The load generator is another
process: ``wrk`` (Debian's package) with 2 threads and 100 keep-alive connections, each sending
its next request as soon as the last is answered, after a 2 s warm-up run. Without wrk, 100
asyncio clients on httpx do the same; on a small machine that Python client saturates before
the server does (measured: 12 against wrk's 290 requests/s for the detail), so its numbers are
the client's limit, not the server's.

Requests: ``GET /api/spaces/{id}/replay`` (the detail: five catalog reads), ``GET
/api/spaces/{id}/captions.vtt`` (a catalog read and the file from storage), and the same
captions with ``If-None-Match`` (the 304 a browser or CDN revalidation gets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from stoa.catalog import Catalog, PartSpec, Role, TrackRecord
from stoa.settings import Settings
from stoa.storage.local import LocalStore
from transcribe.captions import to_vtt
from transcribe.segments import SpeakerSegment, Word
from workers import keys

SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"
NAMES = ("Ann", "Ben", "Cleo", "Dev")
WORDS = (
    "replay captions audio speaker stage relay listener recording question answer space "
    "browser transcript moment search open source self hosting room people talk"
).split()


def build_space(data: Path, minutes: float) -> str:
    """A replayable space of ``minutes``, published in the catalog and the store under ``data``."""
    catalog = Catalog(f"sqlite:///{data / 'stoa.db'}")
    catalog.migrate()
    store = LocalStore(data / "objects")
    space, host = catalog.create_space(
        title="An hour of replay", host_name=NAMES[0], scheduled_for=None, host_device=None
    )
    people = [host.id] + [
        catalog.add_participant(space_id=space.id, name=n, role=Role.SPEAKER, device_id=None).id
        for n in NAMES[1:]
    ]
    assert space.started_at is not None
    seconds = minutes * 60
    catalog.end_space_at(space.id, space.started_at + timedelta(seconds=seconds))
    tracks = [
        TrackRecord(
            participant_id=pid,
            name=name,
            storage_key=f"spaces/{space.id}/tracks/{pid}.ogg",
            start_offset_ms=1000.0 * i,
            duration_ms=1000.0 * (seconds - i),
            bytes=4_000 * int(seconds),
            packets={
                "sent": 50 * int(seconds),
                "received": 50 * int(seconds) - 7,
                "lost": 7,
                "filled_ms": 140.0,
                "duplicate": 0,
                "late": 1,
                "muted": 0,
            },
            codec={"name": "opus", "sample_rate": 48000, "channels": 1},
        )
        for i, (pid, name) in enumerate(zip(people, NAMES, strict=True))
    ]
    catalog.record_tracks(space.id, tracks, f"spaces/{space.id}/manifest.json")

    segments = []
    for n in range(int(seconds // 4)):
        start = n * 4.0
        text = " ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(12))
        words = tuple(
            Word(start + 0.25 * k, start + 0.25 * k + 0.2, w, 0.9)
            for k, w in enumerate(text.split())
        )
        speaker = n % len(NAMES)
        segments.append(
            SpeakerSegment(people[speaker], NAMES[speaker], start, start + 3.5, text, words)
        )
    record, released = catalog.start_processing(
        space.id, [PartSpec(name="publish", stage="publish", position=0, weight=1.0)]
    )
    outputs = keys.outputs(space.id, record.run)
    store.put_bytes(outputs[keys.VTT], to_vtt(segments).encode(), keys.CONTENT_TYPES[keys.VTT])
    catalog.begin_part(space.id, record.run, "publish", released[0].message_id)
    catalog.publish(space.id, record.run, "publish", outputs)
    catalog.close()
    return space.id


def serve() -> None:
    """The server process: the app as ``stoa api`` builds it, settings from the environment."""
    import uvicorn

    from stoa.app import create_app

    settings = Settings()
    app = create_app(settings, relay=False)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


@dataclass(frozen=True)
class Result:
    name: str
    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    status: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def _load(
    url: str, headers: dict[str, str], clients: int, seconds: float, warmup: float
) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    errors = 0
    statuses: set[int] = set()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        end = measure_from + seconds

        async def one_client() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < end:
                try:
                    response = await client.get(url, headers=headers)
                    await response.aread()
                    statuses.add(response.status_code)
                except httpx.HTTPError:
                    errors += 1
                    continue
                done = time.perf_counter()
                if now >= measure_from and done <= end:
                    latencies.append(done - now)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    status = statuses.pop() if len(statuses) == 1 else -1
    return latencies, errors, status


def run_httpx(name: str, url: str, headers: dict[str, str], clients: int, seconds: float) -> Result:
    latencies, errors, status = asyncio.run(_load(url, headers, clients, seconds, warmup=0.5))
    cuts = statistics.quantiles(latencies, n=100)
    return Result(
        name, "httpx", len(latencies), seconds, 1000 * cuts[49], 1000 * cuts[98], errors, status
    )


def run_wrk(name: str, url: str, headers: dict[str, str], clients: int, seconds: float) -> Result:
    command = ["wrk", "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def found(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.M)
        if match is None:
            raise RuntimeError(f"unexpected wrk output:\n{out}")
        return match

    total = found(r"(\d+) requests in ([\d.]+)(ms|s)")
    elapsed = float(total[2]) / (1000.0 if total[3] == "ms" else 1.0)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )

    def percentile(p: str) -> float:
        value, unit = found(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$").groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Result(
        name,
        "wrk",
        int(total[1]),
        elapsed,
        percentile("50"),
        percentile("99"),
        (int(errors[1]) if errors else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the space")
    parser.add_argument(
        "--tool",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    with tempfile.TemporaryDirectory(prefix="stoa-replay-bench-") as folder:
        data = Path(folder) / "data"
        space_id = build_space(data, args.minutes)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOA_")}
        env |= {"STOA_DATA_DIR": str(data), "STOA_PORT": str(port), "STOA_SECRET_KEY": SECRET}
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.replay_api", "--serve"], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_up(base, server)
            detail_url = f"{base}/api/spaces/{space_id}/replay"
            captions_url = f"{base}/api/spaces/{space_id}/captions.vtt"
            captions = httpx.get(captions_url)
            detail = httpx.get(detail_url)
            assert detail.status_code == 200 and captions.status_code == 200
            print(
                f"space: {args.minutes:g} min, {captions.text.count(' --> ')} cues; "
                f"detail {len(detail.content)} B, captions {len(captions.content)} B; "
                f"load average before: {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
            )
            cases = [
                ("space detail", detail_url, {}),
                ("captions.vtt", captions_url, {}),
                ("captions.vtt, 304", captions_url, {"If-None-Match": captions.headers["etag"]}),
            ]
            run = run_wrk if args.tool == "wrk" else run_httpx
            results = []
            for name, url, headers in cases:
                run(name, url, headers, args.clients, 2.0)  # warm-up
                results.append(run(name, url, headers, args.clients, args.seconds))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| request | load generator | requests/s | p50 ms | p99 ms | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.name} | {r.tool} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    print(json.dumps([r.__dict__ | {"rps": round(r.rps, 1)} for r in results]), file=sys.stderr)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"{base}/api/replays", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


if __name__ == "__main__":
    main()
