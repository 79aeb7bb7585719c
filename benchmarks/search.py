"""Search latency on 1,000,000 caption segments: SQLite FTS5 and PostgreSQL side by side.

    python benchmarks/search.py [--segments 1000000] [--queries 300]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Synthetic text: words drawn from a Zipf-distributed vocabulary of 50,000 words, 4 to 20 words a
segment, 1,000 segments a space. Queries, each kind drawn fresh per query: a single word (from
the vocabulary's middle band), a two-word phrase taken from a random segment, a prefix (the
first three letters of a random word), and a common word (ranks 20 to 200) within one random
space. Every query asks for the first 20 hits, ranked, as the API does. Latencies are
wall-clock per query, in one process, p50 and p99; the queries are the same in every run.
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from stoa.catalog import Catalog
from stoa.search import Document, open_index, parse

SEGMENTS_PER_SPACE = 1000
VOCABULARY = 50_000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choices(letters, k=rng.randint(3, 10))))
    return sorted(words)


def corpus(count: int, seed: int = 1) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(vocab))]
    cumulative = list(__import__("itertools").accumulate(weights))
    texts = []
    for _ in range(count):
        n = rng.randint(4, 20)
        texts.append(rng.choices(vocab, cum_weights=cumulative, k=n))
    return vocab, texts


def load(catalog: Catalog, texts: list[list[str]]) -> float:
    index = open_index(catalog.engine)
    index.create_schema()
    started = time.perf_counter()
    spaces = (len(texts) + SEGMENTS_PER_SPACE - 1) // SEGMENTS_PER_SPACE
    with catalog.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO spaces (id, title, host_id, state, created_at, record)"
                " VALUES (:id, :title, 'h', 'replayable', CURRENT_TIMESTAMP, true)"
            ),
            [{"id": f"s{i}", "title": f"Space {i}"} for i in range(spaces)],
        )
    for i in range(spaces):
        chunk = texts[i * SEGMENTS_PER_SPACE : (i + 1) * SEGMENTS_PER_SPACE]
        index.replace_space(
            f"s{i}",
            [
                Document(f"s{i}", "p", "Speaker", j * 3.0, j * 3.0 + 2.5, " ".join(words))
                for j, words in enumerate(chunk)
            ],
        )
    elapsed = time.perf_counter() - started
    if catalog.engine.dialect.name == "postgresql":
        # Vacuumed and written out now, so that neither autovacuum (which a million inserts
        # set off) nor the checkpointer works through the measurements of either backend.
        with catalog.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM (ANALYZE) search_documents"))
            c.execute(text("VACUUM (ANALYZE) spaces"))
            c.execute(text("CHECKPOINT"))
    return elapsed


def queries(kind: str, n: int, vocab: list[str], texts: list[list[str]], seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if kind == "word":
            out.append(rng.choice(vocab[200:5000]))
        elif kind == "phrase":
            words = rng.choice([t for t in rng.sample(texts, 5) if len(t) >= 2] or [["a", "b"]])
            i = rng.randrange(len(words) - 1)
            out.append(f'"{words[i]} {words[i + 1]}"')
        else:
            out.append(rng.choice(vocab[50:20000])[:3] + "*")
    return out


def measure(
    catalog: Catalog, qs: list[str], spaces: list[str | None]
) -> tuple[float, float, float]:
    index = open_index(catalog.engine)
    for q in qs[:10]:
        index.search(parse(q))  # warm the caches and the connection pool
    times = []
    hits = 0
    for q, space_id in zip(qs, spaces, strict=True):
        started = time.perf_counter()
        hits += len(index.search(parse(q), space_id=space_id, limit=20))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, hits / len(qs)


def postgres_catalog(server_url: str) -> tuple[Catalog, str]:
    server = make_url(server_url)
    name = f"stoa_bench_{secrets.token_hex(4)}"
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    catalog = Catalog(server.set(database=name).render_as_string(hide_password=False))
    catalog.migrate()
    return catalog, name


def drop_postgres(server_url: str, name: str) -> None:
    server = make_url(server_url)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()

    vocab, texts = corpus(args.segments)
    print(f"{args.segments:,} segments, {len(texts) // SEGMENTS_PER_SPACE:,} spaces")
    with tempfile.TemporaryDirectory() as folder:
        sqlite = Catalog(f"sqlite:///{Path(folder) / 'bench.db'}")
        sqlite.migrate()
        postgres, pg_name = postgres_catalog(args.postgres)
        try:
            backends = {"SQLite FTS5": sqlite, "PostgreSQL GIN": postgres}
            for name, catalog in backends.items():
                print(f"load {name}: {load(catalog, texts):.1f} s")
            print()
            print(f"{'query':<8} {'backend':<16} {'p50 ms':>8} {'p99 ms':>8} {'hits/query':>11}")
            spaces = len(texts) // SEGMENTS_PER_SPACE
            rng = random.Random(7)
            for kind in ("word", "phrase", "prefix", "in space"):
                seed = sum(map(ord, kind))
                qs = queries(kind.replace("in space", "word"), args.queries, vocab, texts, seed)
                within: list[str | None] = [None] * len(qs)
                if kind == "in space":
                    # Words common enough to be said in most spaces, within a random space.
                    qs = [rng.choice(vocab[20:200]) for _ in qs]
                    within = [f"s{rng.randrange(spaces)}" for _ in qs]
                for name, catalog in backends.items():
                    p50, p99, hits = measure(catalog, qs, within)
                    print(f"{kind:<8} {name:<16} {p50:>8.2f} {p99:>8.2f} {hits:>11.1f}")
        finally:
            sqlite.close()
            postgres.close()
            drop_postgres(args.postgres, pg_name)


if __name__ == "__main__":
    main()
