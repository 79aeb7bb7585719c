"""The ``stoa`` command, driven through click's runner with settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from stoa.cli import main
from tests.conftest import free_port


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``STOA_`` variable from the caller's shell, and a working folder of our own."""
    for name in list(os.environ):
        if name.upper().startswith("STOA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"], prog_name="stoa")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: stoa")
    for command in ("up", "relay", "migrate"):
        assert command in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert "0.1.0" in result.output


def test_migrate_creates_the_catalog_in_the_data_dir(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("STOA_DATA_DIR", str(data_dir))
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output

    engine = sa.create_engine(f"sqlite:///{data_dir / 'stoa.db'}")
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"spaces", "participants", "alembic_version"} <= tables

    again = runner.invoke(main, ["migrate"])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOA_PORT", "abc"),
        ("STOA_PORT", "70000"),
        ("STOA_SECRET_KEY", "too-short"),
        ("STOA_STORAGE", "s3"),
    ],
)
def test_invalid_setting_exits_naming_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "invalid settings" in result.output
    assert name in result.output


def test_malformed_list_setting_exits_naming_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOA_ICE_SERVERS", "stun:stun.example.org:3478")
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    assert "STOA_ICE_SERVERS" in result.output


def test_unreachable_database_is_a_clear_error_without_the_password(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on a port we just freed, so the connection is refused at once.
    url = f"postgresql+psycopg://stoa:hunter2-secret@127.0.0.1:{free_port()}/stoa"
    monkeypatch.setenv("STOA_DATABASE_URL", url)
    result = runner.invoke(main, ["migrate"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "could not migrate" in result.output
    assert "hunter2-secret" not in result.output
