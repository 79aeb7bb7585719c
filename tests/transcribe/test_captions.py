"""The merged timeline and its formats: valid everywhere, overlaps included, read back by others."""

from __future__ import annotations

import html
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import srt
import webvtt

from transcribe.captions import (
    FORMATS,
    from_json,
    merge,
    render,
    schema,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
)
from transcribe.cues import MAX_CHARS
from transcribe.errors import TranscriptFormatError
from transcribe.segments import Segment, SpeakerSegment, Word


def words_of(text: str, start: float, step: float = 0.35) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * step, start + i * step + 0.3, w, 0.8) for i, w in enumerate(text.split())
    )


def segment(text: str, start: float) -> Segment:
    words = words_of(text, start)
    return Segment(words[0].start, words[-1].end, text, words)


# Ada's track starts at 2 s on the space clock, Bo's at 5 s; Bo talks over Ada at 10 to 12 s.
ADA = [
    segment("Welcome everyone to the space about <audio> & captions.", 0.5),
    segment("We record each speaker on a separate track so overlaps stay clear.", 6.0),
    segment("Any questions?", 14.0),
]
BO = [
    segment("Sorry to jump in -> quick question!", 5.0),
    segment("Thanks, that answers it.", 12.5),
]
TRACKS = [("ada-id", "Ada Lovelace", 2.0, ADA), ("bo-id", "Bo <Admin> & co", 5.0, BO)]


@pytest.fixture
def timeline() -> list[SpeakerSegment]:
    return merge(TRACKS)


def ms(time: timedelta) -> int:
    return round(time.total_seconds() * 1000)


def overlapping(timeline: list[SpeakerSegment]) -> bool:
    return any(
        a.speaker_id != b.speaker_id and a.start < b.end and b.start < a.end
        for a in timeline
        for b in timeline
    )


def test_merge_puts_every_track_on_the_space_clock_in_order(timeline: list[SpeakerSegment]):
    assert [s.start for s in timeline] == sorted(s.start for s in timeline)
    assert [(s.speaker_id, s.start) for s in timeline[:2]] == [("ada-id", 2.5), ("ada-id", 8.0)]
    bo = [s for s in timeline if s.speaker_id == "bo-id"]
    assert bo[0].start == pytest.approx(10.0) and bo[0].words[0].start == pytest.approx(10.0)
    assert bo[0].speaker == "Bo <Admin> & co"
    assert overlapping(timeline)


def test_vtt_voices_escaping_and_rules(timeline: list[SpeakerSegment], tmp_path: Path) -> None:
    text = to_vtt(timeline)
    assert text.startswith("WEBVTT\n")
    assert "&lt;audio&gt; &amp; captions" in text
    assert "<v Bo &lt;Admin&gt; &amp; co>" in text
    path = tmp_path / "captions.vtt"
    path.write_text(text)
    read = webvtt.read(str(path))
    assert {c.voice for c in read} == {"Ada Lovelace", "Bo &lt;Admin&gt; &amp; co"}
    spoken = " ".join(html.unescape(c.text.replace("\n", " ")) for c in read)
    for original in ADA + BO:
        assert original.text in spoken or all(w in spoken for w in original.text.split())
    starts = [c.start_time.in_milliseconds() for c in read]
    assert starts == sorted(starts)
    for caption in read:
        lines = [html.unescape(line) for line in caption.text.split("\n")]
        assert 1 <= len(lines) <= 2 and all(len(line) <= MAX_CHARS for line in lines)


