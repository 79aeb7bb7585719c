"""Search on SQLite: an FTS5 index kept in step with a documents table by triggers."""

from __future__ import annotations

from sqlalchemy import text

from stoa.search import Hit, SearchIndex, snippet
from stoa.search.query import Query, Term

VISIBLE_STATES = ("replayable",)

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS search_documents (
        id INTEGER PRIMARY KEY,
        space_id TEXT NOT NULL,
        speaker_id TEXT NOT NULL,
        speaker TEXT NOT NULL,
        start REAL NOT NULL,
        "end" REAL NOT NULL,
        text TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_space ON search_documents (space_id, start)",
    # No diacritics folding: PostgreSQL's simple configuration does none either.
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        text, content='search_documents', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0'
    )""",
    """CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts (rowid, text) VALUES (new.id, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts (search_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
]


def match_expression(query: Query) -> str:
    """An FTS5 query: every word quoted, so nothing in it is an operator."""
    return " ".join(_term(t) for t in query.terms)


def _term(term: Term) -> str:
    # Words are letters and digits only (stoa.search.query), so quoting is all it takes.
    quoted = '"' + " ".join(term.words) + '"'
    return quoted + "*" if term.prefix else quoted


class SqliteIndex(SearchIndex):
    def create_schema(self) -> None:
        with self.engine.begin() as connection:
            for statement in _SCHEMA:
                connection.execute(text(statement))

    def search(
        self, query: Query, *, space_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Hit]:
        where = "search_fts MATCH :match"
        params: dict[str, object] = {"match": match_expression(query), "limit": limit}
        params["offset"] = offset
        if space_id is not None:
            where += " AND d.space_id = :space_id"
            params["space_id"] = space_id
        else:
            where += " AND s.state IN (" + ", ".join(f"'{s}'" for s in VISIBLE_STATES) + ")"
        sql = f"""
            SELECT d.space_id, s.title, d.speaker_id, d.speaker, d.start, d."end", d.text,
                   bm25(search_fts) AS rank
            FROM search_fts
            JOIN search_documents d ON d.id = search_fts.rowid
            JOIN spaces s ON s.id = d.space_id
            WHERE {where}
            ORDER BY rank, d.space_id, d.start
            LIMIT :limit OFFSET :offset
        """
        with self.engine.connect() as connection:
            rows = connection.execute(text(sql), params).all()
        return [
            Hit(
                space_id=r[0],
                space_title=r[1],
                speaker_id=r[2],
                speaker=r[3],
                start=float(r[4]),
                end=float(r[5]),
                text=r[6],
                snippet=snippet(r[6], query),
                rank=-float(r[7]),
            )
            for r in rows
        ]
