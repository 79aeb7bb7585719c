"""Search on PostgreSQL: a generated tsvector column ('simple' configuration) with a GIN index.

The column is made from the text with its punctuation turned to spaces (``WORDS``), so that
PostgreSQL's parser sees the words SQLite's tokenizer and the query parser see. On its own the
parser keeps ``example.com``, ``ann@x.org``, ``notes.txt`` and ``1.5`` whole (as a host, an
email, a file, a number) and ``jazz-night`` both whole and in parts: "example" would find
nothing, and a phrase ending on "jazz" would miss "jazz-night", where SQLite finds both.
"""

from __future__ import annotations

from sqlalchemy import text

from stoa.search import SearchIndex
from stoa.search.query import Query, Term

VISIBLE_STATES = ("replayable",)

WORDS = "to_tsvector('simple', regexp_replace(text, '[[:punct:]]+', ' ', 'g'))"
"""The indexed words of a segment's ``text``."""
_TSV = f"tsv tsvector GENERATED ALWAYS AS ({WORDS}) STORED"

_TABLE = f"""CREATE TABLE IF NOT EXISTS search_documents (
    id BIGSERIAL PRIMARY KEY,
    space_id TEXT NOT NULL,
    speaker_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    start DOUBLE PRECISION NOT NULL,
    "end" DOUBLE PRECISION NOT NULL,
    text TEXT NOT NULL,
    {_TSV}
)"""
_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING GIN (tsv)",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_space ON search_documents (space_id, start)",
]


def ts_query(query: Query) -> tuple[str, dict[str, object]]:
    """A tsquery expression built by PostgreSQL's own functions from bound parameters."""
    parts: list[str] = []
    params: dict[str, object] = {}
    for i, term in enumerate(query.terms):
        name = f"t{i}"
        if term.is_phrase:
            parts.append(f"phraseto_tsquery('simple', :{name})")
            params[name] = " ".join(term.words)
        elif term.prefix:
            # Words are letters and digits only; quote_literal keeps them lexemes anyway.
            parts.append(f"to_tsquery('simple', quote_literal(:{name}) || ':*')")
            params[name] = term.words[0]
        else:
            parts.append(f"plainto_tsquery('simple', :{name})")
            params[name] = term.words[0]
    return " && ".join(parts), params


class PostgresIndex(SearchIndex):
    def create_schema(self) -> None:
        with self.engine.begin() as connection:
            # Two processes starting at once must not race on CREATE ... IF NOT EXISTS.
            connection.execute(text("SELECT pg_advisory_xact_lock(7361)"))
            connection.execute(text(_TABLE))
            made_by = connection.execute(
                text(
                    "SELECT generation_expression FROM information_schema.columns"
                    " WHERE table_schema = current_schema()"
                    " AND table_name = 'search_documents' AND column_name = 'tsv'"
                )
            ).scalar()
            if "regexp_replace" not in str(made_by):
                # An index from before punctuation was taken out: made again, once (its
                # GIN index goes with the column and is made again below).
                connection.execute(text("ALTER TABLE search_documents DROP COLUMN IF EXISTS tsv"))
                connection.execute(text(f"ALTER TABLE search_documents ADD COLUMN {_TSV}"))
            for statement in _INDEXES:
                connection.execute(text(statement))

    def _tier(
        self, query: Query, space_id: str | None, count: int, skip: int
    ) -> list[tuple[int, str]]:
        expression, params = ts_query(query)
        params.update(count=count, skip=skip)
        if space_id is not None:
            where = "d.space_id = :space_id"
            params["space_id"] = space_id
        else:
            where = "s.state IN (" + ", ".join(f"'{s}'" for s in VISIBLE_STATES) + ")"
        # Matches come from the GIN index, then the newest are kept (a top-N sort). "+ 0"
        # keeps the planner from walking the primary key backwards and testing every row,
        # which is a full scan for a rare word.
        sql = f"""
            SELECT d.id, d.text
            FROM search_documents d
            JOIN spaces s ON s.id = d.space_id
            WHERE d.tsv @@ ({expression}) AND {where}
            ORDER BY d.id + 0 DESC
            LIMIT :count OFFSET :skip
        """
        with self.engine.connect() as connection:
            return [(r[0], r[1]) for r in connection.execute(text(sql), params)]

    def _frequency(self, term: Term, cap: int) -> int:
        expression, params = ts_query(Query((term,), ""))
        sql = f"""
            SELECT count(*) FROM (
                SELECT 1 FROM search_documents WHERE tsv @@ ({expression}) LIMIT :cap
            ) AS found
        """
        with self.engine.connect() as connection:
            found = connection.execute(text(sql), {**params, "cap": cap}).scalar()
        return int(found or 0)
