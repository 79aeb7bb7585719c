"""Search on PostgreSQL: a generated tsvector column ('simple' configuration) with a GIN index."""

from __future__ import annotations

from sqlalchemy import text

from stoa.search import Hit, SearchIndex, snippet
from stoa.search.query import Query

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
            for statement in _SCHEMA:
                connection.execute(text(statement))

    def search(
        self, query: Query, *, space_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Hit]:
        expression, params = ts_query(query)
        params.update(limit=limit, offset=offset)
        where = ""
        if space_id is not None:
            where = " AND d.space_id = :space_id"
            params["space_id"] = space_id
        visible = ", ".join(f"'{s}'" for s in VISIBLE_STATES)
        space_filter = "" if space_id is not None else f"WHERE s.state IN ({visible})"
        # Matches first, through the GIN index (materialized, so the planner cannot turn it
        # into one index probe per space), then the spaces they belong to.
        sql = f"""
            WITH q AS (SELECT {expression} AS query),
            matches AS MATERIALIZED (
                SELECT d.space_id, d.speaker_id, d.speaker, d.start, d."end", d.text,
                       ts_rank_cd(d.tsv, q.query) AS rank
                FROM search_documents d, q
                WHERE d.tsv @@ q.query{where}
            )
            SELECT m.space_id, s.title, m.speaker_id, m.speaker, m.start, m."end", m.text, m.rank
            FROM matches m
            JOIN spaces s ON s.id = m.space_id
            {space_filter}
            ORDER BY m.rank DESC, m.space_id, m.start
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
                rank=float(r[7]),
            )
            for r in rows
        ]
