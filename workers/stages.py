"""The work of each stage, given a part of a run: read catalog rows and storage keys, write them.

Every stage is idempotent: it writes its files under the run's own keys (replacing what an
earlier delivery left) and its rows in the transaction that marks its part done, so a message
delivered twice, or a worker killed halfway, leaves one result.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stoa.catalog import (
    CaptionRecord,
    Completion,
    PartState,
    SpaceRecord,
    TrackRecord,
    TrackSegmentRecord,
)
from stoa.errors import NotFound, ObjectNotFound
from stoa.search import Document
from stoa.storage import ObjectStore, key
from transcribe.audio import SAMPLE_RATE, counted, decode
from transcribe.captions import merge, render
from transcribe.engine import TranscribeOptions
from transcribe.errors import AudioError
from transcribe.segments import Segment, SpeakerSegment, Word
from workers import keys, mixdown
from workers.context import WorkerContext
from workers.errors import MediaError, MissingInput
from workers.plan import Stage, parse_part, parse_piece, part_name
from workers.prepare import cuts as cut_points
from workers.prepare import prepare as prepare_track
from workers.prepare import quietest


@dataclass(frozen=True)
class Job:
    """A part of a run being worked on."""

    space_id: str
    run: int
    name: str
    started: float = field(default_factory=time.perf_counter)

    @property
    def stage(self) -> Stage:
        return parse_part(self.name)[0]

    @property
    def participant_id(self) -> str | None:
        return parse_part(self.name)[1]

    @property
    def piece(self) -> int:
        """The piece of its track a transcription part recognizes (0 when it is the whole)."""
        return parse_piece(self.name)

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def prepare(ctx: WorkerContext, job: Job) -> Completion:
    """Decode a track to 16 kHz mono FLAC for recognition, and measure its loudness.

    Also where its transcription pieces start and end (``cuts``, samples at 16 kHz): in the
    silence nearest to equal lengths (or the quietest moment, where there is no silence near),
    one piece per transcription part the run planned; and, for a track in pieces, its language
    (`_language`), which every piece is then recognized in.
    """
    track = _track(ctx, job)
    what = _describe(track)
    count = _piece_count(ctx, job, track.participant_id)
    with _scratch(ctx, job) as folder:
        source = folder / "track.ogg"
        _download(ctx.store, track.storage_key, source, what)
        prepared = prepare_track(source, folder / "speech.flac", what=what)
        speech = keys.speech_key(job.space_id, job.run, track.participant_id)
        ctx.store.put_file(speech, prepared.path, "audio/flac")
        pieces = cut_points(
            prepared.samples,
            count,
            prepared.silences,
            quietest=lambda around, window: quietest(prepared.path, around, window, what=what),
        )
        language = _language(ctx, job, prepared.path, count, what)
    return ctx.catalog.complete_part(
        job.space_id,
        job.run,
        job.name,
        result={
            "speech_key": speech,
            "samples": prepared.samples,
            "duration_s": prepared.duration,
            "loudness_lufs": prepared.loudness,
            "cuts": pieces,
            "cuts_s": [round(c / SAMPLE_RATE, 4) for c in pieces],
            "language": language,
        },
        elapsed_s=job.elapsed(),
    )


def transcribe(ctx: WorkerContext, job: Job) -> Completion:
    """Recognize one piece of a track's speech (the whole track when it has one piece).

    The piece is the prepared audio between two of prepare's cuts, decoded from the start, in
    the language prepare detected for the track (if it did); its segments, shifted to the
    track's clock, replace any the run held for that piece.
    """
    track = _track(ctx, job)
    what = _describe(track)
    prepared = ctx.catalog.part(
        job.space_id, job.run, part_name(Stage.PREPARE, track.participant_id)
    ).result
    options = _options(ctx, job)
    language: str | None = prepared.get("language")
    samples = int(prepared["samples"])
    bounds = [int(c) for c in prepared.get("cuts") or [0, samples]]
    if job.piece + 1 >= len(bounds):
        raise MissingInput(f"{what}: the prepared audio has no piece {job.piece}")
    first, end = bounds[job.piece], bounds[job.piece + 1]
    offset = first / SAMPLE_RATE
    duration = (end - first) / SAMPLE_RATE
    with _scratch(ctx, job) as folder:
        speech = folder / "speech.flac"
        _download(ctx.store, str(prepared["speech_key"]), speech, f"the prepared audio of {what}")
        progress = _Progress(ctx, job, duration)
        with ctx.engines.engine(options) as engine:
            try:
                audio = counted(_between(decode(speech), first, end), progress.add)
                found = engine.transcribe(audio, duration=duration, language=language)
                segments = [_shifted(s, offset) for s in found]
            except AudioError as exc:
                raise MediaError(f"{what}: {exc}") from exc
    return ctx.catalog.complete_part(
        job.space_id,
        job.run,
        job.name,
        result={
            "segments": len(segments),
            "model": options.model,
            "audio_s": duration,
            "piece": job.piece,
            "start_s": offset,
            "language": language,
        },
        elapsed_s=job.elapsed(),
        track_segments=(track.participant_id, [_record(s) for s in segments]),
        piece=job.piece,
    )


def replay(ctx: WorkerContext, job: Job) -> Completion:
    """Mix every track on the space clock into the replay audio and its waveform peaks."""
    space = _space(ctx, job)
    tracks = ctx.catalog.tracks(job.space_id)
    gains = mixdown.speaker_gains([_loudness(ctx, job, track) for track in tracks])
    if space.started_at is None or space.ended_at is None:
        raise MissingInput(f"space {space.id} has no start or end time to mix on")
    length = (space.ended_at - space.started_at).total_seconds()
    # The space's length, or longer if a track runs past its end: speech is never cut.
    ends = [(t.start_offset_ms + t.duration_ms) / 1000 for t in tracks]
    samples = round(max([length, *ends]) * mixdown.RATE)
    with _scratch(ctx, job) as folder:
        inputs = []
        for i, (track, gain) in enumerate(zip(tracks, gains, strict=True)):
            path = folder / f"track-{i}.ogg"
            _download(ctx.store, track.storage_key, path, _describe(track))
            offset = round(track.start_offset_ms * mixdown.RATE / 1000)
            inputs.append(mixdown.MixInput(path, offset, gain))
        result = mixdown.mix(inputs, samples, folder, what="the replay audio")
        audio = keys.output_key(job.space_id, job.run, keys.AUDIO)
        peaks = keys.output_key(job.space_id, job.run, keys.PEAKS)
        ctx.store.put_file(audio, result.audio, keys.CONTENT_TYPES[keys.AUDIO])
        ctx.store.put_file(peaks, result.peaks, keys.CONTENT_TYPES[keys.PEAKS])
    return ctx.catalog.complete_part(
        job.space_id,
        job.run,
        job.name,
        result={
            "duration_s": result.duration,
            "loudness_lufs": result.loudness,
            "mixed_lufs": result.mixed_lufs,
            "gain_db": result.gain_db,
            "speaker_gains_db": dict(zip((t.participant_id for t in tracks), gains, strict=True)),
        },
        elapsed_s=job.elapsed(),
    )


def captions(ctx: WorkerContext, job: Job) -> Completion:
    """Merge the tracks' segments into one timeline and write it as VTT, SRT, TXT and JSON."""
    timeline = _timeline(ctx, job)
    for name, fmt in keys.CAPTION_FORMATS.items():
        ctx.store.put_bytes(
            keys.output_key(job.space_id, job.run, name),
            render(timeline, fmt).encode(),
            keys.CONTENT_TYPES[name],
        )
    return ctx.catalog.complete_part(
        job.space_id,
        job.run,
        job.name,
        result={"segments": len(timeline)},
        elapsed_s=job.elapsed(),
    )


