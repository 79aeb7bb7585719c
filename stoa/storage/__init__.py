"""Object storage: one interface, a local folder (the embedded default) and S3.

Keys are ``/``-joined parts built by `key`, each part checked, so no key ever comes from a
person's text unescaped.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from stoa.errors import InvalidKey

if TYPE_CHECKING:
    from stoa.settings import Settings

_PART = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def key(*parts: str) -> str:
    """A storage key from safe parts (ids, fixed names): letters, digits, ``.``, ``_``, ``-``;
    never ``.``-first, so no part is ``..`` or hidden."""
    for part in parts:
        if not _PART.match(part) or ".." in part:
            raise InvalidKey(f"unsafe storage key part {part!r}")
    return "/".join(parts)


def check_key(value: str) -> str:
    key(*value.split("/"))
    return value


class ObjectStore(ABC):
    """Where recordings and pipeline outputs are kept."""

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Store the file at ``path`` under ``key``, replacing what was there, atomically."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, atomically."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; `ObjectNotFound` if there is none."""

    @abstractmethod
    def download(self, key: str, path: Path) -> None:
        """Write the object to ``path``."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object if it exists."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys under ``prefix`` (a key-like string), sorted."""


__all__ = ["ObjectStore", "check_key", "key", "open_store"]


def open_store(settings: Settings) -> ObjectStore:
    """The object store the settings name."""
    if settings.storage == "s3":
        from stoa.storage.s3 import S3Config, S3Store

        assert settings.s3_bucket is not None
        return S3Store(
            S3Config(
                bucket=settings.s3_bucket,
                prefix=settings.s3_prefix,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                access_key_id=settings.s3_access_key_id,
                secret_access_key=settings.s3_secret_access_key,
            )
        )
    from stoa.storage.local import LocalStore

    return LocalStore(settings.data_dir / "objects")
