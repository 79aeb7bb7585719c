"""The ``stoa`` command: run the product, or one of its processes."""

from __future__ import annotations

import logging
import sys

import click
import uvicorn
from pydantic import ValidationError

from stoa.errors import StoaError
from stoa.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"  STOA_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        ]
        raise click.ClickException("invalid settings:\n" + "\n".join(lines)) from exc


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


if __name__ == "__main__":
    sys.exit(main())
