"""Recorded spaces, newest first, filtered and paged with an opaque cursor.

Keyset pagination over (recorded at, id): a page never repeats nor skips a space when others
end meanwhile, and a deep page costs what the first does. "Recorded at" is when the space
started (its creation, for one ended before it started). The cursor is the last space's
key, base64url JSON: opaque to clients, checked when it comes back.

A read-only query over the catalog's tables; the catalog's own methods are about one space.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from replay_api.errors import BadRequest
from stoa.catalog import SpaceRecord, SpaceState
from stoa.catalog.models import Participant, Space
from stoa.errors import CatalogError

# The states of a space that is over: ended, its recording saved, or its replay published.
OVER = (SpaceState.ENDED, SpaceState.RECORDED, SpaceState.REPLAYABLE)


@dataclass(frozen=True)
class Filters:
    host: str | None = None
    """Part of the host's name, any case."""
    since: datetime | None = None
    """Recorded at or after."""
    until: datetime | None = None
    """Recorded before."""
    states: tuple[SpaceState, ...] = OVER


@dataclass(frozen=True)
class Listed:
    space: SpaceRecord
    host_name: str

    @property
    def recorded_at(self) -> datetime:
        return self.space.started_at or self.space.created_at


@dataclass(frozen=True)
class Page:
    spaces: list[Listed]
    next_cursor: str | None


def encode_cursor(recorded_at: datetime, space_id: str) -> str:
    raw = json.dumps([recorded_at.isoformat(), space_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The key a cursor holds; `BadRequest` for anything this API did not give out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, space_id = json.loads(raw)
        at = datetime.fromisoformat(stamp)
        if not isinstance(space_id, str) or at.tzinfo is None:
            raise ValueError("not a cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is not one this API gave out; start again without it") from exc
    return at, space_id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def recorded_spaces(engine: Engine, filters: Filters, *, limit: int, cursor: str | None) -> Page:
    """A page of spaces that are over, newest first; ``next_cursor`` is None on the last."""
    recorded_at = func.coalesce(Space.started_at, Space.created_at)
    conditions: list[ColumnElement[bool]] = [Space.state.in_(list(filters.states))]
    if filters.host:
        pattern = f"%{_escape_like(filters.host.lower())}%"
        conditions.append(func.lower(Participant.name).like(pattern, escape="\\"))
    if filters.since is not None:
        conditions.append(recorded_at >= filters.since)
    if filters.until is not None:
        conditions.append(recorded_at < filters.until)
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        conditions.append(or_(recorded_at < at, and_(recorded_at == at, Space.id < last_id)))
    query = (
        select(Space, Participant.name)
        .join(Participant, Participant.id == Space.host_id)
        .where(*conditions)
        .order_by(recorded_at.desc(), Space.id.desc())
        .limit(limit + 1)
    )
    try:
        with Session(engine) as session:
            found = [Listed(SpaceRecord.of(space), name) for space, name in session.execute(query)]
    except SQLAlchemyError as exc:
        raise CatalogError(str(exc)) from exc
    more = len(found) > limit
    found = found[:limit]
    last = found[-1] if more and found else None
    return Page(
        spaces=found,
        next_cursor=encode_cursor(last.recorded_at, last.space.id) if last else None,
    )
