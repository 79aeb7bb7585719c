"""What the space page hands its scripts, checked without a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from stoa.app import create_app
from stoa.settings import Settings
from tests.conftest import free_port


def settings_with_ice(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        host="127.0.0.1",
        port=free_port(),
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        ice_servers=[
            "stun:stun.invalid:3478",
            {"urls": "turn:turn.invalid:3478", "username": "u", "credential": "p"},
        ],
    )


def page_json(html: str, element_id: str) -> object:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html)
    assert match is not None, f"no #{element_id} in the page"
    return json.loads(match.group(1))


async def test_space_page_hands_over_ice_servers_and_the_space(tmp_path: Path) -> None:
    # The pages process alone (``stoa api``): no relay, so no ICE server is ever contacted.
    app = create_app(settings_with_ice(tmp_path), relay=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stoa.test") as client:
        created = await client.post(
            "/api/spaces", json={"title": "</script><b>ICE</b>", "host_name": "Ian"}
        )
        assert created.status_code == 201, created.text
        space_id = created.json()["space"]["id"]
        page = await client.get(f"/spaces/{space_id}")
    assert page.status_code == 200
    assert page_json(page.text, "ice-data") == [
        {"urls": "stun:stun.invalid:3478"},
        {"urls": "turn:turn.invalid:3478", "username": "u", "credential": "p"},
    ]
    space = page_json(page.text, "space-data")
    assert isinstance(space, dict)
    # The title cannot close the data script early: tojson escapes "<" and ">".
    assert space["id"] == space_id and space["title"] == "</script><b>ICE</b>"
    assert "<b>ICE</b>" not in page.text
