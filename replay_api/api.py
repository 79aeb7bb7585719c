"""The replay API's routes, as one router for the app factory."""

from __future__ import annotations

from fastapi import APIRouter

from replay_api import media, search, spaces, transcripts

router = APIRouter()
router.include_router(spaces.router)
router.include_router(media.router)
router.include_router(transcripts.router)
router.include_router(search.router)
