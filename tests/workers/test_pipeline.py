"""The pipeline on dramatiq's in-process broker, with real media and a scripted recognizer.

Spaces are recorded by the real recorder from espeak-ng speech; prepare and mix run ffmpeg for
real. Recognition is `ScriptedEngine` here (these tests are about what the pipeline does around
it); the real engine runs in ``test_brokers.py`` and ``test_app.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import dramatiq
import numpy as np
import pytest

from stoa.catalog import Catalog, PartState, ProcessingState, QueuedPart, SpaceState
from stoa.errors import StorageUnavailable
from stoa.search import parse
from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from stoa.storage.s3 import S3Config, S3Store
from tests.workers.conftest import make_context
from tests.workers.spaces import PHRASES, Placed, RecordedSpace, record_space
from transcribe.engine import Engine, TranscribeOptions
from transcribe.segments import Segment, Word
from transcribe.stub import ScriptedEngine
from workers import keys
from workers.context import EngineCache
from workers.plan import Stage, part_name
from workers.runtime import PipelineRuntime

PLACED = [
    Placed("Ann", 0.5, PHRASES[0]),
    Placed("Ben", 4.0, PHRASES[3]),
    Placed("Ann", 7.5, PHRASES[2]),
]
DURATION = 10.0

Make = Callable[..., PipelineRuntime]


def scripted(word: str) -> Callable[[float], Iterable[Segment]]:
    """One segment at the start of each track's speech, saying ``word``."""

    def script(duration: float) -> list[Segment]:
        end = min(1.0, duration)
        return [Segment(0.05, end, word, (Word(0.05, end, word, 0.9),))]

    return script


class Engines(EngineCache):
    """Scripted engines by model name; counts calls."""

    def __init__(self, words: dict[str, str] | None = None) -> None:
        self.words = words or {"scripted": "first"}
        self.made: list[ScriptedEngine] = []
        super().__init__(self._make)

    def _make(self, options: TranscribeOptions) -> Engine:
        engine = ScriptedEngine(scripted(self.words[options.model]))
        self.made.append(engine)
        return engine

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.made)


@pytest.fixture
def make(sqlite_catalog: Catalog, store: ObjectStore, tmp_path: Path) -> Iterator[Make]:
    made: list[PipelineRuntime] = []

    def build(
        *, engines: EngineCache | None = None, store_: ObjectStore | None = None
    ) -> PipelineRuntime:
        context = make_context(
            sqlite_catalog, store_ or store, tmp_path, engines=engines or Engines()
        )
        runtime = PipelineRuntime.build(context, None, threads=2)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        # Parts of a failed run may still be running: let them end before the folder goes.
        if runtime.workers is not None:
            runtime.workers.join()
        runtime.close()


@pytest.fixture
def recorded(sqlite_catalog: Catalog, store: ObjectStore, tmp_path: Path) -> RecordedSpace:
    return record_space(sqlite_catalog, store, tmp_path / "recordings", PLACED, DURATION)


def run_through(runtime: PipelineRuntime, space_id: str, **options: object) -> None:
    runtime.start(recover=False)
    record = runtime.pipeline.start(space_id, **options)  # type: ignore[arg-type]
    runtime.pipeline.wait(space_id, record.run, timeout=120)
    settle(runtime)


def settle(runtime: PipelineRuntime) -> None:
    """Wait until the workers are idle (publishing deletes older files after the switch)."""
    assert runtime.workers is not None
    runtime.workers.join()