def index(ctx: WorkerContext, job: Job) -> Completion:
    """Write the merged timeline's segments to the catalog's search table."""
    timeline = _timeline(ctx, job)
    rows = [
        CaptionRecord(
            speaker_id=s.speaker_id, speaker=s.speaker, start=s.start, end=s.end, text=s.text
        )
        for s in timeline
    ]
    return ctx.catalog.complete_part(
        job.space_id,
        job.run,
        job.name,
        result={"segments": len(rows)},
        elapsed_s=job.elapsed(),
        captions=rows,
    )


def publish(ctx: WorkerContext, job: Job) -> Completion:
    """Make the run's outputs the space's (it becomes replayable); drop older runs' files.

    The full-text index gets the run's captions just before the catalog switches: search shows
    replayable spaces only, so a first run's text is found from the moment it is published.
    """
    outputs = keys.outputs(job.space_id, job.run)
    for name, output in outputs.items():
        if not ctx.store.exists(output):
            raise MissingInput(f"the {name} output of run {job.run} is missing from storage")
    if ctx.catalog.part(job.space_id, job.run, job.name).state is PartState.DONE:
        return Completion(applied=False)
    ctx.search.replace_space(
        job.space_id,
        [
            Document(
                space_id=job.space_id,
                speaker_id=c.speaker_id,
                speaker=c.speaker,
                start=c.start,
                end=c.end,
                text=c.text,
            )
            for c in ctx.catalog.caption_segments(job.space_id, job.run)
        ],
    )
    published = ctx.catalog.publish(
        job.space_id, job.run, job.name, outputs, elapsed_s=job.elapsed()
    )
    if published.applied:
        current = keys.run_prefix(job.space_id, job.run) + "/"
        speech = keys.speech_prefix(job.space_id, job.run) + "/"
        for stored in ctx.store.list(key("spaces", job.space_id, "runs") + "/"):
            if not stored.startswith(current) or stored.startswith(speech):
                ctx.store.delete(stored)
    return Completion(applied=published.applied)


STAGES = {
    Stage.PREPARE: prepare,
    Stage.TRANSCRIBE: transcribe,
    Stage.REPLAY: replay,
    Stage.CAPTIONS: captions,
    Stage.INDEX: index,
    Stage.PUBLISH: publish,
}


