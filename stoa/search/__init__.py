"""Full-text search over what was said in every space: one interface, two backends.

SQLite FTS5 (the embedded default) and PostgreSQL full-text search with a GIN index. The
index is derived data: the pipeline's index stage replaces a space's documents whenever it
runs, so the tables are created here (``create_schema``) rather than by a migration, and can
be dropped and rebuilt. Both backends see the same words (SQLite's ``unicode61`` tokenizer
and PostgreSQL's ``simple`` configuration, no stemming), so they find the same hits; each
backend only finds a tier of matches (``stoa.search.rank``), and ranking is shared, so both
also order them the same.
"""

from __future__ import annotations

import html
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from stoa.search.query import Query, Term, parse
from stoa.search.rank import DF_CAP, TIER, Scorer, idf

__all__ = [
    "Document",
    "Hit",
    "Query",
    "SearchIndex",
    "open_index",
    "parse",
    "snippet",
]

SNIPPET_CHARS = 160
_Shown = tuple[str, str, str, str, float, float, str]
"""A hit's space id and title, speaker id and name, start, end and text."""
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Document:
    """One caption segment, as the index keeps it."""

    space_id: str
    speaker_id: str
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Hit:
    space_id: str
    space_title: str
    speaker_id: str
    speaker: str
    start: float
    end: float
    text: str
    snippet: str
    rank: float


class SearchIndex(ABC):
    """A full-text index of caption segments; ``tier``: see `stoa.search.rank`."""

    COLLECTION_TTL_S = 60.0
    """How long the number of indexed segments (for IDF) is reused before counting again."""

    def __init__(self, engine: Engine, *, tier: int = TIER) -> None:
        self.engine = engine
        self.tier = tier
        self._collection: tuple[float, int] | None = None

    @abstractmethod
    def create_schema(self) -> None:
        """Create the index's tables if they are not there (idempotent)."""

    def replace_space(self, space_id: str, documents: Sequence[Document]) -> None:
        """Make ``documents`` the space's whole entry in the index, in one transaction.

        Both backends keep documents in a plain ``search_documents`` table; SQLite's triggers
        and PostgreSQL's generated column keep their full-text indexes in step with it.
        """
        with self.engine.begin() as connection:
            connection.execute(
                text("DELETE FROM search_documents WHERE space_id = :space_id"),
                {"space_id": space_id},
            )
            if documents:
                self._insert(connection, documents)

    def _insert(self, connection: Connection, documents: Sequence[Document]) -> None:
        """Add ``documents``, the newest in the index, with ids the database assigns."""
        connection.execute(
            text(
                'INSERT INTO search_documents (space_id, speaker_id, speaker, start, "end",'
                " text) VALUES (:space_id, :speaker_id, :speaker, :start, :end, :text)"
            ),
            [d.__dict__ for d in documents],
        )

    def search(
        self, query: Query, *, space_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Hit]:
        """Hits in replayable spaces (or in ``space_id`` only): by tier, best first in each."""
        if limit <= 0:
            return []
        first, last = offset // self.tier, (offset + limit - 1) // self.tier
        ranked: list[tuple[int, float]] = []
        scorer: Scorer | None = None
        for tier in range(first, last + 1):
            matches = self._tier(query, space_id, self.tier, tier * self.tier)
            if not matches:
                break
            scorer = scorer or Scorer(query, self._weights(query))
            ranked += scorer.rank(matches)
            if len(matches) < self.tier:
                break
        start = offset - first * self.tier
        page = ranked[start : start + limit]
        rows = self._hit_rows([id_ for id_, _ in page])
        return [
            Hit(
                space_id=rows[id_][0],
                space_title=rows[id_][1],
                speaker_id=rows[id_][2],
                speaker=rows[id_][3],
                start=float(rows[id_][4]),
                end=float(rows[id_][5]),
                text=rows[id_][6],
                snippet=snippet(rows[id_][6], query),
                rank=score,
            )
            for id_, score in page
            if id_ in rows
        ]

    @abstractmethod
    def _tier(
        self, query: Query, space_id: str | None, count: int, skip: int
    ) -> list[tuple[int, str]]:
        """``(id, text)`` of the query's matches, newest first, the first ``skip`` skipped.

        Only segments of replayable spaces, or of ``space_id`` when it is given.
        """

    @abstractmethod
    def _frequency(self, term: Term, cap: int) -> int:
        """How many segments contain ``term`` (one word or a prefix), counting up to ``cap``."""

    def _weights(self, query: Query) -> list[float]:
        """Each term's IDF; a phrase's is the sum of its words'. One term needs none."""
        if len(query.terms) == 1:
            return [1.0]
        documents = self._collection_size()
        weights = []
        for term in query.terms:
            words = [Term((w,)) for w in term.words[:-1]] + [Term(term.words[-1:], term.prefix)]
            weights.append(sum(idf(documents, self._frequency(w, DF_CAP)) for w in words))
        return weights

    def _collection_size(self) -> int:
        now = time.monotonic()
        if self._collection is None or now - self._collection[0] > self.COLLECTION_TTL_S:
            with self.engine.connect() as connection:
                size = connection.execute(text("SELECT count(*) FROM search_documents")).scalar()
            self._collection = (now, int(size or 0))
        return self._collection[1]

    def _hit_rows(self, ids: Sequence[int]) -> dict[int, _Shown]:
        """What a hit shows, for the segments ``ids``."""
        if not ids:
            return {}
        names = ", ".join(f":i{n}" for n in range(len(ids)))
        sql = f"""
            SELECT d.id, d.space_id, s.title, d.speaker_id, d.speaker, d.start, d."end", d.text
            FROM search_documents d JOIN spaces s ON s.id = d.space_id
            WHERE d.id IN ({names})
        """
        with self.engine.connect() as connection:
            rows = connection.execute(text(sql), {f"i{n}": id_ for n, id_ in enumerate(ids)})
            return {r[0]: (r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}

    def delete_space(self, space_id: str) -> None:
        self.replace_space(space_id, [])


def open_index(engine: Engine, *, tier: int = TIER) -> SearchIndex:
    if engine.dialect.name == "postgresql":
        from stoa.search.postgres import PostgresIndex

        return PostgresIndex(engine, tier=tier)
    from stoa.search.sqlite import SqliteIndex

    return SqliteIndex(engine, tier=tier)


def snippet(text: str, query: Query, width: int = SNIPPET_CHARS) -> str:
    """HTML: the text around the first match, escaped, with matched words in ``<mark>``."""
    spans = _matches(text, query.terms)
    start = 0
    if spans and len(text) > width:
        first = spans[0][0]
        start = max(0, min(first - width // 3, len(text) - width))
        while start > 0 and not text[start - 1].isspace():
            start -= 1
    end = min(len(text), start + width)
    while end < len(text) and not text[end].isspace():
        end += 1
    out = ["…" if start > 0 else ""]
    cursor = start
    for a, b in spans:
        if a < start or b > end:
            continue
        out.append(html.escape(text[cursor:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        cursor = b
    out.append(html.escape(text[cursor:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)


def _matches(text: str, terms: tuple[Term, ...]) -> list[tuple[int, int]]:
    tokens = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
    spans: set[tuple[int, int]] = set()
    for term in terms:
        n = len(term.words)
        for i in range(len(tokens) - n + 1):
            window = tokens[i : i + n]
            head = [t[2] for t in window[:-1]]
            last = window[-1][2]
            want_last = term.words[-1]
            if head != list(term.words[:-1]):
                continue
            if last == want_last or (term.prefix and last.startswith(want_last)):
                spans.add((window[0][0], window[-1][1]))
    return sorted(spans)
