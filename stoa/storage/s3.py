"""Object storage in S3 (or anything that speaks its API), through boto3.

botocore's errors are translated here and never leave this module: a missing object is
`ObjectNotFound`; a timeout, a dropped connection, throttling or a 5xx is
`StorageUnavailable` (worth retrying); anything else (denied, no such bucket) is
`StorageError`. boto3 itself retries transient failures with backoff (``standard`` mode),
and uploads large files in parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from stoa.errors import ObjectNotFound, StorageError, StorageUnavailable
from stoa.storage import ObjectStore, check_key

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_TEMPORARY = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
    }
)


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    max_attempts: int = 5
    multipart_threshold: int = 16 * 1024 * 1024


class S3Store(ObjectStore):
    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._prefix = config.prefix.strip("/")
        session = boto3.session.Session(
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            region_name=config.region,
        )
        self._client: Any = session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": config.max_attempts},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        self._transfer = TransferConfig(
            multipart_threshold=config.multipart_threshold,
            multipart_chunksize=config.multipart_threshold,
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _NOT_FOUND:
                raise ObjectNotFound(f"no object {what!r}") from exc
            if code in _TEMPORARY:
                raise StorageUnavailable(f"S3 is unavailable for {what}: {code}") from exc
            raise StorageError(f"S3 refused {what}: {code} {exc}") from exc
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError,
        ) as exc:
            raise StorageUnavailable(f"S3 did not answer for {what}: {exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageError(f"S3 failed for {what}: {exc}") from exc
        except boto3.exceptions.S3UploadFailedError as exc:
            raise StorageUnavailable(f"upload of {what} failed: {exc}") from exc

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        with self._translate(key):
            self._client.upload_file(
                str(path),
                self.config.bucket,
                self._key(key),
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        with self._translate(key):
            self._client.put_object(
                Bucket=self.config.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )

    def get_bytes(self, key: str) -> bytes:
        with self._translate(key):
            response = self._client.get_object(Bucket=self.config.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
            return data

    def download(self, key: str, path: Path) -> None:
        with self._translate(key):
            self._client.download_file(
                self.config.bucket, self._key(key), str(path), Config=self._transfer
            )

    def exists(self, key: str) -> bool:
        try:
            with self._translate(key):
                self._client.head_object(Bucket=self.config.bucket, Key=self._key(key))
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._translate(key):
            self._client.delete_object(Bucket=self.config.bucket, Key=self._key(key))

    def list(self, prefix: str) -> list[str]:
        full = (
            self._key(prefix.rstrip("/")) + "/"
            if prefix.strip("/")
            else (f"{self._prefix}/" if self._prefix else "")
        )
        keys: list[str] = []
        with self._translate(prefix):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.config.bucket, Prefix=full):
                for item in page.get("Contents", []):
                    name = str(item["Key"])
                    keys.append(name[len(self._prefix) + 1 :] if self._prefix else name)
        return sorted(keys)

    def presigned_url(self, key: str, expires_seconds: int = 300) -> str:
        """A short-lived GET URL for the object (for HTTP range reads by browsers)."""
        with self._translate(key):
            url: str = self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.config.bucket, "Key": self._key(key)},
                ExpiresIn=expires_seconds,
            )
            return url
