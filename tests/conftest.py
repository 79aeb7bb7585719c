"""Shared fixtures: settings in a temporary folder, a real server on 127.0.0.1, services.

Tests that need PostgreSQL skip when it is absent, and fail when ``CI`` is set (dramatiq's
``check_redis`` pattern).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from live.rtp_hooks import restrict_host_addresses
from stoa.catalog import Catalog
from stoa.settings import Settings
from stoa.storage.s3 import S3Config

POSTGRES_URL = os.environ.get(
    "STOA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def service_missing(what: str, exc: BaseException) -> None:
    """Skip locally, fail in CI: a missing service must not pass silently there."""
    message = f"{what} is not available: {exc}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _loopback_ice() -> Iterator[None]:
    # Every peer in the tests (relay and clients) gathers candidates on 127.0.0.1 only.
    restrict_host_addresses(["127.0.0.1"])
    yield
    restrict_host_addresses([])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=free_port(),
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        rtc_bind_addresses=["127.0.0.1"],
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    server: uvicorn.Server
    app: FastAPI


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real app under uvicorn in a thread, on 127.0.0.1."""
    from stoa.app import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://{settings.host}:{settings.port}", settings, server, app)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 HTTP server on 127.0.0.1 (it checks no signatures)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_config(moto_endpoint: str, request: pytest.FixtureRequest) -> S3Config:
    bucket = f"stoa-{abs(hash(request.node.nodeid)) % 10**10}"
    config = S3Config(
        bucket=bucket,
        prefix="recordings",
        endpoint_url=moto_endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        multipart_threshold=5 * 1024 * 1024,
    )
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    return config


# Catalogs on both databases (a fresh PostgreSQL database per test).


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
