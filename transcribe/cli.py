"""``stoa transcribe FILE...``: a transcript of any audio file, for people who just want one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from transcribe.audio import counted, decode, probe_duration
from transcribe.captions import FORMATS, merge, render
from transcribe.engine import Engine, TranscribeOptions, create_engine
from transcribe.errors import TranscribeError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="txt",
    show_default=True,
    help="Plain text, WebVTT or SRT captions, or JSON with word timings.",
)
@click.option("--model", default=None, help="Whisper model name or folder.  [default: settings]")
@click.option("--language", default=None, help="Language code.  [default: settings, or detected]")
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each transcript there as NAME.FORMAT [default: standard output; one file only].",
)
def transcribe_command(
    files: tuple[Path, ...],
    fmt: str,
    model: str | None,
    language: str | None,
    output_dir: Path | None,
) -> None:
    """Transcribe audio FILEs (any format ffmpeg reads), with a progress bar on standard error."""
    from stoa.cli import _settings

    if len(files) > 1 and output_dir is None:
        raise click.UsageError("several files need --output-dir")
    durations = {path: _check(path) for path in files}  # bad input fails before any work
    settings = _settings()
    overrides: dict[str, Any] = {}
    if model:
        overrides["model"] = model
    if language:
        overrides["language"] = language
    try:
        engine = create_engine(TranscribeOptions.from_settings(settings, **overrides))
    except TranscribeError as exc:
        raise click.ClickException(str(exc)) from exc
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
    for path, duration in durations.items():
        text = _transcript(engine, path, duration, fmt)
        if output_dir is None:
            click.echo(text, nl=False)
        else:
            target = output_dir / f"{path.stem}.{fmt}"
            target.write_text(text, encoding="utf-8")
            click.echo(f"{path} -> {target}", err=True)


def _check(path: Path) -> float | None:
    if not path.is_file():
        raise click.ClickException(f"{path}: no such file")
    try:
        return probe_duration(path)
    except TranscribeError as exc:
        raise click.ClickException(str(exc)) from exc


def _transcript(engine: Engine, path: Path, duration: float | None, fmt: str) -> str:
    with _progress(path, duration) as advance:
        try:
            segments = list(engine.transcribe(counted(decode(path), advance)))
        except TranscribeError as exc:
            message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            raise click.ClickException(message) from exc
    if not segments:
        click.echo(f"{path}: no speech found", err=True)
    # The file is one speaker, named after it.
    return render(merge([(path.name, path.stem, 0.0, segments)]), fmt)


@contextmanager
def _progress(path: Path, duration: float | None) -> Iterator[Any]:
    """A bar on standard error (standard output may be the transcript), in seconds of audio
    read; reading runs ahead of recognition by at most one batch of speech."""
    if not duration:
        click.echo(f"{path}: transcribing", err=True)
        yield lambda seconds: None
        return
    total = max(1, round(duration))
    done = 0.0
    with click.progressbar(
        length=total, label=path.name, file=sys.stderr, show_eta=True, show_percent=True
    ) as bar:

        def advance(seconds: float) -> None:
            nonlocal done
            before = min(total, int(done))
            done += seconds
            bar.update(min(total, int(done)) - before)

        yield advance
        bar.update(total - min(total, int(done)))
