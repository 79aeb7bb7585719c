"""The pipeline on a synthetic one-hour, four-speaker space: each stage's time, and scale-out.

    python -m benchmarks.pipeline [--minutes 60] [--speakers 4] [--broker redis://127.0.0.1:6379/0]
        [--beam-size 5] [--keep DIR]

The space: four speakers taking turns with espeak-ng phrases (one every 3.2 s, so each speaks
about a fifth of the time), recorded by the real recorder (Ogg Opus tracks on the space clock)
into a SQLite catalog and a local object store in a temporary folder.

The workers are the real thing: ``stoa worker`` processes on the broker (Redis by default),
each with one thread and one inference thread (``OMP_NUM_THREADS=1``), so one worker process
is one core. Run 1 has one worker process; run 2 (the same space reprocessed) has two. A run's
time is the catalog's, from the run's start to its publication; each part's time is what its
worker measured. Run 1 does everything one thing at a time, so its parts give each stage's cost:

- decode/prepare: ffmpeg decodes each track, measures its loudness, writes 16 kHz FLAC;
- VAD and decoding for recognition: measured apart on the same FLACs (Silero VAD as the engine
  runs it), since the engine interleaves them with the model;
- model inference: the transcription parts less the two above;
- mix and encode: the replay part (mix, loudness passes, AAC, peaks);
- captions, index, publish: merge and write four formats, the caption rows, full-text index.

No real Whisper weights can be fetched here: the model is a random one with whisper-tiny's
dimensions (``tests/transcribe/tiny_model.py``: d_model 384, 4 encoder and 4 decoder layers,
6 heads, FFN 1536, 80 mel bins; a byte-level vocabulary of 1,765 tokens instead of 51,865),
whose output layer makes it write plausible lowercase words; beam size 5, as Stoa's default.
Its inference time stands in for a real model's; the other stages do not depend on the model.

Two-process speed-up needs two free cores: on a machine that other work shares, each process
gets less than one. The benchmark therefore also prints what run 1's part times give when
scheduled on two dedicated cores as the broker hands parts out (`simulate`), and the load
average at the end of each run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stoa.catalog import Catalog, PartRecord, PartSpec, ProcessingRecord, ProcessingState
from stoa.storage.local import LocalStore
from tests.transcribe.tiny_model import TinyDimensions, write_tiny_model
from tests.workers.spaces import PHRASES, Placed, RecordedSpace, record_space
from transcribe.audio import decode
from transcribe.engine import TranscribeOptions
from transcribe.vad import speech_regions
from workers.context import WorkerConfig, WorkerContext
from workers.plan import Stage, plan
from workers.prepare import prepare
from workers.runtime import PipelineRuntime

WHISPER_TINY = TinyDimensions(d_model=384, encoder_layers=4, decoder_layers=4, heads=6, ffn=1536)
NAMES = ("Ann", "Ben", "Cleo", "Dev", "Eve", "Finn")
TURN_SECONDS = 3.2


def talk(minutes: float, speakers: int) -> list[Placed]:
    placed, at, turn = [], 0.5, 0
    while at < minutes * 60 - 4:
        placed.append(Placed(NAMES[turn % speakers], at, PHRASES[turn % len(PHRASES)]))
        at += TURN_SECONDS
        turn += 1
    return placed


@dataclass(frozen=True)
class Run:
    processes: int
    record: ProcessingRecord
    parts: list[PartRecord]
    load: float
    """The machine's load average (1 minute) when the run ended."""

    @property
    def seconds(self) -> float:
        assert self.record.finished_at is not None
        return (self.record.finished_at - self.record.started_at).total_seconds()

    def stage(self, stage: Stage) -> float:
        return sum(p.elapsed_s or 0.0 for p in self.parts if p.stage == stage)


def simulate(run: Run, specs: list[PartSpec], processes: int) -> float:
    """The run's time on ``processes`` dedicated cores, with its parts' measured times.

    Parts go to the first free process in the order they were released, as the broker hands
    them out; parts released together, heaviest first, as the catalog sends them. Separates the
    pipeline's shape from a machine whose cores others share.
    """
    took = {p.name: p.elapsed_s or 0.0 for p in run.parts}
    heaviest = sorted(specs, key=lambda spec: (-spec.weight, spec.position, spec.name))
    order = {spec.name: i for i, spec in enumerate(heaviest)}
    released = {spec.name: 0.0 for spec in specs if not spec.waits_for}
    done: dict[str, float] = {}
    free = [0.0] * processes
    while len(done) < len(specs):
        slot = min(range(processes), key=free.__getitem__)
        name = min((n for n in released if n not in done), key=lambda n: (released[n], order[n]))
        done[name] = max(free[slot], released[name]) + took[name]
        free[slot] = done[name]
        for spec in specs:
            if spec.name not in released and all(w in done for w in spec.waits_for):
                released[spec.name] = max(done[w] for w in spec.waits_for)
    return max(done.values())


def workers(processes: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "stoa.cli", "worker", "-p", str(processes), "-t", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while log.read_text().count("is ready for action") < processes:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the workers did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=120)


def measure(runtime: PipelineRuntime, space_id: str, processes: int) -> Run:
    """Run the space through the pipeline on the workers running now; the run's record."""
    record = runtime.pipeline.start(space_id)
    record = runtime.pipeline.wait(space_id, record.run, timeout=4 * 3600, poll=1.0)
    if record.state is not ProcessingState.DONE:
        raise SystemExit(f"run {record.run} failed at {record.stage}: {record.error}")
    parts = runtime.pipeline.catalog.parts(space_id, record.run)
    return Run(processes, record, parts, os.getloadavg()[0])


