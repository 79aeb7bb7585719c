"""Full-text search over what was said in every space: one interface, two backends.

SQLite FTS5 (the embedded default) and PostgreSQL full-text search with a GIN index. The
index is derived data: the pipeline's index stage replaces a space's documents whenever it
runs, so the tables are created here (``create_schema``) rather than by a migration, and can
be dropped and rebuilt. Both backends see the same words (SQLite's ``unicode61`` tokenizer
and PostgreSQL's ``simple`` configuration, no stemming), so they find the same hits.
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, text

from stoa.search.query import Query, Term, parse

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
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
                connection.execute(
                    text(
                        'INSERT INTO search_documents (space_id, speaker_id, speaker, start, "end",'
                        " text) VALUES (:space_id, :speaker_id, :speaker, :start, :end, :text)"
                    ),
                    [d.__dict__ for d in documents],
                )

    @abstractmethod
    def search(
        self, query: Query, *, space_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Hit]:
        """Hits in replayable spaces (or in ``space_id`` only), best first."""

    def delete_space(self, space_id: str) -> None:
        self.replace_space(space_id, [])


def open_index(engine: Engine) -> SearchIndex:
    if engine.dialect.name == "postgresql":
        from stoa.search.postgres import PostgresIndex

        return PostgresIndex(engine)
    from stoa.search.sqlite import SqliteIndex

    return SqliteIndex(engine)


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