class _Progress:
    """Write a long part's progress to the catalog now and then, as its audio is read."""

    def __init__(self, ctx: WorkerContext, job: Job, total_s: float) -> None:
        self.ctx, self.job, self.total_s = ctx, job, max(total_s, 1e-6)
        self.done_s = 0.0
        self.last = time.monotonic()

    def add(self, seconds: float) -> None:
        self.done_s += seconds
        now = time.monotonic()
        if now - self.last >= self.ctx.config.progress_interval_s:
            self.last = now
            self.ctx.catalog.report_progress(
                self.job.space_id, self.job.run, self.job.name, self.done_s / self.total_s
            )


@contextmanager
def _scratch(ctx: WorkerContext, job: Job) -> Iterator[Path]:
    ctx.config.scratch_dir.mkdir(parents=True, exist_ok=True)
    prefix = f"{job.space_id}-{job.run}-{job.stage}-"
    with tempfile.TemporaryDirectory(dir=ctx.config.scratch_dir, prefix=prefix) as folder:
        yield Path(folder)


def _download(store: ObjectStore, stored: str, path: Path, what: str) -> None:
    try:
        store.download(stored, path)
    except ObjectNotFound as exc:
        raise MissingInput(f"{what} is missing from storage ({stored})") from exc


def _space(ctx: WorkerContext, job: Job) -> SpaceRecord:
    try:
        return ctx.catalog.get_space(job.space_id)
    except NotFound as exc:
        raise MissingInput(f"space {job.space_id} is gone from the catalog") from exc


def _track(ctx: WorkerContext, job: Job) -> TrackRecord:
    for track in ctx.catalog.tracks(job.space_id):
        if track.participant_id == job.participant_id:
            return track
    raise MissingInput(f"the track of participant {job.participant_id} is not in the catalog")


def _describe(track: TrackRecord) -> str:
    return f"the track of {track.name} ({track.participant_id})"


def _loudness(ctx: WorkerContext, job: Job, track: TrackRecord) -> float | None:
    result = ctx.catalog.part(
        job.space_id, job.run, part_name(Stage.PREPARE, track.participant_id)
    ).result
    value = result.get("loudness_lufs")
    return None if value is None else float(value)


def _options(ctx: WorkerContext, job: Job) -> TranscribeOptions:
    """The recognition options of the job's run (its model, when it names one)."""
    processing = ctx.catalog.processing(job.space_id)
    return ctx.transcribe_options(processing.model if processing else None)


def _language(ctx: WorkerContext, job: Job, speech: Path, count: int, what: str) -> str | None:
    """The language of a track recognized in ``count`` pieces, detected once on its first speech.

    Each piece would otherwise detect it on its own first speech: a track does not change
    language midway, but its pieces could disagree, and each is one more chance of a wrong
    detection. None where there is nothing to detect here: a track in one piece (recognition
    detects it there, at no extra cost), a run whose language is set, an English-only model, or
    a track without speech. The model is the one the pieces use, from this worker's cache.
    """
    options = _options(ctx, job)
    if count == 1 or options.language is not None:
        return None
    with ctx.engines.engine(options) as engine:
        try:
            return engine.detect_language(decode(speech))
        except AudioError as exc:
            raise MediaError(f"{what}: {exc}") from exc


def _piece_count(ctx: WorkerContext, job: Job, participant_id: str) -> int:
    """How many transcription parts the run planned for this track."""
    return max(
        1,
        sum(
            1
            for p in ctx.catalog.parts(job.space_id, job.run)
            if p.stage == Stage.TRANSCRIBE and parse_part(p.name)[1] == participant_id
        ),
    )


def _between(chunks: Iterable[np.ndarray], first: int, end: int) -> Iterator[np.ndarray]:
    """The samples ``[first, end)`` of audio read as chunks (decoded from the start, skipped)."""
    at = 0
    for chunk in chunks:
        if at >= end:
            break
        lo, hi = max(first - at, 0), min(end - at, len(chunk))
        if lo < hi:
            yield chunk[lo:hi]
        at += len(chunk)


def _shifted(segment: Segment, offset: float) -> Segment:
    """A piece's segment on its track's clock."""
    if not offset:
        return segment
    return Segment(
        segment.start + offset,
        segment.end + offset,
        segment.text,
        tuple(Word(w.start + offset, w.end + offset, w.text, w.probability) for w in segment.words),
    )


def _record(segment: Segment) -> TrackSegmentRecord:
    return TrackSegmentRecord(
        start=segment.start,
        end=segment.end,
        text=segment.text,
        words=tuple((w.start, w.end, w.text, w.probability) for w in segment.words),
    )


def _timeline(ctx: WorkerContext, job: Job) -> list[SpeakerSegment]:
    found = ctx.catalog.track_segments(job.space_id, job.run)
    return merge(
        (
            track.participant_id,
            track.name,
            track.start_offset_ms / 1000,
            [
                Segment(s.start, s.end, s.text, tuple(Word(*w) for w in s.words))
                for s in found.get(track.participant_id, [])
            ],
        )
        for track in ctx.catalog.tracks(job.space_id)
    )
