"""The replay API over HTTP on a space the real pipeline made replayable: detail, audio with
Range requests (and S3 redirects), peaks, captions, transcripts and who may download them,
ETags and 304s."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import srt

from live.tokens import TokenSigner
from stoa.catalog import Catalog, SpaceState
from stoa.storage.s3 import S3Config, S3Store
from tests.conftest import LiveServer
from tests.replay.conftest import DURATION, GUEST, HOST, SECRET, TITLE, Replay, read_cues, serve
from transcribe.captions import schema
from workers import keys

FORMATS = ("txt", "srt", "vtt", "json")


@pytest.fixture
def client(replay: Replay) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=replay.url, timeout=20) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audio_bytes(replay: Replay) -> bytes:
    return replay.objects.path(replay.outputs()[keys.AUDIO]).read_bytes()


# The space


def test_detail_tells_who_when_how_long_and_how_whole(client: httpx.Client, replay: Replay) -> None:
    r = client.get(f"/api/spaces/{replay.space_id}/replay")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == TITLE
    assert body["state"] == "replayable"
    assert body["host"] == {"id": replay.recorded.space.host_id, "name": HOST}
    assert [s["name"] for s in body["speakers"]] == [HOST, GUEST]
    assert body["duration_s"] == pytest.approx(DURATION)
    assert body["recorded_at"].startswith(replay.recorded.space.started_at.strftime("%Y-%m-%d"))
    assert body["processing"] == {"state": "done", "stage": "done", "progress": 100, "error": None}
    packets = body["packets"]
    assert packets["tracks"] == 2
    assert packets["received"] == sum(t["packets"]["received"] for t in body["tracks"]) > 0
    assert packets["lost"] == 0 and packets["loss_percent"] == 0.0
    assert body["transcript_public"] is False
    base = f"/api/spaces/{replay.space_id}"
    assert body["links"]["audio"] == f"{base}/audio"
    assert body["links"]["transcript"]["json"] == f"{base}/transcript.json"
    # The live API's view of the same space agrees.
    live = client.get(f"/api/spaces/{replay.space_id}").json()
    assert live["processing"]["progress"] == 100
    assert [t["packets"] for t in live["tracks"]] == [t["packets"] for t in body["tracks"]]


def test_spaces_without_a_replay_say_why(client: httpx.Client, replay: Replay) -> None:
    assert client.get("/api/spaces/nope/replay").status_code == 404
    assert client.get("/api/spaces/nope/captions.vtt").json()["code"] == "not_found"
    created = client.post("/api/spaces", json={"title": "Live now", "host_name": "Lou"}).json()
    space_id = created["space"]["id"]
    r = client.get(f"/api/spaces/{space_id}/captions.vtt")
    assert r.status_code == 409 and "has not ended" in r.json()["detail"]
    detail = client.get(f"/api/spaces/{space_id}/replay").json()
    assert detail["state"] == "live" and detail["links"] is None and detail["packets"] is None
    catalog: Catalog = replay.server.app.state.catalog
    unrecorded, _ = catalog.create_space(
        title="Off", host_name="Lou", scheduled_for=None, host_device=None, record=False
    )
    catalog.end_space(unrecorded.id)
    r = client.get(f"/api/spaces/{unrecorded.id}/audio")
    assert r.status_code == 404 and "not recorded" in r.json()["detail"]


# Audio


def test_audio_is_served_with_byte_ranges(client: httpx.Client, replay: Replay) -> None:
    data = audio_bytes(replay)
    size = len(data)
    url = f"/api/spaces/{replay.space_id}/audio"

    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["content-type"] == "audio/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["cache-control"] == "public, max-age=300"
    etag = whole.headers["etag"]

    for header, start, end in [
        ("bytes=0-0", 0, 0),
        ("bytes=100-1099", 100, 1099),
        (f"bytes={size - 10}-", size - 10, size - 1),
        ("bytes=-500", size - 500, size - 1),
        (f"bytes=1000-{size + 5000}", 1000, size - 1),
    ]:
        r = client.get(url, headers={"Range": header})
        assert r.status_code == 206, (header, r.status_code)
        assert r.content == data[start : end + 1], header
        assert r.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert int(r.headers["content-length"]) == end - start + 1
        assert r.headers["etag"] == etag

    past = client.get(url, headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"

    two = client.get(url, headers={"Range": "bytes=0-9,20-29"})
    assert two.status_code == 206
    assert two.headers["content-type"].startswith("multipart/byteranges")
    assert data[0:10] in two.content and data[20:30] in two.content

    # If-Range: the range only while the client's copy is current.
    same = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[:10]
    changed = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"older"'})
    assert changed.status_code == 200 and changed.content == data


def test_audio_is_faststart_aac(client: httpx.Client, replay: Replay, tmp_path: Path) -> None:
    # The index comes first, so a player reads the first range and can seek at once.
    head = client.get(
        f"/api/spaces/{replay.space_id}/audio", headers={"Range": "bytes=0-65535"}
    ).content
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head
    path = tmp_path / "replay.m4a"
    path.write_bytes(client.get(f"/api/spaces/{replay.space_id}/audio").content)
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
            check=True,
            capture_output=True,
        ).stdout
    )
    assert [s["codec_name"] for s in probe["streams"]] == ["aac"]
    assert float(probe["format"]["duration"]) == pytest.approx(DURATION, abs=0.2)


def test_etags_give_304s(client: httpx.Client, replay: Replay) -> None:
    base = f"/api/spaces/{replay.space_id}"
    for path in ("/audio", "/peaks.json", "/captions.vtt"):
        first = client.get(base + path)
        assert first.status_code == 200, path
        etag = first.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"')
        for tags in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = client.get(base + path, headers={"If-None-Match": tags})
            assert again.status_code == 304, (path, tags)
            assert again.content == b""
            assert again.headers["etag"] == etag
            assert again.headers["cache-control"] == first.headers["cache-control"]
        other = client.get(base + path, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200
    # Each output's tag comes from its storage key, which names the pipeline run.
    tags = {
        client.get(base + p).headers["etag"] for p in ("/audio", "/peaks.json", "/captions.vtt")
    }
    assert len(tags) == 3


def test_peaks_are_audiowaveform_json(client: httpx.Client, replay: Replay) -> None:
    r = client.get(f"/api/spaces/{replay.space_id}/peaks.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    peaks = r.json()
    assert peaks["version"] == 2 and peaks["channels"] == 1 and peaks["bits"] == 8
    assert peaks["length"] == pytest.approx(
        DURATION * peaks["sample_rate"] / peaks["samples_per_pixel"], abs=2
    )
    assert len(peaks["data"]) == 2 * peaks["length"]
    assert max(peaks["data"]) > 10  # speech, not silence


def test_captions_are_public_webvtt(client: httpx.Client, replay: Replay) -> None:
    r = client.get(f"/api/spaces/{replay.space_id}/captions.vtt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/vtt; charset=utf-8"
    assert r.headers["cache-control"].startswith("public")
    assert r.text.startswith("WEBVTT")
    assert "<v Ann &lt;b&gt;Host&lt;/b&gt;>" in r.text
    assert r.text == replay.objects.get_bytes(replay.outputs()[keys.VTT]).decode()


# Transcripts


def test_a_private_transcript_is_the_hosts(client: httpx.Client, replay: Replay) -> None:
    url = f"/api/spaces/{replay.space_id}/transcript.txt"
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "host token" in anonymous.json()["detail"]

    guest = client.get(url, headers=bearer(replay.guest_token))
    assert guest.status_code == 403 and guest.json()["code"] == "forbidden"

    signer = TokenSigner(SECRET, 3600)
    elsewhere = signer.issue(participant_id=replay.recorded.space.host_id, space_id="other")
    assert client.get(url, headers=bearer(elsewhere)).status_code == 401
    forged = TokenSigner("another-secret-key-that-is-long-enough-000", 3600).issue(
        participant_id=replay.recorded.space.host_id, space_id=replay.space_id
    )
    assert client.get(url, headers=bearer(forged)).status_code == 401
    assert client.get(url, headers={"Authorization": "Basic abc"}).status_code == 401

    host = client.get(url, headers=bearer(replay.host_token))
    assert host.status_code == 200
    assert host.headers["content-type"] == "text/plain; charset=utf-8"
    assert host.headers["cache-control"].startswith("private")
    assert host.headers["vary"] == "Authorization"
    assert host.headers["content-disposition"] == (
        f'attachment; filename="img-src-x-onerror-window-xss-1-replay-talk-{replay.space_id}.txt"'
    )
    assert host.text.startswith(f"[00:00:00] {HOST}\n")
    again = client.get(
        url, headers={**bearer(replay.host_token), "If-None-Match": host.headers["etag"]}
    )
    assert again.status_code == 304

    info = client.get(f"/api/spaces/{replay.space_id}/transcript").json()
    assert info["public"] is False and info["host"] is False and info["can_download"] is False
    info = client.get(
        f"/api/spaces/{replay.space_id}/transcript", headers=bearer(replay.host_token)
    ).json()
    assert info["host"] is True and info["can_download"] is True and info["ready"] is True


def test_the_host_can_make_the_transcript_public(client: httpx.Client, replay: Replay) -> None:
    url = f"/api/spaces/{replay.space_id}/transcript"
    visibility = f"{url}/visibility"
    assert client.post(visibility, json={"public": True}).status_code == 401
    r = client.post(visibility, json={"public": True}, headers=bearer(replay.guest_token))
    assert r.status_code == 403
    bad = client.post(visibility, json={"public": "yes"}, headers=bearer(replay.host_token))
    assert bad.status_code == 422
    assert client.get(f"{url}.srt").status_code == 401

    r = client.post(visibility, json={"public": True}, headers=bearer(replay.host_token))
    assert r.status_code == 200 and r.json()["public"] is True
    try:
        for fmt in FORMATS:
            public = client.get(f"{url}.{fmt}")
            assert public.status_code == 200, fmt
            assert public.headers["cache-control"] == "public, max-age=60"
        assert client.get(url).json()["can_download"] is True
        assert client.get(f"/api/spaces/{replay.space_id}/replay").json()["transcript_public"]
    finally:
        r = client.post(visibility, json={"public": False}, headers=bearer(replay.host_token))
        assert r.status_code == 200 and r.json()["public"] is False
    assert client.get(f"{url}.srt").status_code == 401
    assert replay.server.app.state.catalog.get_space(replay.space_id).transcript_public is False


def subtitle_packets(path: Path) -> list[tuple[float, float]]:
    """(start, end) of every subtitle event, as ffmpeg's own demuxer reads the file."""
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
    ).stdout
    packets = json.loads(out)["packets"]
    return [
        (float(p["pts_time"]), float(p["pts_time"]) + float(p["duration_time"])) for p in packets
    ]


