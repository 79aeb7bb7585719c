"""Search across every replayable space, or within one: hits that jump to the moment."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from replay_api.errors import BadRequest
from stoa.errors import InvalidQuery
from stoa.search import Hit, SearchIndex, parse

router = APIRouter(prefix="/api", tags=["replay"])

MAX_QUERY_CHARS = 200
MAX_OFFSET = 10_000


class HitOut(BaseModel):
    space_id: str
    space_title: str
    speaker_id: str
    speaker: str
    start: float = Field(description="Seconds on the space clock; the replay page's ?t=.")
    end: float
    text: str
    snippet: str = Field(description="HTML: escaped text with matches in <mark>.")
    url: str = Field(description="The replay page at this moment.")


class SearchResults(BaseModel):
    query: str
    hits: list[HitOut]
    next_offset: int | None = Field(description="Pass as offset for the next page; null at end.")


def _out(hit: Hit) -> HitOut:
    return HitOut(
        space_id=hit.space_id,
        space_title=hit.space_title,
        speaker_id=hit.speaker_id,
        speaker=hit.speaker,
        start=hit.start,
        end=hit.end,
        text=hit.text,
        snippet=hit.snippet,
        url=f"/spaces/{hit.space_id}?t={hit.start:.2f}",
    )


async def run_search(
    index: SearchIndex, q: str, *, space_id: str | None, limit: int, offset: int
) -> SearchResults:
    try:
        query = parse(q)
    except InvalidQuery as exc:
        raise BadRequest(str(exc)) from exc
    hits = await asyncio.to_thread(
        index.search, query, space_id=space_id, limit=limit + 1, offset=offset
    )
    more = len(hits) > limit
    return SearchResults(
        query=q,
        hits=[_out(h) for h in hits[:limit]],
        next_offset=offset + limit if more else None,
    )


@router.get("/search", response_model=SearchResults)
async def search(
    request: Request,
    q: Annotated[
        str, Query(max_length=MAX_QUERY_CHARS, description='Words, "phrases" and prefix*')
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchResults:
    """What was said, across all replayable spaces, ranked; each hit links to its moment."""
    index: SearchIndex = request.app.state.search
    return await run_search(index, q, space_id=None, limit=limit, offset=offset)


@router.get("/spaces/{space_id}/search", response_model=SearchResults)
async def search_space(
    request: Request,
    space_id: str,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchResults:
    """Search within one space's transcript."""
    index: SearchIndex = request.app.state.search
    return await run_search(index, q, space_id=space_id, limit=limit, offset=offset)
