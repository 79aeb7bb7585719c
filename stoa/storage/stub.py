"""An in-memory object store for fast unit tests."""

from __future__ import annotations

from pathlib import Path

from stoa.errors import ObjectNotFound
from stoa.storage import ObjectStore, check_key


class MemoryStore(ObjectStore):
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        self.put_bytes(key, path.read_bytes(), content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[check_key(key)] = (bytes(data), content_type)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.objects[key][0]
        except KeyError as exc:
            raise ObjectNotFound(f"no object {key!r}") from exc

    def download(self, key: str, path: Path) -> None:
        path.write_bytes(self.get_bytes(key))

    def exists(self, key: str) -> bool:
        return key in self.objects

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def list(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))
