"""A track's transcription in pieces: the plan's parts, where prepare cuts, and a run of them.

The end-to-end test runs the real engine (the tiny random model) on the two-speaker space of
``test_brokers.py`` in pieces of 8 s, on the in-process broker, and checks what the one-piece
runs are checked for: cues inside the placed speech, every phrase covered, no segment twice.
With a multilingual model, prepare detects each track's language once and every piece is
recognized in it; a track in one piece leaves detection to recognition.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from stoa.catalog import Catalog, PartState, ProcessingState, TrackRecord, TrackSegmentRecord
from stoa.catalog.segments import replace_track_segments
from stoa.storage import ObjectStore
from tests.transcribe.speech import write_wav
from tests.workers.checks import assert_one_set_of_captions, assert_replay
from tests.workers.conftest import make_context, process
from tests.workers.spaces import record_space
from tests.workers.test_brokers import DURATION, PLACED
from tests.workers.test_pipeline import scripted
from transcribe.engine import Engine, TranscribeOptions
from transcribe.stub import ScriptedEngine
from transcribe.whisper import WhisperEngine
from workers.context import EngineCache
from workers.errors import MediaError
from workers.plan import (
    WEIGHTS,
    Stage,
    parse_part,
    parse_piece,
    part_name,
    pieces,
    plan,
    transcribe_parts,
)
from workers.prepare import SPEECH_RATE, cuts, prepare, quietest, silences
from workers.stages import Job


def track(participant_id: str, seconds: float) -> TrackRecord:
    return TrackRecord(
        participant_id=participant_id,
        name=participant_id.title(),
        storage_key=f"tracks/{participant_id}.ogg",
        start_offset_ms=0.0,
        duration_ms=seconds * 1000,
        bytes=0,
        packets={},
        codec={},
    )


def test_a_track_is_transcribed_in_pieces_no_longer_than_piece_seconds() -> None:
    assert pieces(1_000, 300) == 1
    assert pieces(300_000, 300) == 1
    assert pieces(300_001, 300) == 2
    assert pieces(3_600_000, 300) == 12
    assert pieces(0, 300) == 1
    with pytest.raises(ValueError):
        pieces(1_000, 0)


def test_part_names_carry_the_piece_and_parse_back() -> None:
    assert transcribe_parts("p1", 1) == ["transcribe/p1"]
    assert transcribe_parts("p1", 3) == ["transcribe/p1/0", "transcribe/p1/1", "transcribe/p1/2"]
    assert part_name(Stage.TRANSCRIBE, "p1", 2) == "transcribe/p1/2"
    assert parse_part("transcribe/p1/2") == (Stage.TRANSCRIBE, "p1")
    assert parse_part("transcribe/p1") == (Stage.TRANSCRIBE, "p1")
    assert parse_part("captions") == (Stage.CAPTIONS, None)
    assert (parse_piece("transcribe/p1/2"), parse_piece("transcribe/p1"), parse_piece("index")) == (
        2,
        0,
        0,
    )
    job = Job("s", 1, "transcribe/p1/2")
    assert (job.stage, job.participant_id, job.piece) == (Stage.TRANSCRIBE, "p1", 2)


def test_the_plan_has_a_part_per_piece_and_captions_waits_for_every_one() -> None:
    specs = {s.name: s for s in plan([track("a", 700), track("b", 100)], piece_seconds=300)}
    pieces_a = ["transcribe/a/0", "transcribe/a/1", "transcribe/a/2"]
    assert [n for n in specs if n.startswith("transcribe/")] == [*pieces_a, "transcribe/b"]
    assert all(specs[n].waits_for == ("prepare/a",) for n in pieces_a)
    assert specs["transcribe/b"].waits_for == ("prepare/b",)
    assert specs["captions"].waits_for == (*pieces_a, "transcribe/b")
    assert specs["replay"].waits_for == ("prepare/a", "prepare/b")
    # Weights: each track's share of transcription, split evenly between its pieces.
    assert specs["transcribe/a/0"].weight == pytest.approx(WEIGHTS[Stage.TRANSCRIBE] * 0.875 / 3)
    assert specs["transcribe/b"].weight == pytest.approx(WEIGHTS[Stage.TRANSCRIBE] * 0.125)
    assert sum(s.weight for s in specs.values()) == pytest.approx(100.0)


def test_short_tracks_keep_one_part_by_their_old_name() -> None:
    specs = plan([track("a", 20), track("b", 22)])
    assert [s.name for s in specs] == [
        "prepare/a",
        "transcribe/a",
        "prepare/b",
        "transcribe/b",
        "replay",
        "captions",
        "index",
        "publish",
    ]


def test_a_cut_goes_to_the_middle_of_the_silence_nearest_its_target() -> None:
    samples = 900 * SPEECH_RATE
    found = cuts(samples, 3, [(100.0, 102.0), (290.0, 296.0), (320.0, 330.0), (610.0, 611.0)])
    assert found == [0, 293 * SPEECH_RATE, round(610.5 * SPEECH_RATE), samples]


def test_without_silence_near_a_target_the_cut_stays_on_it() -> None:
    samples = 600 * SPEECH_RATE
    # Silence, but more than 30 s from the target (300 s): not used.
    assert cuts(samples, 2, [(200.0, 260.0), (340.0, 400.0)]) == [0, 300 * SPEECH_RATE, samples]
    assert cuts(samples, 1, [(1.0, 2.0)]) == [0, samples]


def test_short_pieces_search_only_half_a_piece_so_cuts_stay_in_order() -> None:
    samples = 24 * SPEECH_RATE
    # One silence between both targets (8 s, 16 s), within 4 s of the first only: it takes it.
    found = cuts(samples, 3, [(10.0, 12.0)])
    assert found == [0, 11 * SPEECH_RATE, 16 * SPEECH_RATE, samples]
    found = cuts(samples, 3, [(9.0, 10.0)])
    assert found == [0, round(9.5 * SPEECH_RATE), 16 * SPEECH_RATE, samples]


def test_silencedetect_log_becomes_stretches() -> None:
    log = (
        "[silencedetect @ 0x1] silence_start: 0\n"
        "[silencedetect @ 0x1] silence_end: 1.25 | silence_duration: 1.25\n"
        "size=N/A time=00:00:05.00\n"
        "[silencedetect @ 0x1] silence_start: 3.5\n"
    )
    assert silences(log, 5.0) == ((0.0, 1.25), (3.5, 5.0))


def noisy_track(path: Path, seconds: float, pauses: list[tuple[float, float]]) -> Path:
    """A microphone that never falls silent: noise at -20 dBFS, -45 dBFS in the ``pauses``."""
    rng = np.random.default_rng(7)
    audio = rng.normal(0.0, 0.1, round(seconds * SPEECH_RATE))
    for start, end in pauses:
        audio[round(start * SPEECH_RATE) : round(end * SPEECH_RATE)] *= 10 ** (-25 / 20)
    return write_wav(path, audio, SPEECH_RATE)


def test_without_silence_a_cut_goes_to_the_quietest_moment_near_its_target(
    tmp_path: Path,
) -> None:
    # No stretch below -60 dBFS anywhere, so silencedetect finds nothing; but one pause between
    # "words" near each target, 0.3 s long, not on the target itself (the quietest is found by
    # reading the prepared FLAC at the target, far into the file).
    source = noisy_track(tmp_path / "noisy.wav", 240.0, [(67.3, 67.6), (176.0, 176.3)])
    prepared = prepare(source, tmp_path / "speech.flac", what="a noisy track")
    assert prepared.silences == ()

    def quiet(around: float, window: float) -> float:
        return quietest(prepared.path, around, window, what="a noisy track")

    found = cuts(prepared.samples, 3, prepared.silences, quietest=quiet)
    assert [round(c / SPEECH_RATE, 2) for c in found] == pytest.approx(
        [0.0, 67.45, 176.15, 240.0], abs=0.05
    )


def test_quietest_stays_on_target_in_even_noise_and_names_a_broken_file(tmp_path: Path) -> None:
    source = noisy_track(tmp_path / "flat.wav", 20.0, [])
    prepared = prepare(source, tmp_path / "speech.flac", what="a flat track")
    # Even noise has a quietest moment somewhere, but within the window; never outside it.
    at = quietest(prepared.path, 10.0, 2.0, what="a flat track")
    assert 8.0 <= at <= 12.0
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC not really")
    with pytest.raises(MediaError, match="a broken track: the prepared audio cannot be read"):
        quietest(broken, 10.0, 2.0, what="a broken track")


def test_a_piece_done_again_replaces_only_its_own_segments(catalog: Catalog) -> None:
    space, _host = catalog.create_space(
        title="Pieces", host_name="Hana", scheduled_for=None, host_device=None
    )
    catalog.end_space(space.id)
    catalog.record_tracks(space.id, [], f"spaces/{space.id}/manifest.json")
    specs = plan([track("a", 20)], piece_seconds=8)
    catalog.start_processing(space.id, specs)
    late = [TrackSegmentRecord(17.0, 18.0, "late")]
    early = [TrackSegmentRecord(1.0, 2.0, "early"), TrackSegmentRecord(3.0, 4.0, "more")]
    with catalog._session() as session:
        replace_track_segments(session, space.id, 1, "a", late, piece=2)
        replace_track_segments(session, space.id, 1, "a", [early[0]], piece=0)
        replace_track_segments(session, space.id, 1, "a", early, piece=0)
    assert catalog.track_segments(space.id, 1) == {"a": [*early, *late]}


def test_a_space_transcribed_in_pieces_is_captioned_as_a_whole(
    sqlite_catalog: Catalog, store: ObjectStore, tiny_model: Path, tmp_path: Path
) -> None:
    recorded = record_space(sqlite_catalog, store, tmp_path / "recordings", PLACED, DURATION)
    context = make_context(
        sqlite_catalog, store, tmp_path, model=str(tiny_model), piece_seconds=8.0
    )
    record = process(context, recorded.space.id)
    assert record.state is ProcessingState.DONE, record.error
    parts = sqlite_catalog.parts(recorded.space.id)
    for t in sqlite_catalog.tracks(recorded.space.id):
        own = [p for p in parts if p.name.startswith(f"transcribe/{t.participant_id}/")]
        assert len(own) == pieces(t.duration_ms, 8.0) > 1
        assert all(p.state is PartState.DONE for p in own)
        prepared = sqlite_catalog.part(recorded.space.id, 1, f"prepare/{t.participant_id}")
        bounds = prepared.result["cuts"]
        assert len(bounds) == len(own) + 1 and bounds == sorted(bounds)
        starts = [p.result["start_s"] for p in sorted(own, key=lambda p: parse_piece(p.name))]
        assert starts == [b / SPEECH_RATE for b in bounds[:-1]]
        # Every cut falls in silence, not in the speech placed on the track.
        offset = t.start_offset_ms / 1000
        for cut in bounds[1:-1]:
            at = offset + cut / SPEECH_RATE
            stretches = recorded.stretches(t.participant_id)
            assert not any(start <= at <= end for start, end in stretches), (at, stretches)
    cues = assert_replay(sqlite_catalog, store, recorded, tmp_path)
    assert_one_set_of_captions(sqlite_catalog, recorded.space.id, cues)
    both = [c for c in cues if c.start < 11.4 and c.end > 10.1]
    assert {c.speaker for c in both} == {"Ann", "Ben"}


class SpiedEngines(EngineCache):
    """Real engines, telling what language each batch of speech was recognized in, and how
    many times a language was detected apart."""

    def __init__(self) -> None:
        self.languages: list[object] = []
        self.detections = 0
        super().__init__(self._load)

    def _load(self, options: TranscribeOptions) -> Engine:
        engine = WhisperEngine.load(options)
        transcribe, detect = engine.model.transcribe, engine.detect_language

        def spied_transcribe(audio: object, **kwargs: object) -> object:
            self.languages.append(kwargs["language"])
            return transcribe(audio, **kwargs)

        def spied_detect(audio: object) -> str | None:
            self.detections += 1
            return detect(audio)  # type: ignore[arg-type]

        engine.model.transcribe = spied_transcribe  # type: ignore[method-assign]
        engine.detect_language = spied_detect  # type: ignore[method-assign]
        return engine


def test_every_piece_of_a_track_is_recognized_in_the_language_prepare_detected(
    sqlite_catalog: Catalog, store: ObjectStore, multilingual_model: Path, tmp_path: Path
) -> None:
    recorded = record_space(sqlite_catalog, store, tmp_path / "recordings", PLACED, DURATION)
    engines = SpiedEngines()
    context = make_context(
        sqlite_catalog,
        store,
        tmp_path,
        model=str(multilingual_model),
        engines=engines,
        piece_seconds=8.0,
    )
    record = process(context, recorded.space.id)
    assert record.state is ProcessingState.DONE, record.error
    tracks = sqlite_catalog.tracks(recorded.space.id)
    for t in tracks:
        prepared = sqlite_catalog.part(recorded.space.id, 1, f"prepare/{t.participant_id}")
        assert prepared.result["language"] == "de"
        own = [
            p
            for p in sqlite_catalog.parts(recorded.space.id)
            if p.name.startswith(f"transcribe/{t.participant_id}/")
        ]
        assert len(own) > 1
        assert [p.result["language"] for p in own] == ["de"] * len(own)
    assert engines.detections == len(tracks)  # once a track, not once a piece
    # Every batch of every piece went to the model with the track's language: none detected
    # its own.
    assert len(engines.languages) >= len(tracks) * 2
    assert set(engines.languages) == {"de"}
    speakers = {s.speaker_id for s in sqlite_catalog.caption_segments(recorded.space.id)}
    assert speakers == {t.participant_id for t in tracks}


@pytest.mark.parametrize(
    ("piece_seconds", "language", "detections", "given"),
    [
        (300.0, None, 0, None),  # one piece: recognition detects it, as before
        (8.0, "fr", 0, None),  # set for every run: nothing to detect
        (8.0, None, 2, "de"),  # in pieces: once a track, given to every piece
    ],
)
def test_prepare_detects_a_language_only_for_a_track_in_pieces(
    sqlite_catalog: Catalog,
    store: ObjectStore,
    tmp_path: Path,
    piece_seconds: float,
    language: str | None,
    detections: int,
    given: str | None,
) -> None:
    recorded = record_space(sqlite_catalog, store, tmp_path / "recordings", PLACED, DURATION)
    engine = ScriptedEngine(scripted("hello"), language="de")
    context = make_context(
        sqlite_catalog,
        store,
        tmp_path,
        engines=EngineCache(lambda options: engine),
        piece_seconds=piece_seconds,
    )
    options = replace(context.config.transcribe, language=language)
    context = replace(context, config=replace(context.config, transcribe=options))
    record = process(context, recorded.space.id)
    assert record.state is ProcessingState.DONE, record.error
    assert engine.detections == detections
    assert engine.calls == len(engine.languages) > 0
    assert set(engine.languages) == {given}
    for part in sqlite_catalog.parts(recorded.space.id):
        if part.stage in (Stage.PREPARE, Stage.TRANSCRIBE):
            assert part.result["language"] == given, part.name
