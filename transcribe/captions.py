"""One timeline from every speaker's track, written as WebVTT, SRT, plain text or JSON.

Speaker attribution comes from the tracks themselves: each track is one speaker, so there is no
diarization, and two people talking at once are two overlapping, correctly attributed segments.
Every format keeps overlaps valid: cues may overlap in WebVTT and SRT, and text and JSON list
segments by start time.

Formats: SRT through the ``srt`` library (it orders, numbers and checks cues). WebVTT through
``webvtt-py``'s writer, which refuses cue text that would break the file; escaping (``&``, ``<``,
``>``) and the ``<v Speaker>`` voice spans are ours, as the library writes cue text as given.
The JSON format is published as ``transcribe/transcript.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from importlib import resources
from typing import Any

import srt
import webvtt

from transcribe.cues import Cue, cues
from transcribe.errors import TranscriptFormatError
from transcribe.segments import Segment, SpeakerSegment, Word, clean_text

Track = tuple[str, str, float, Iterable[Segment]]
"""A speaker's track: (speaker id, speaker name, where the track starts on the space clock in
seconds, its segments on the track's clock)."""

FORMATS = ("vtt", "srt", "txt", "json")
JSON_VERSION = 1
_SRT_LABEL_CHARS = 16  # longest speaker name shown in an SRT cue's label


def merge(tracks: Iterable[Track]) -> list[SpeakerSegment]:
    """Every track's segments on the space clock, one timeline ordered by start time."""
    merged = [
        SpeakerSegment(
            speaker_id=speaker_id,
            speaker=speaker,
            start=offset + segment.start,
            end=offset + segment.end,
            text=segment.text,
            words=tuple(
                Word(offset + w.start, offset + w.end, w.text, w.probability) for w in segment.words
            ),
        )
        for speaker_id, speaker, offset, segments in tracks
        for segment in segments
    ]
    merged.sort(key=lambda s: (s.start, s.end, s.speaker_id))
    return merged


def to_vtt(segments: Iterable[SpeakerSegment]) -> str:
    """WebVTT captions with a ``<v Speaker Name>`` voice span on every cue."""
    captions = [
        webvtt.Caption(
            _vtt_time(cue.start),
            _vtt_time(cue.end),
            [f"<v {_vtt_escape(_name(cue))}>{_vtt_escape(cue.lines[0])}"]
            + [_vtt_escape(line) for line in cue.lines[1:]],
        )
        for cue in cues(segments)
    ]
    return webvtt.WebVTT(captions=captions).content


def to_srt(segments: Iterable[SpeakerSegment]) -> str:
    """SRT subtitles; SRT has no voice tags, so each cue's first line starts ``Name:``."""
    found = cues(segments, first_line_prefix=_SRT_LABEL_CHARS + 2)
    subtitles = [
        srt.Subtitle(
            index=None,
            start=timedelta(seconds=round(cue.start, 3)),
            end=timedelta(seconds=round(cue.end, 3)),
            content="\n".join(
                [_srt_safe(f"{_label(cue)}: {cue.lines[0]}")]
                + [_srt_safe(line) for line in cue.lines[1:]]
            ),
        )
        for cue in found
    ]
    return str(srt.compose(subtitles))


def to_txt(segments: Iterable[SpeakerSegment]) -> str:
    """A readable transcript: a paragraph per speaker turn, each under the speaker's name and
    the time it starts."""
    paragraphs: list[tuple[SpeakerSegment, list[str]]] = []
    for segment in segments:
        text = clean_text(segment.text)
        if not text:
            continue
        if paragraphs and paragraphs[-1][0].speaker_id == segment.speaker_id:
            paragraphs[-1][1].append(text)
        else:
            paragraphs.append((segment, [text]))
    return "".join(
        f"[{_clock(first.start)}] {clean_text(first.speaker) or first.speaker_id}\n"
        f"{' '.join(texts)}\n\n"
        for first, texts in paragraphs
    ).rstrip("\n") + ("\n" if paragraphs else "")


def to_json(segments: Iterable[SpeakerSegment]) -> str:
    """The transcript as JSON following ``transcript.schema.json``."""
    listed = list(segments)
    speakers: dict[str, str] = {}
    for segment in listed:
        speakers.setdefault(segment.speaker_id, segment.speaker)
    document = {
        "version": JSON_VERSION,
        "speakers": [{"id": sid, "name": name} for sid, name in speakers.items()],
        "segments": [
            {
                "speaker_id": s.speaker_id,
                "speaker": s.speaker,
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": clean_text(s.text),
                "words": [
                    {
                        "start": round(w.start, 3),
                        "end": round(w.end, 3),
                        "text": w.text,
                        "probability": round(min(max(w.probability, 0.0), 1.0), 4),
                    }
                    for w in s.words
                ],
            }
            for s in listed
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def from_json(text: str) -> list[SpeakerSegment]:
    """Speaker segments back from ``to_json``'s output."""
    try:
        document = json.loads(text)
        if document.get("version") != JSON_VERSION:
            raise TranscriptFormatError(f"unknown transcript version {document.get('version')!r}")
        return [
            SpeakerSegment(
                speaker_id=str(s["speaker_id"]),
                speaker=str(s["speaker"]),
                start=float(s["start"]),
                end=float(s["end"]),
                text=str(s["text"]),
                words=tuple(
                    Word(
                        float(w["start"]), float(w["end"]), str(w["text"]), float(w["probability"])
                    )
                    for w in s["words"]
                ),
            )
            for s in document["segments"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TranscriptFormatError(f"not a Stoa transcript: {exc}") from exc


def schema() -> dict[str, Any]:
    """The published JSON Schema of the JSON format."""
    text = resources.files("transcribe").joinpath("transcript.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def render(segments: Iterable[SpeakerSegment], fmt: str) -> str:
    """``segments`` in one of ``FORMATS``."""
    writers = {"vtt": to_vtt, "srt": to_srt, "txt": to_txt, "json": to_json}
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return writers[fmt](segments)


def _name(cue: Cue) -> str:
    return clean_text(cue.speaker) or cue.speaker_id or "Speaker"


def _label(cue: Cue) -> str:
    name = _name(cue)
    return name if len(name) <= _SRT_LABEL_CHARS else name[: _SRT_LABEL_CHARS - 1] + "…"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _srt_safe(text: str) -> str:
    """Text that SRT players show as it is.

    SRT has no escapes, and players read ``<i>``, ``<font ...>`` and ``{\\an8}`` in it as
    styling; a line holding ``-->`` reads as cue timings to some parsers. Angle brackets
    become their single-quote look-alikes and a brace is kept from opening an override.
    """
    return text.replace("<", "\u2039").replace(">", "\u203a").replace("{\\", "{ \\")


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