def test_downloads_parse_as_what_they_claim(
    client: httpx.Client, replay: Replay, tmp_path: Path
) -> None:
    for fmt in ("srt", "vtt"):
        r = client.get(
            f"/api/spaces/{replay.space_id}/transcript.{fmt}", headers=bearer(replay.host_token)
        )
        assert r.status_code == 200
        path = tmp_path / f"transcript.{fmt}"
        path.write_bytes(r.content)
        # The cues as the file has them (SRT's differ: each starts with "Name: ").
        if fmt == "vtt":
            expected = [(c.start, c.end) for c in read_cues(r.text)]
        else:
            expected = [(s.start.total_seconds(), s.end.total_seconds()) for s in srt.parse(r.text)]
        assert len(expected) >= 4
        found = subtitle_packets(path)
        assert len(found) == len(expected), fmt
        for (start, end), (want_start, want_end) in zip(found, expected, strict=True):
            assert start == pytest.approx(want_start, abs=0.0015), fmt
            assert end == pytest.approx(want_end, abs=0.0015), fmt
        # ffmpeg also converts it, cue by cue.
        converted = tmp_path / f"converted-{fmt}.ass"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), str(converted)], check=True)
        assert converted.read_text().count("Dialogue:") == len(expected)

    r = client.get(
        f"/api/spaces/{replay.space_id}/transcript.json", headers=bearer(replay.host_token)
    )
    assert r.headers["content-type"] == "application/json"
    document = r.json()
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["speakers"] == [
        {"id": replay.recorded.space.host_id, "name": HOST},
        {"id": replay.recorded.participants[GUEST], "name": GUEST},
    ]
    assert len(document["segments"]) >= 4
    assert all(s["words"] for s in document["segments"])


