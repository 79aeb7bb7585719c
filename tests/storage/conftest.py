"""Object stores under test: the local folder, the in-memory stub, and S3 on moto's server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from stoa.storage.s3 import S3Config, S3Store
from stoa.storage.stub import MemoryStore
from tests.conftest import free_port


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


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    if request.param == "memory":
        return MemoryStore()
    return S3Store(request.getfixturevalue("s3_config"))


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
