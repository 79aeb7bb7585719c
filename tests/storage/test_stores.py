"""One contract for every object store; S3 runs against moto's real HTTP server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stoa.errors import InvalidKey, ObjectNotFound, StorageError, StorageUnavailable
from stoa.storage import ObjectStore, key
from stoa.storage.s3 import S3Config, S3Store


def test_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("spaces/abc/manifest.json", b'{"a": 1}', "application/json")
    assert store.get_bytes("spaces/abc/manifest.json") == b'{"a": 1}'
    assert store.exists("spaces/abc/manifest.json")
    source = tmp_path / "track.ogg"
    source.write_bytes(b"OggS" + os.urandom(1000))
    store.put_file("spaces/abc/tracks/p1.ogg", source, "audio/ogg")
    target = tmp_path / "back.ogg"
    store.download("spaces/abc/tracks/p1.ogg", target)
    assert target.read_bytes() == source.read_bytes()
    assert store.list("spaces/abc") == ["spaces/abc/manifest.json", "spaces/abc/tracks/p1.ogg"]
    store.put_bytes("spaces/abc/manifest.json", b"{}", "application/json")
    assert store.get_bytes("spaces/abc/manifest.json") == b"{}"
    store.delete("spaces/abc/manifest.json")
    assert not store.exists("spaces/abc/manifest.json")
    store.delete("spaces/abc/manifest.json")  # deleting twice is fine


def test_missing_objects(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        store.get_bytes("spaces/none/manifest.json")
    with pytest.raises(ObjectNotFound):
        store.download("spaces/none/manifest.json", tmp_path / "x")
    assert store.list("spaces/none") == []


@pytest.mark.parametrize(
    "bad", ["../etc/passwd", "spaces/../x", "/abs", "spaces//x", "a b", "spaces/\x00", ""]
)
def test_unsafe_keys_are_refused(store: ObjectStore, bad: str) -> None:
    with pytest.raises(InvalidKey):
        store.put_bytes(bad, b"x", "text/plain")


def test_key_builds_from_safe_parts_only() -> None:
    assert key("spaces", "Ab-9_x", "track.ogg") == "spaces/Ab-9_x/track.ogg"
    # Server-made ids (secrets.token_urlsafe) may start with - or _.
    assert key("spaces", "-ab", "_cd.ogg") == "spaces/-ab/_cd.ogg"
    for part in ["..", ".hidden", "a/b", "", "<script>", "x" * 200]:
        with pytest.raises(InvalidKey):
            key("spaces", part)


def test_s3_multipart_upload_of_a_large_file(s3_config: S3Config, tmp_path: Path) -> None:
    store = S3Store(s3_config)
    big = tmp_path / "big.ogg"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    store.put_file("spaces/big/tracks/p.ogg", big, "audio/ogg")
    back = tmp_path / "back.ogg"
    store.download("spaces/big/tracks/p.ogg", back)
    assert back.read_bytes() == big.read_bytes()
    # The object sits under the configured prefix in the bucket.
    assert (
        store._client.head_object(  # noqa: SLF001
            Bucket=s3_config.bucket, Key="recordings/spaces/big/tracks/p.ogg"
        )["ContentLength"]
        == 12 * 1024 * 1024
    )


def test_s3_errors_are_translated(s3_config: S3Config) -> None:
    missing_bucket = S3Store(S3Config(**{**s3_config.__dict__, "bucket": "no-such-bucket-x"}))
    with pytest.raises(StorageError) as info:
        missing_bucket.put_bytes("a/b", b"x", "text/plain")
    assert not isinstance(info.value, StorageUnavailable)
    unreachable = S3Store(
        S3Config(**{**s3_config.__dict__, "endpoint_url": "http://127.0.0.1:9", "max_attempts": 2})
    )
    with pytest.raises(StorageUnavailable):
        unreachable.put_bytes("a/b", b"x", "text/plain")


def test_s3_presigned_url(s3_config: S3Config) -> None:
    import urllib.request

    store = S3Store(s3_config)
    store.put_bytes("spaces/x/replay.m4a", b"0123456789", "audio/mp4")
    url = store.presigned_url("spaces/x/replay.m4a", 60)
    assert url.startswith(s3_config.endpoint_url or "")
    request = urllib.request.Request(url, headers={"Range": "bytes=2-5"})
    with urllib.request.urlopen(request) as response:  # noqa: S310 (loopback moto)
        assert response.read() == b"2345"
