"""Object storage in a local folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from stoa.errors import ObjectNotFound, StorageUnavailable
from stoa.storage import ObjectStore, check_key


class LocalStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        with path.open("rb") as source:
            self._write(key, lambda f: shutil.copyfileobj(source, f, 1 << 20))

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._write(key, lambda f: f.write(data))

    def _write(self, key: str, fill: object) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    fill(f)  # type: ignore[operator]
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageUnavailable(f"could not write {key} under {self.root}: {exc}") from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r}") from exc
        except OSError as exc:
            raise StorageUnavailable(f"could not read {key}: {exc}") from exc

    def download(self, key: str, path: Path) -> None:
        try:
            shutil.copyfile(self.path(key), path)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r}") from exc
        except OSError as exc:
            raise StorageUnavailable(f"could not read {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self.root / check_key(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.exists():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