def forget(broker_url: str, namespace: str) -> None:
    """Remove the run's queues from the broker."""
    if broker_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker_url)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
        client.close()
    else:
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        channel = connection.channel()
        for queue in (namespace, f"{namespace}.DQ", f"{namespace}.XQ"):
            channel.queue_delete(queue)
        connection.close()


def recognition_split(
    catalog: Catalog, store: LocalStore, recorded: RecordedSpace, folder: Path
) -> tuple[float, float, float]:
    """Seconds of (prepare, decoding the 16 kHz FLAC, VAD) over every track, measured apart."""
    prepared = decoded = vad = 0.0
    for track in catalog.tracks(recorded.space.id):
        source = folder / "track.ogg"
        store.download(track.storage_key, source)
        started = time.perf_counter()
        flac = prepare(source, folder / "speech.flac", what=track.name).path
        prepared += time.perf_counter() - started
        started = time.perf_counter()
        for _ in decode(flac):
            pass
        decoding = time.perf_counter() - started
        started = time.perf_counter()
        for _ in speech_regions(decode(flac)):
            pass
        # VAD's pass decodes too: VAD's own time is the difference.
        vad += time.perf_counter() - started - decoding
        decoded += decoding
    return prepared, decoded, vad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument(
        "--broker", default=os.environ.get("STOA_BROKER_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="stoa-pipeline-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    catalog = Catalog(f"sqlite:///{data / 'stoa.db'}")
    catalog.migrate()
    store = LocalStore(data / "objects")
    namespace = f"stoa-bench-{secrets.token_hex(4)}"
    model = write_tiny_model(folder / "model", WHISPER_TINY)
    load_before = os.getloadavg()

    env = {k: v for k, v in os.environ.items() if not k.startswith("STOA_")}
    env |= {
        "STOA_DATA_DIR": str(data),
        "STOA_BROKER_URL": args.broker,
        "STOA_BROKER_NAMESPACE": namespace,
        "STOA_WHISPER_MODEL": str(model),
        "STOA_WHISPER_BEAM_SIZE": str(args.beam_size),
        "HF_HUB_OFFLINE": "1",
        # One worker process is one core: one worker thread, one inference thread.
        "OMP_NUM_THREADS": "1",
    }
    config = WorkerConfig(TranscribeOptions(model=str(model)), folder / "scratch", namespace)
    runtime = PipelineRuntime.build(
        WorkerContext.open(catalog, store, config), args.broker, threads=1
    )
    log = folder / "workers.log"
    try:
        # The space is recorded once the first worker is up, so the run starts when measured.
        process = workers(1, env, log)
        try:
            started = time.perf_counter()
            recorded = record_space(
                catalog,
                store,
                folder / "recordings",
                talk(args.minutes, args.speakers),
                args.minutes * 60,
            )
            built = time.perf_counter() - started
            print(
                f"space: {args.minutes:g} min, {args.speakers} speakers, "
                f"{len(recorded.placed)} phrases (recorded in {built:.1f} s)"
            )
            one = measure(runtime, recorded.space.id, 1)
            print(f"1 worker process:   {one.seconds:.1f} s")
        finally:
            stop(process)
        process = workers(2, env, log)
        try:
            two = measure(runtime, recorded.space.id, 2)
            print(f"2 worker processes: {two.seconds:.1f} s")
        finally:
            stop(process)
    finally:
        runtime.close()
        forget(args.broker, namespace)
    duration = recorded.duration
    prepared, decoded, vad = recognition_split(catalog, store, recorded, folder)
    load_after = os.getloadavg()

    prepare_s = one.stage(Stage.PREPARE)
    transcribe_s = one.stage(Stage.TRANSCRIBE)
    inference = transcribe_s - decoded - vad
    rows = [
        ("decode/prepare (ffmpeg: decode, loudness, 16 kHz FLAC)", prepare_s),
        ("decode 16 kHz for recognition", decoded),
        ("VAD (Silero)", vad),
        ("model inference", inference),
        ("mix and encode (replay audio, peaks)", one.stage(Stage.REPLAY)),
        ("captions (merge, VTT/SRT/TXT/JSON)", one.stage(Stage.CAPTIONS)),
        ("index (caption rows)", one.stage(Stage.INDEX)),
        ("publish (full-text index, switch, clean-up)", one.stage(Stage.PUBLISH)),
    ]
    other = sum(seconds for name, seconds in rows if name != "model inference")
    print()
    print(f"model: random, whisper-tiny dimensions {WHISPER_TINY}, beam size {args.beam_size}")
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
        f"{os.cpu_count()} cores"
    )
    print()
    print("| stage (run 1, one worker process) | seconds | × space duration |")
    print("| --- | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / duration:.4f} |")
    print(f"| **all but model inference** | **{other:.1f}** | **{other / duration:.4f}** |")
    print()
    print("| worker processes | run time (s) | × space duration | load average at its end |")
    print("| ---: | ---: | ---: | ---: |")
    for run in (one, two):
        print(
            f"| {run.processes} | {run.seconds:.1f} | {run.seconds / duration:.3f} "
            f"| {run.load:.2f} |"
        )
    speedup = one.seconds / two.seconds
    specs = plan(catalog.tracks(recorded.space.id), config.piece_seconds)
    ideal = simulate(one, specs, 1) / simulate(one, specs, 2)
    print()
    print(f"speed-up with two worker processes: {speedup:.2f}× (goal ≥ 1.8×)")
    print(
        f"the same parts on two dedicated cores (run 1's part times, scheduled as released): "
        f"{ideal:.2f}×"
    )
    print(
        f"all but inference: {other / duration:.4f} × duration (goal ≤ 0.05×): "
        f"{'met' if other / duration <= 0.05 else 'NOT met'}"
    )
    print(f"(checked separately: prepare again {prepared:.1f} s)")
    catalog.close()
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
