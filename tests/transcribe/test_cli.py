"""``stoa transcribe`` on real files with the tiny model, and on bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
import srt
import webvtt
from click.testing import CliRunner

from stoa.cli import main
from tests.transcribe.speech import PHRASES, Phrase, place, write_wav
from transcribe.captions import schema


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("STOA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two phrases in an Ogg Opus file, as a recording would be."""
    folder = tmp_path_factory.mktemp("cli")
    wav = write_wav(
        folder / "talk.wav", place([Phrase(0.7, PHRASES[0]), Phrase(5.0, PHRASES[2])], 9.0)
    )
    ogg = folder / "talk.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "libopus", str(ogg)], check=True
    )
    return ogg


def test_vtt_to_standard_output(tiny_model: Path, talk: Path) -> None:
    result = CliRunner().invoke(
        main, ["transcribe", str(talk), "--format", "vtt", "--model", str(tiny_model)]
    )
    assert result.exit_code == 0, result.output
    captions = webvtt.from_string(result.stdout)
    assert len(captions) >= 2
    assert {c.voice for c in captions} == {"talk"}
    assert all(c.end_time.in_milliseconds() <= 9000 for c in captions)
    assert "talk.ogg" in result.stderr  # the progress bar's label, on standard error


def test_model_from_settings_and_files_to_a_folder(
    tiny_model: Path, talk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOA_WHISPER_MODEL", str(tiny_model))
    other = tmp_path / "other.wav"
    write_wav(other, place([Phrase(1.0, PHRASES[3])], 5.0))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["transcribe", str(talk), str(other), "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("talk", "other"):
        document = json.loads((out / f"{name}.json").read_text())
        jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator)
        assert document["speakers"] == [
            {"id": f"{name}{'.ogg' if name == 'talk' else '.wav'}", "name": name}
        ]
        assert document["segments"]


def test_txt_and_srt(tiny_model: Path, talk: Path) -> None:
    runner = CliRunner()
    txt = runner.invoke(main, ["transcribe", str(talk), "--model", str(tiny_model)])
    assert txt.exit_code == 0, txt.output
    assert txt.stdout.startswith("[00:00:00] talk\n")
    srt_out = runner.invoke(
        main, ["transcribe", str(talk), "--model", str(tiny_model), "--format", "srt"]
    )
    assert srt_out.exit_code == 0, srt_out.output
    assert all(s.content.startswith("talk: ") for s in srt.parse(srt_out.stdout))


def test_a_missing_file_is_named(tiny_model: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["transcribe", str(tmp_path / "nope.wav"), "--model", str(tiny_model)]
    )
    assert result.exit_code != 0
    assert "nope.wav: no such file" in result.output


def test_a_file_that_is_not_audio_is_named(tiny_model: Path, talk: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["transcribe", str(talk), str(notes), "-o", str(out), "--model", str(tiny_model)]
    )
    assert result.exit_code != 0
    assert "notes.txt" in result.output and "not an audio file" in result.output
    assert not out.exists()  # checked before any work


def test_several_files_need_an_output_folder(talk: Path) -> None:
    result = CliRunner().invoke(main, ["transcribe", str(talk), str(talk)])
    assert result.exit_code == 2
    assert "--output-dir" in result.output


def test_a_model_that_is_not_there(talk: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["transcribe", str(talk), "--model", str(tmp_path / "no-model")]
    )
    assert result.exit_code == 1
    assert "no model directory" in result.output
