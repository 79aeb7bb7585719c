"""A catalog on each database Stoa supports: SQLite in a temporary folder, and PostgreSQL.

Each PostgreSQL test gets a database of its own (``stoa_test_<random>``), dropped afterwards,
so parallel runs on one server do not see each other's rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from stoa.catalog import Catalog
from tests.conftest import POSTGRES_URL, service_missing


def _libpq(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty PostgreSQL database."""
    server = make_url(POSTGRES_URL)
    name = f"stoa_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a connection the test left open must not keep the database alive.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog' / 'stoa.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def empty_catalog(catalog_url: str) -> Iterator[Catalog]:
    """A catalog whose database has no tables yet."""
    catalog = Catalog(catalog_url)
    yield catalog
    catalog.close()


@pytest.fixture
def catalog(empty_catalog: Catalog) -> Catalog:
    """A catalog migrated to the newest revision."""
    empty_catalog.migrate()
    return empty_catalog
