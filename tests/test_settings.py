"""Settings: read from ``STOA_`` variables, unsafe values refused, the default secret kept safe."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from stoa.settings import IceServer, Settings

SECRET = "s" * 32


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``STOA_`` variable from the caller's shell, and a working folder of our own."""
    for name in list(os.environ):
        if name.upper().startswith("STOA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.data_dir == tmp_path.resolve() / ".data"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.database_url is None
    assert settings.catalog_url == f"sqlite:///{tmp_path.resolve() / '.data' / 'stoa.db'}"
    assert settings.secret_key is None
    assert settings.ice_servers == []
    assert settings.rtc_bind_addresses == []


def test_values_come_from_stoa_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STOA_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("STOA_HOST", "0.0.0.0")
    monkeypatch.setenv("STOA_PORT", "9123")
    monkeypatch.setenv("STOA_DATABASE_URL", "postgresql+psycopg://stoa@db.internal/stoa")
    monkeypatch.setenv("STOA_SECRET_KEY", SECRET)
    monkeypatch.setenv("STOA_TOKEN_TTL_SECONDS", "600")
    monkeypatch.setenv("STOA_RTC_ANNOUNCED_ADDRESS", "203.0.113.7")
    monkeypatch.setenv("STOA_REACTION_BURST", "3")
    monkeypatch.setenv("STOA_REACTION_PER_SECOND", "0.25")
    settings = Settings()
    assert settings.data_dir == tmp_path.resolve() / "elsewhere"
    assert settings.host == "0.0.0.0"
    assert settings.port == 9123
    assert settings.catalog_url == "postgresql+psycopg://stoa@db.internal/stoa"
    assert settings.secret_key == SECRET
    assert settings.token_ttl_seconds == 600
    assert settings.rtc_announced_address == "203.0.113.7"
    assert settings.reaction_burst == 3
    assert settings.reaction_per_second == 0.25


def test_data_dir_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOA_DATA_DIR", "~/stoa")
    assert Settings().data_dir == tmp_path.resolve() / "home" / "stoa"
    monkeypatch.setenv("STOA_DATA_DIR", "relative/data")
    assert Settings().data_dir == tmp_path.resolve() / "relative" / "data"


def test_list_values_are_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "STOA_ICE_SERVERS",
        '["stun:stun.example.org:3478",'
        ' {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "c"}]',
    )
    monkeypatch.setenv("STOA_RTC_BIND_ADDRESSES", '["10.0.0.5"]')
    settings = Settings()
    assert settings.ice_servers == [
        IceServer(urls="stun:stun.example.org:3478"),
        IceServer(urls=["turn:turn.example.org:3478"], username="u", credential="c"),
    ]
    assert settings.rtc_bind_addresses == ["10.0.0.5"]


def test_a_list_that_is_not_json_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOA_ICE_SERVERS", "stun:stun.example.org:3478")
    with pytest.raises(SettingsError, match="ice_servers"):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOA_PORT", "abc"),
        ("STOA_PORT", "0"),
        ("STOA_PORT", "65536"),
        ("STOA_TOKEN_TTL_SECONDS", "0"),
        ("STOA_REACTION_BURST", "0"),
        ("STOA_REACTION_PER_SECOND", "0"),
        ("STOA_MAX_BODY_BYTES", "10"),
        ("STOA_REDIS_HEARTBEAT_TIMEOUT_SECONDS", "4"),
    ],
)
def test_out_of_range_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert caught.value.errors()[0]["loc"] == (name.removeprefix("STOA_").lower(),)


def test_s3_storage_needs_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOA_STORAGE", "s3")
    with pytest.raises(ValidationError, match="STOA_S3_BUCKET"):
        Settings()
    monkeypatch.setenv("STOA_S3_BUCKET", "recordings")
    assert Settings().s3_bucket == "recordings"


def test_short_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOA_SECRET_KEY", "s" * 31)
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings()


def test_configured_secret_is_the_signing_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=SECRET)
    assert settings.signing_key() == SECRET
    assert not (tmp_path / "data" / "secret_key").exists()


def test_default_secret_is_kept_private_and_stable(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = Settings(data_dir=data_dir).signing_key()
    path = data_dir / "secret_key"
    assert path.read_text().strip() == key
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=data_dir).signing_key() == key
    assert Settings(data_dir=tmp_path / "other").signing_key() != key


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