def test_srt_reads_back_with_speaker_labels(timeline: list[SpeakerSegment]) -> None:
    subtitles = list(srt.parse(to_srt(timeline)))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    assert subtitles[0].content.startswith("Ada Lovelace: Welcome")
    # SRT has no escapes: markup in a name or in words must not style the cue.
    assert any(s.content.startswith("Bo \u2039Admin\u203a & co: Sorry") for s in subtitles)
    assert "-->" not in "".join(s.content for s in subtitles)
    assert "<" not in "".join(s.content for s in subtitles)
    assert all(len(line) <= MAX_CHARS for s in subtitles for line in s.content.split("\n"))
    assert any(
        a.start < b.end and b.start < a.end for a, b in zip(subtitles, subtitles[1:], strict=False)
    )


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_ffmpeg_reads_every_cue(timeline: list[SpeakerSegment], tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"captions.{fmt}"
    path.write_text(render(timeline, fmt))
    converted = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "srt", "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert converted.stderr == ""
    theirs = [(ms(c.start), ms(c.end)) for c in srt.parse(converted.stdout)]
    if fmt == "srt":
        ours = [(ms(c.start), ms(c.end)) for c in srt.parse(path.read_text())]
    else:
        ours = [
            (c.start_time.in_milliseconds(), c.end_time.in_milliseconds())
            for c in webvtt.read(str(path))
        ]
    assert len(ours) >= len(ADA) + len(BO)
    assert theirs == ours


def test_txt_has_a_paragraph_per_turn(timeline: list[SpeakerSegment]) -> None:
    text = to_txt(timeline)
    paragraphs = text.strip().split("\n\n")
    heads = [p.split("\n")[0] for p in paragraphs]
    # Ada's first two segments are one turn; Bo's interjection splits her next one off.
    assert heads == [
        "[00:00:02] Ada Lovelace",
        "[00:00:10] Bo <Admin> & co",
        "[00:00:16] Ada Lovelace",
        "[00:00:17] Bo <Admin> & co",
    ]
    assert paragraphs[0].split("\n")[1] == f"{ADA[0].text} {ADA[1].text}"


def test_json_validates_against_the_published_schema(timeline: list[SpeakerSegment]) -> None:
    published = schema()
    jsonschema.Draft202012Validator.check_schema(published)
    document = json.loads(to_json(timeline))
    jsonschema.validate(document, published, cls=jsonschema.Draft202012Validator)
    assert [s["id"] for s in document["speakers"]] == ["ada-id", "bo-id"]
    first = document["segments"][0]
    assert set(first) == {"speaker_id", "speaker", "start", "end", "text", "words"}
    assert first["words"][0] == {"start": 2.5, "end": 2.8, "text": "Welcome", "probability": 0.8}


def test_json_reads_back(timeline: list[SpeakerSegment]) -> None:
    back = from_json(to_json(timeline))
    assert [(s.speaker_id, s.text, len(s.words)) for s in back] == [
        (s.speaker_id, s.text, len(s.words)) for s in timeline
    ]
    assert back[0].start == pytest.approx(timeline[0].start, abs=1e-3)
    with pytest.raises(TranscriptFormatError):
        from_json('{"version": 99, "segments": []}')
    with pytest.raises(TranscriptFormatError):
        from_json("not json")


def test_text_that_would_break_a_format_stays_inside_its_cue(tmp_path: Path) -> None:
    nasty = "line one\nline two\n\n--> 00:00:01.000 --> 00:00:02.000\r\x00 tab\there WEBVTT"
    timeline = merge([("x", "Eve\nNewline", 0.0, [Segment(1.0, 4.0, nasty)])])
    for fmt in FORMATS:
        out = render(timeline, fmt)
        assert "\x00" not in out and "\r" not in out
    expected = "line one line two --> 00:00:01.000 --> 00:00:02.000 tab here WEBVTT"
    from_srt = " ".join(s.content.replace("\n", " ") for s in srt.parse(to_srt(timeline)))
    assert from_srt.replace("Eve Newline: ", "") == expected.replace(">", "\u203a")
    from_vtt = " ".join(c.text.replace("\n", " ") for c in webvtt.from_string(to_vtt(timeline)))
    assert html.unescape(from_vtt) == expected
    document = json.loads(to_json(timeline))
    jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator)
    assert "\n" not in document["segments"][0]["text"]


def test_every_format_is_empty_but_valid_without_speech(tmp_path: Path) -> None:
    assert to_vtt([]).startswith("WEBVTT")
    assert to_srt([]) == ""
    assert to_txt([]) == ""
    jsonschema.validate(json.loads(to_json([])), schema())
    path = tmp_path / "empty.vtt"
    path.write_text(to_vtt([]))
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "srt", "-"], check=True)


def test_simultaneous_starts_keep_both_speakers() -> None:
    same = [
        ("a", "A", 0.0, [segment("Hello there", 1.0)]),
        ("b", "B", 0.0, [segment("Hi you", 1.0)]),
    ]
    subtitles = list(srt.parse(to_srt(merge(same))))
    assert len(subtitles) == 2
    assert {s.start for s in subtitles} == {timedelta(seconds=1)}
    assert {c.voice for c in webvtt.from_string(to_vtt(merge(same)))} == {"A", "B"}