def test_a_recorded_space_becomes_replayable(
    make: Make, sqlite_catalog: Catalog, store: ObjectStore, recorded: RecordedSpace
) -> None:
    engines = Engines()
    runtime = make(engines=engines)
    space_id = recorded.space.id
    run_through(runtime, space_id)

    assert sqlite_catalog.get_space(space_id).state is SpaceState.REPLAYABLE
    record = sqlite_catalog.processing(space_id)
    assert record is not None
    assert (record.state, record.stage, record.progress, record.error) == (
        ProcessingState.DONE,
        "done",
        100.0,
        None,
    )
    assert record.outputs == keys.outputs(space_id, 1)
    assert all(store.exists(k) for k in record.outputs.values())
    # One message per stage and track, each done once, each timed.
    parts = sqlite_catalog.parts(space_id)
    tracks = sqlite_catalog.tracks(space_id)
    assert {p.name for p in parts} == {
        *(
            part_name(s, t.participant_id)
            for s in (Stage.PREPARE, Stage.TRANSCRIBE)
            for t in tracks
        ),
        *(Stage.REPLAY, Stage.CAPTIONS, Stage.INDEX, Stage.PUBLISH),
    }
    assert all(p.state is PartState.DONE and p.attempts == 1 for p in parts)
    assert all(p.elapsed_s is not None and p.elapsed_s >= 0 for p in parts)
    assert engines.calls == len(tracks)

    # Captions: one segment per track, at its start on the space clock, its speaker's.
    captions = sqlite_catalog.caption_segments(space_id)
    assert [(c.speaker, round(c.start, 2)) for c in captions] == [
        (t.name, round(t.start_offset_ms / 1000 + 0.05, 2)) for t in tracks
    ]
    vtt = store.get_bytes(record.outputs[keys.VTT]).decode()
    assert vtt.startswith("WEBVTT") and "<v Ann>first" in vtt and "<v Ben>first" in vtt
    transcript = json.loads(store.get_bytes(record.outputs[keys.JSON]))
    assert transcript["segments"][0]["speaker"] == "Ann"
    peaks = json.loads(store.get_bytes(record.outputs[keys.PEAKS]))
    assert peaks["version"] == 2 and peaks["length"] == DURATION * 10
    assert max(peaks["data"]) > 50 and min(peaks["data"]) < -50
    # Speech prepared for recognition is gone once published; tracks and manifest stay.
    assert not store.list(keys.speech_prefix(space_id, 1) + "/")
    assert store.exists(tracks[0].storage_key)
    # Searchable once replayable.
    hits = runtime.pipeline.actors.context.search.search(parse("first"))
    assert {h.space_id for h in hits} == {space_id}


