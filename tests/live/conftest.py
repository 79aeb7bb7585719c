from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import LiveServer


@pytest.fixture
async def client(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def other_browser(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A second client with its own cookies: another browser."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client
