"""Search on SQLite: an FTS5 index kept in step with a documents table by triggers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from stoa.search import Document, SearchIndex
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
    """FTS5 over ``search_documents``, whose ids *fall* as documents are added.

    FTS5 walks a match list forwards about twice as fast as backwards (a phrase of common
    words, its slowest case, most of all), and search wants the newest matches first: so the
    newest documents get the lowest ids. A space's documents get one run of ids, the first
    document the highest, as PostgreSQL's rising ids give them in its descending order.
    """

    def create_schema(self) -> None:
        with self.engine.begin() as connection:
            for statement in _SCHEMA:
                connection.execute(text(statement))
            # An index written before ids fell: turn its order around once.
            if (connection.execute(text("SELECT max(id) FROM search_documents")).scalar() or 0) > 0:
                connection.execute(text("UPDATE search_documents SET id = -id"))
                connection.execute(text("INSERT INTO search_fts (search_fts) VALUES ('rebuild')"))

    def _insert(self, connection: Connection, documents: Sequence[Document]) -> None:
        # The DELETE before this took the write lock, so no one else takes these ids.
        lowest = connection.execute(text("SELECT min(id) FROM search_documents")).scalar()
        top = min(lowest if lowest is not None else 1, 1) - 1
        connection.execute(
            text(
                'INSERT INTO search_documents (id, space_id, speaker_id, speaker, start, "end",'
                " text) VALUES (:id, :space_id, :speaker_id, :speaker, :start, :end, :text)"
            ),
            [{"id": top - i, **d.__dict__} for i, d in enumerate(documents)],
        )

    def _tier(
        self, query: Query, space_id: str | None, count: int, skip: int
    ) -> list[tuple[int, str]]:
        params: dict[str, object] = {
            "match": match_expression(query),
            "count": count,
            "skip": skip,
        }
        # FTS5 walks the matches in rowid order (newest first) and stops at the tier's end.
        with self.engine.connect() as connection:
            if space_id is None:
                visible = ", ".join(f"'{s}'" for s in VISIBLE_STATES)
                joins = "JOIN spaces s ON s.id = d.space_id"
                where = f"s.state IN ({visible})"
            else:
                # A space's segments are written in one transaction, so their ids are one
                # run: FTS5 seeks straight to it instead of walking every match before it.
                bounds = connection.execute(
                    text("SELECT min(id), max(id) FROM search_documents WHERE space_id = :s"),
                    {"s": space_id},
                ).one()
                if bounds[0] is None:
                    return []
                params.update(space_id=space_id, low=bounds[0], high=bounds[1])
                joins = ""
                where = "search_fts.rowid BETWEEN :low AND :high AND d.space_id = :space_id"
            sql = f"""
                SELECT search_fts.rowid, d.text
                FROM search_fts
                JOIN search_documents d ON d.id = search_fts.rowid
                {joins}
                WHERE search_fts MATCH :match AND {where}
                ORDER BY search_fts.rowid
                LIMIT :count OFFSET :skip
            """
            return [(r[0], r[1]) for r in connection.execute(text(sql), params)]

    def _frequency(self, term: Term, cap: int) -> int:
        sql = """
            SELECT count(*) FROM (
                SELECT 1 FROM search_fts WHERE search_fts MATCH :match LIMIT :cap
            )
        """
        with self.engine.connect() as connection:
            found = connection.execute(text(sql), {"match": _term(term), "cap": cap}).scalar()
        return int(found or 0)