# S3: the audio by redirect to a presigned URL, the text through the app.


@pytest.fixture
def s3_server(replay: Replay, s3_config: S3Config) -> Iterator[LiveServer]:
    """A second server on the same catalog, its outputs in (moto's) S3."""
    store = S3Store(s3_config)
    for name, key in replay.outputs().items():
        store.put_file(key, replay.objects.path(key), keys.CONTENT_TYPES[name])
    settings = replay.server.settings.model_copy(
        update={
            "port": replay.server.settings.port + 1,
            "storage": "s3",
            "s3_bucket": s3_config.bucket,
            "s3_prefix": s3_config.prefix,
            "s3_endpoint_url": s3_config.endpoint_url,
            "s3_region": s3_config.region,
            "s3_access_key_id": s3_config.access_key_id,
            "s3_secret_access_key": s3_config.secret_access_key,
        }
    )
    with serve(settings) as server:
        yield server


def test_on_s3_the_audio_is_a_redirect_to_a_presigned_url(
    s3_server: LiveServer, replay: Replay, s3_config: S3Config
) -> None:
    data = audio_bytes(replay)
    with httpx.Client(base_url=s3_server.url, timeout=20) as client:
        r = client.get(f"/api/spaces/{replay.space_id}/audio")
        assert r.status_code == 307
        location = r.headers["location"]
        assert location.startswith(f"{s3_config.endpoint_url}/{s3_config.bucket}/")
        query = parse_qs(urlsplit(location).query)
        assert "Signature" in query or "X-Amz-Signature" in query
        if "X-Amz-Expires" in query:  # SigV4
            assert query["X-Amz-Expires"] == ["900"]
        else:  # SigV2: when it expires
            assert int(query["Expires"][0]) - time.time() == pytest.approx(900, abs=60)
        assert r.headers["cache-control"] == "private, max-age=60"
        fetched = httpx.get(location)
        assert fetched.status_code == 200 and fetched.content == data
        ranged = httpx.get(location, headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == data[10:20]
        followed = client.get(f"/api/spaces/{replay.space_id}/audio", follow_redirects=True)
        assert followed.content == data
        # Text comes through the app, same-origin for <track> and fetch, with its ETag.
        captions = client.get(f"/api/spaces/{replay.space_id}/captions.vtt")
        assert captions.status_code == 200
        assert captions.text == replay.objects.get_bytes(replay.outputs()[keys.VTT]).decode()
        local = httpx.get(f"{replay.url}/api/spaces/{replay.space_id}/captions.vtt")
        assert captions.headers["etag"] == local.headers["etag"]


def test_a_missing_file_is_a_clear_404(replay: Replay, tmp_path: Path) -> None:
    catalog: Catalog = replay.server.app.state.catalog
    space, _ = catalog.create_space(
        title="Lost", host_name="Lou", scheduled_for=None, host_device=None
    )
    with catalog.engine.begin() as connection:
        from sqlalchemy import text

        connection.execute(
            text("UPDATE spaces SET state = :state WHERE id = :id"),
            {"state": SpaceState.REPLAYABLE.value, "id": space.id},
        )
        connection.execute(
            text(
                "INSERT INTO processing (space_id, run, state, stage, progress, outputs,"
                " started_at, updated_at, published_run)"
                " VALUES (:id, 1, 'done', 'done', 100, :outputs, :now, :now, 1)"
            ),
            {
                "id": space.id,
                "outputs": json.dumps(keys.outputs(space.id, 1)),
                "now": space.created_at,
            },
        )
    r = httpx.get(f"{replay.url}/api/spaces/{space.id}/audio")
    assert r.status_code == 404 and "missing from storage" in r.json()["detail"]
    r = httpx.get(f"{replay.url}/api/spaces/{space.id}/captions.vtt")
    assert r.status_code == 404 and "stoa reprocess" in r.json()["detail"]