def test_every_message_delivered_twice_leaves_one_set_of_segments(
    make: Make, sqlite_catalog: Catalog, recorded: RecordedSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make()
    actors = runtime.pipeline.actors
    send = actors.send

    def twice(parts: Iterable[QueuedPart]) -> None:
        parts = list(parts)
        send(parts)
        send(parts)

    monkeypatch.setattr(actors, "send", twice)
    space_id = recorded.space.id
    run_through(runtime, space_id)
    assert sqlite_catalog.get_space(space_id).state is SpaceState.REPLAYABLE
    segments = sqlite_catalog.track_segments(space_id, 1)
    assert sorted(len(s) for s in segments.values()) == [1, 1]
    assert len(sqlite_catalog.caption_segments(space_id)) == 2


def test_messages_of_a_replaced_run_do_nothing(
    make: Make, sqlite_catalog: Catalog, store: ObjectStore, recorded: RecordedSpace
) -> None:
    engines = Engines({"scripted": "first", "other": "second"})
    runtime = make(engines=engines)
    space_id = recorded.space.id
    # Run 1's messages wait in the queue while run 2 begins; then the workers start.
    runtime.pipeline.start(space_id)
    record = runtime.pipeline.start(space_id, model="other")
    runtime.start(recover=False)
    record = runtime.pipeline.wait(space_id, record.run, timeout=120)
    settle(runtime)
    assert record.run == 2 and record.state is ProcessingState.DONE
    assert {c.text for c in sqlite_catalog.caption_segments(space_id)} == {"second"}
    assert not store.list(keys.run_prefix(space_id, 1) + "/")
    assert all(e.calls == 0 for e in engines.made if e is not engines.made[-1])


class HeldEngines(Engines):
    """Scripted engines whose ``other`` model waits for ``release``."""

    def __init__(self) -> None:
        super().__init__({"scripted": "first", "other": "second"})
        self.release = threading.Event()

    def _make(self, options: TranscribeOptions) -> Engine:
        engine = super()._make(options)
        if options.model != "other":
            return engine
        release = self.release

        class Held:
            def transcribe(self, audio: object, **kwargs: object) -> object:
                release.wait(60)
                return engine.transcribe(audio, **kwargs)  # type: ignore[arg-type]

            def detect_language(self, audio: object) -> object:
                return engine.detect_language(audio)  # type: ignore[arg-type]

        return Held()  # type: ignore[return-value]


def test_reprocessing_replaces_the_outputs_at_once(
    make: Make, sqlite_catalog: Catalog, store: ObjectStore, recorded: RecordedSpace
) -> None:
    engines = HeldEngines()
    runtime = make(engines=engines)
    space_id = recorded.space.id
    run_through(runtime, space_id)
    first = sqlite_catalog.processing(space_id)
    assert first is not None and first.published_run == 1

    record = runtime.pipeline.start(space_id, model="other")
    assert record.run == 2 and record.model == "other"
    deadline = 0
    while sqlite_catalog.processing(space_id).stage != Stage.TRANSCRIBE:  # type: ignore[union-attr]
        deadline += 1
        assert deadline < 1000
        threading.Event().wait(0.02)
    # While run 2 works, the space keeps run 1: replayable, its outputs, its captions.
    during = sqlite_catalog.processing(space_id)
    assert during is not None and during.state is ProcessingState.RUNNING
    assert during.outputs == first.outputs and during.published_run == 1
    assert sqlite_catalog.get_space(space_id).state is SpaceState.REPLAYABLE
    assert {c.text for c in sqlite_catalog.caption_segments(space_id)} == {"first"}

    engines.release.set()
    done = runtime.pipeline.wait(space_id, 2, timeout=120)
    settle(runtime)
    assert done.state is ProcessingState.DONE and done.outputs == keys.outputs(space_id, 2)
    assert {c.text for c in sqlite_catalog.caption_segments(space_id)} == {"second"}
    assert not store.list(keys.run_prefix(space_id, 1) + "/")
    hits = runtime.pipeline.actors.context.search.search(parse("second"))
    assert {h.space_id for h in hits} == {space_id}
    assert not runtime.pipeline.actors.context.search.search(parse("first"))


def test_a_corrupt_track_fails_the_run_with_a_reason(
    make: Make, sqlite_catalog: Catalog, store: ObjectStore, recorded: RecordedSpace
) -> None:
    ben = next(t for t in sqlite_catalog.tracks(recorded.space.id) if t.name == "Ben")
    store.put_bytes(ben.storage_key, np.random.default_rng(1).bytes(5000), "audio/ogg")
    runtime = make()
    run_through(runtime, recorded.space.id)
    record = sqlite_catalog.processing(recorded.space.id)
    assert record is not None and record.state is ProcessingState.FAILED
    assert record.stage == Stage.PREPARE
    assert record.error is not None
    assert record.error.startswith(f"the track of Ben ({ben.participant_id}): ffmpeg failed")
    # Permanent: tried once, never again; the space stays recorded.
    failed = sqlite_catalog.part(recorded.space.id, 1, part_name(Stage.PREPARE, ben.participant_id))
    assert failed.state is PartState.FAILED and failed.attempts == 1
    assert sqlite_catalog.get_space(recorded.space.id).state is SpaceState.RECORDED


def test_an_empty_track_fails_the_run(
    make: Make, sqlite_catalog: Catalog, store: ObjectStore, recorded: RecordedSpace
) -> None:
    ann = sqlite_catalog.tracks(recorded.space.id)[0]
    store.put_bytes(ann.storage_key, b"", "audio/ogg")
    run_through(make(), recorded.space.id)
    record = sqlite_catalog.processing(recorded.space.id)
    assert record is not None and record.state is ProcessingState.FAILED
    assert record.error is not None and "the track of Ann" in record.error


def test_a_space_where_nobody_spoke_fails_readably(make: Make, sqlite_catalog: Catalog) -> None:
    space, _host = sqlite_catalog.create_space(
        title="Quiet", host_name="Hana", scheduled_for=None, host_device=None
    )
    sqlite_catalog.end_space(space.id)
    sqlite_catalog.record_tracks(space.id, [], f"spaces/{space.id}/manifest.json")
    run_through(make(), space.id)
    record = sqlite_catalog.processing(space.id)
    assert record is not None and record.state is ProcessingState.FAILED
    assert record.error is not None and record.error.startswith("nothing was recorded")


class FlakyStore(LocalStore):
    """Local storage whose downloads fail ``failures`` times first (an S3 outage)."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures
        self.lock = threading.Lock()

    def download(self, key: str, path: Path) -> None:
        with self.lock:
            self.failures -= 1
            failing = self.failures >= 0
        if failing:
            raise StorageUnavailable(f"the store did not answer for {key}")
        super().download(key, path)


def test_a_storage_outage_is_retried(
    make: Make, sqlite_catalog: Catalog, store: LocalStore, recorded: RecordedSpace
) -> None:
    runtime = make(store_=FlakyStore(store.root, failures=2))
    run_through(runtime, recorded.space.id)
    assert sqlite_catalog.get_space(recorded.space.id).state is SpaceState.REPLAYABLE
    parts = sqlite_catalog.parts(recorded.space.id)
    assert sum(p.attempts for p in parts) == len(parts) + 2


def test_retries_end(
    make: Make, sqlite_catalog: Catalog, store: LocalStore, recorded: RecordedSpace
) -> None:
    runtime = make(store_=FlakyStore(store.root, failures=1000))
    run_through(runtime, recorded.space.id)
    record = sqlite_catalog.processing(recorded.space.id)
    assert record is not None and record.state is ProcessingState.FAILED
    assert record.error is not None
    assert "gave up after 4 attempts" in record.error
    assert "StorageUnavailable: the store did not answer" in record.error


def test_work_a_stop_left_unfinished_is_done_after_the_next_start(
    make: Make, sqlite_catalog: Catalog, recorded: RecordedSpace
) -> None:
    # The process stops with run 1 queued: its in-process queue is lost.
    before = make()
    record = before.pipeline.start(recorded.space.id)
    before.close()
    after = make()
    recovery = after.start()
    assert recovery is not None and recovery.parts == 2 and recovery.spaces_started == []
    done = after.pipeline.wait(recorded.space.id, record.run, timeout=120)
    assert done.state is ProcessingState.DONE


def test_a_recorded_space_never_started_is_started_at_start_up(
    make: Make, sqlite_catalog: Catalog, recorded: RecordedSpace
) -> None:
    runtime = make()
    recovery = runtime.start()
    assert recovery is not None and recovery.spaces_started == [recorded.space.id]
    runtime.pipeline.wait(recorded.space.id, 1, timeout=120)
    assert sqlite_catalog.get_space(recorded.space.id).state is SpaceState.REPLAYABLE


def test_a_broker_outage_while_releasing_the_next_stage_is_retried(
    make: Make, sqlite_catalog: Catalog, recorded: RecordedSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make()
    broker = runtime.pipeline.actors.broker
    enqueue = broker.enqueue
    refused: list[str] = []

    def flaky(message: dramatiq.Message[object], *, delay: int | None = None) -> object:
        if message.actor_name == "stoa_captions" and not refused:
            refused.append(message.message_id)
            raise dramatiq.errors.ConnectionClosed(OSError("the broker went away"))
        return enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", flaky)
    run_through(runtime, recorded.space.id)
    # The last transcription was saved, its release failed; delivered again, it sends it.
    assert refused
    assert sqlite_catalog.get_space(recorded.space.id).state is SpaceState.REPLAYABLE
    captions = sqlite_catalog.part(recorded.space.id, 1, Stage.CAPTIONS)
    assert captions.state is PartState.DONE and captions.attempts == 1


def test_a_space_in_s3_becomes_replayable(
    s3_config: S3Config, sqlite_catalog: Catalog, tmp_path: Path, make: Make
) -> None:
    """The same pipeline on S3 (moto's server): downloads, uploads, listing, deleting."""
    s3 = S3Store(s3_config)
    recorded = record_space(sqlite_catalog, s3, tmp_path / "recordings", PLACED, DURATION)
    runtime = make(store_=s3)
    run_through(runtime, recorded.space.id)
    record = sqlite_catalog.processing(recorded.space.id)
    assert record is not None and record.state is ProcessingState.DONE, record
    assert all(s3.exists(k) for k in record.outputs.values())
    assert not s3.list(keys.speech_prefix(recorded.space.id, 1) + "/")
