"""Object stores under test: the local folder, the in-memory stub, and S3 on moto's server.

The moto fixtures live in tests/conftest.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stoa.storage import ObjectStore
from stoa.storage.local import LocalStore
from stoa.storage.s3 import S3Store
from stoa.storage.stub import MemoryStore


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
