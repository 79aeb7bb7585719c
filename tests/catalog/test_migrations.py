"""Alembic migrations: head creates what the models describe; migrating again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import stoa.catalog
from stoa.catalog import Catalog
from stoa.catalog.models import Base
from stoa.errors import CatalogError

MIGRATIONS = Path(stoa.catalog.__file__).parent / "migrations"


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(catalog: Catalog) -> str | None:
    with catalog.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrate_to_head_creates_the_tables(empty_catalog: Catalog) -> None:
    assert sa.inspect(empty_catalog.engine).get_table_names() == []
    empty_catalog.migrate()
    inspector = sa.inspect(empty_catalog.engine)
    assert set(inspector.get_table_names()) == {
        "alembic_version",
        "spaces",
        "participants",
        "tracks",
        "processing",
        "processing_parts",
        "track_segments",
        "caption_segments",
    }
    assert {i["name"] for i in inspector.get_indexes("spaces")} >= {"ix_spaces_state_created"}
    assert {i["name"] for i in inspector.get_indexes("participants")} >= {
        "ix_participants_space_id",
        "ix_participants_space_device",
    }
    assert current_revision(empty_catalog) == head_revision()


def test_head_matches_the_models(catalog: Catalog) -> None:
    with catalog.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrating_twice_is_a_no_op(catalog: Catalog) -> None:
    space, _host = catalog.create_space(
        title="Kept", host_name="Hana", scheduled_for=None, host_device=None
    )
    catalog.migrate()
    assert current_revision(catalog) == head_revision()
    assert catalog.get_space(space.id) == space


def test_an_unmigrated_catalog_fails_with_a_catalog_error(empty_catalog: Catalog) -> None:
    with pytest.raises(CatalogError):
        empty_catalog.get_space("nope")
