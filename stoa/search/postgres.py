"""Search on PostgreSQL: a generated tsvector column ('simple' configuration) with a GIN index.

A GIN index on a tsvector keeps which rows hold a word, not where: a phrase (``'a' <-> 'b'``)
is answered by every row that holds all its words, each one read and checked. For a phrase of
common words that is thousands of rows. So every row also keeps its **word pairs**, each word
with the next (``"a b"``; from the tsvector's own positions, so exactly the adjacency ``<->``
means), in a ``text[]`` column with its own GIN index: a phrase first needs all of its pairs,
which few rows have, and only those are checked for the phrase itself. Elasticsearch's
``index_phrases`` does the same with two-word shingles.
"""

from __future__ import annotations

from sqlalchemy import text

from stoa.search import SearchIndex
from stoa.search.query import Query, Term

VISIBLE_STATES = ("replayable",)

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS search_documents (
        id BIGSERIAL PRIMARY KEY,
        space_id TEXT NOT NULL,
        speaker_id TEXT NOT NULL,
        speaker TEXT NOT NULL,
        start DOUBLE PRECISION NOT NULL,
        "end" DOUBLE PRECISION NOT NULL,
        text TEXT NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
    )""",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING GIN (tsv)",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_space ON search_documents (space_id, start)",
    # Each word with the next, by position: "a b" for 'a' <-> 'b'.
    """CREATE OR REPLACE FUNCTION stoa_word_pairs(v tsvector) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT a.lexeme || ' ' || b.lexeme), '{}')
        FROM (SELECT lexeme, unnest(positions) AS at FROM unnest(v)) AS a
        JOIN (SELECT lexeme, unnest(positions) AS at FROM unnest(v)) AS b ON b.at = a.at + 1
    $$""",
    # Added to an index made before pairs (PostgreSQL computes them for every row, once).
    """ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS pairs text[]
        GENERATED ALWAYS AS (stoa_word_pairs(to_tsvector('simple', text))) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_pairs ON search_documents USING GIN (pairs)",
]


def match_condition(query: Query) -> tuple[str, dict[str, object]]:
    """A condition on a row ``d``: a tsquery built by PostgreSQL's own functions from bound
    parameters, and for each phrase, first, the word pairs it needs (`_SCHEMA`)."""
    parts: list[str] = []
    pairs: list[str] = []
    params: dict[str, object] = {}
    for i, term in enumerate(query.terms):
        name = f"t{i}"
        if term.is_phrase:
            parts.append(f"phraseto_tsquery('simple', :{name})")
            pairs.append(f"d.pairs @> stoa_word_pairs(to_tsvector('simple', :{name}))")
            params[name] = " ".join(term.words)
        elif term.prefix:
            # Words are letters and digits only; quote_literal keeps them lexemes anyway.
            parts.append(f"to_tsquery('simple', quote_literal(:{name}) || ':*')")
            params[name] = term.words[0]
        else:
            parts.append(f"plainto_tsquery('simple', :{name})")
            params[name] = term.words[0]
    return " AND ".join([*pairs, f"d.tsv @@ ({' && '.join(parts)})"]), params


class PostgresIndex(SearchIndex):
    def create_schema(self) -> None:
        with self.engine.begin() as connection:
            # Two processes starting at once must not race on CREATE ... IF NOT EXISTS.
            connection.execute(text("SELECT pg_advisory_xact_lock(7361)"))
            for statement in _SCHEMA:
                connection.execute(text(statement))

    def _tier(
        self, query: Query, space_id: str | None, count: int, skip: int
    ) -> list[tuple[int, str]]:
        expression, params = match_condition(query)
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
            WHERE {expression} AND {where}
            ORDER BY d.id + 0 DESC
            LIMIT :count OFFSET :skip
        """
        with self.engine.connect() as connection:
            return [(r[0], r[1]) for r in connection.execute(text(sql), params)]

    def _frequency(self, term: Term, cap: int) -> int:
        expression, params = match_condition(Query((term,), ""))
        sql = f"""
            SELECT count(*) FROM (
                SELECT 1 FROM search_documents d WHERE {expression} LIMIT :cap
            ) AS found
        """
        with self.engine.connect() as connection:
            found = connection.execute(text(sql), {**params, "cap": cap}).scalar()
        return int(found or 0)
