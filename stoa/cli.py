"""The ``stoa`` command: run the product, or one of its processes."""

from __future__ import annotations

import logging
import os
import re
import sys

import click
import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from stoa.errors import StoaError
from stoa.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            # The first part of the location is the field; the rest is inside its value.
            field = f"STOA_{str(error['loc'][0]).upper()}" if error["loc"] else "settings"
            lines.append(f"  {field}: {error['msg']}")
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from exc
    except SettingsError as exc:
        # pydantic-settings could not parse a value, e.g. a list that is not JSON.
        found = re.search(r'field "(\w+)"', str(exc))
        name = f"STOA_{found.group(1).upper()}" if found else "a STOA_ variable"
        raise click.ClickException(
            f"invalid settings:\n  {name}: not valid JSON; list settings are JSON, "
            "e.g. '[\"stun:stun.example.org:3478\"]'"
        ) from exc


def _serve(settings: Settings, *, relay: bool = True, pages: bool = True) -> None:
    from stoa.app import create_app

    try:
        app = create_app(settings, relay=relay, pages=pages)
    except StoaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Stoa on http://{settings.host}:{settings.port} (data in {settings.data_dir})")
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="info", ws="websockets-sansio"
    )


@click.group()
@click.version_option(package_name="stoa")
def main() -> None:
    """Stoa: live audio rooms with recording, transcription and replay."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
def up() -> None:
    """Run everything in one process on the embedded defaults (SQLite, local data folder)."""
    _serve(_settings())


@main.command()
def relay() -> None:
    """Run the relay: live rooms, their actions and events (no pages)."""
    _serve(_settings(), pages=False)


@main.command()
def api() -> None:
    """Run the API and pages without the relay; live routes go to `stoa relay`."""
    _serve(_settings(), relay=False)


@main.command()
def migrate() -> None:
    """Bring the catalog's schema up to date."""
    from stoa.catalog import Catalog

    settings = _settings()
    catalog = Catalog(settings.catalog_url)
    try:
        catalog.migrate()
    except StoaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"catalog at {catalog.safe_url} is up to date")


@main.command()
@click.option(
    "--processes",
    "-p",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--threads",
    "-t",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads per worker process.",
)
def worker(processes: int, threads: int) -> None:
    """Run processing workers on STOA_BROKER_URL (Dramatiq's worker CLI underneath).

    Any number of machines may run them, sharing the broker, the catalog and object storage.
    """
    from workers.command import run_workers

    try:
        run_workers(_settings(), processes=processes, threads=threads)
    except StoaError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("space_id")
@click.option("--model", default=None, help="Whisper model of this run (default: the setting).")
def reprocess(space_id: str, model: str | None) -> None:
    """Run a recorded space through the pipeline again, replacing its outputs when done.

    Without STOA_BROKER_URL it runs here and waits; with one, workers pick it up.
    """
    from workers.command import reprocess as reprocess_space

    try:
        ok = reprocess_space(_settings(), space_id, model=model, echo=click.echo)
    except StoaError as exc:
        raise click.ClickException(str(exc)) from exc
    if not ok:
        sys.exit(1)


def _add_transcribe() -> None:
    from transcribe.cli import transcribe_command

    main.add_command(transcribe_command, name="transcribe")


_add_transcribe()


if __name__ == "__main__":
    sys.exit(main())
