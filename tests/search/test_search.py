"""Search on SQLite FTS5 and PostgreSQL: words, phrases, prefixes, hostile queries, parity."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from stoa.catalog import Catalog
from stoa.errors import InvalidQuery
from stoa.search import Document, Hit, SearchIndex, open_index, parse, snippet
from stoa.search.query import Query, Term, words
from stoa.search.rank import Scorer, idf


@pytest.fixture
def index(catalog: Catalog) -> Iterator[SearchIndex]:
    index = open_index(catalog.engine)
    index.create_schema()
    index.create_schema()  # idempotent
    yield index


def space(catalog: Catalog, title: str, state: str = "replayable") -> str:
    record, _ = catalog.create_space(
        title=title, host_name="Ann", scheduled_for=None, host_device=None
    )
    with catalog.engine.begin() as connection:
        connection.execute(
            text("UPDATE spaces SET state = :state WHERE id = :id"),
            {"state": state, "id": record.id},
        )
    return record.id


def doc(space_id: str, start: float, text_: str, speaker: str = "ann") -> Document:
    return Document(space_id, speaker, speaker.title(), start, start + 2.0, text_)


def found(hits: list[Hit]) -> list[tuple[str, float]]:
    return sorted((h.space_id, h.start) for h in hits)


@pytest.fixture
def corpus(catalog: Catalog, index: SearchIndex) -> dict[str, str]:
    jazz = space(catalog, "Jazz night")
    code = space(catalog, "Code review")
    hidden = space(catalog, "Not yet published", state="recorded")
    index.replace_space(
        jazz,
        [
            doc(jazz, 0.0, "Welcome to the jazz night, everyone."),
            doc(jazz, 2.0, "Transcription of standards is an art.", "bo"),
            doc(jazz, 4.0, "The night is young and the band is warm."),
        ],
    )
    index.replace_space(
        code,
        [
            doc(code, 1.0, "We transcribe every call to review it later."),
            doc(code, 3.0, "Night builds failed again (OR did they?)", "cy"),
        ],
    )
    index.replace_space(hidden, [doc(hidden, 0.0, "jazz secrets nobody should find yet")])
    return {"jazz": jazz, "code": code, "hidden": hidden}


def test_words_phrases_and_prefixes(index: SearchIndex, corpus: dict[str, str]) -> None:
    jazz, code = corpus["jazz"], corpus["code"]
    assert found(index.search(parse("night"))) == sorted([(jazz, 0.0), (jazz, 4.0), (code, 3.0)])
    assert found(index.search(parse('"jazz night"'))) == [(jazz, 0.0)]
    assert found(index.search(parse('"night jazz"'))) == []
    assert found(index.search(parse("transcri*"))) == sorted([(jazz, 2.0), (code, 1.0)])
    assert found(index.search(parse("night young"))) == [(jazz, 4.0)]
    # Only replayable spaces, unless searching within one space.
    assert found(index.search(parse("secrets"))) == []
    assert found(index.search(parse("secrets"), space_id=corpus["hidden"])) == [
        (corpus["hidden"], 0.0)
    ]
    assert found(index.search(parse("night"), space_id=code)) == [(code, 3.0)]
    hit = index.search(parse('"jazz night"'))[0]
    assert hit.space_title == "Jazz night" and hit.speaker == "Ann"
    assert "<mark>jazz night</mark>" in hit.snippet


def test_replacing_a_space_leaves_no_duplicates(index: SearchIndex, corpus: dict[str, str]) -> None:
    code = corpus["code"]
    for _ in range(3):
        index.replace_space(code, [doc(code, 9.0, "night shift")])
    assert found(index.search(parse("night"), space_id=code)) == [(code, 9.0)]
    index.delete_space(code)
    assert index.search(parse("night"), space_id=code) == []


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "'",
        "*",
        "night*",
        "NEAR(night jazz)",
        "night OR jazz",
        "night AND",
        "(night",
        "night)",
        "-night",
        "night:*",
        "night & jazz",
        "!jazz",
        "jazz | night",
        "\\",
        "%",
        "night; DROP TABLE spaces; --",
        "col:night",
        "^night",
        "night\x00",
        'ni"ght',
        "«night»",
        "N E A R",
        "AND",
        "OR",
        "NOT night",
        "{night}",
        "[night]",
    ],
)
def test_hostile_queries_never_break_the_syntax(
    index: SearchIndex, corpus: dict[str, str], hostile: str
) -> None:
    global VISIBLE
    VISIBLE = {(corpus[k], t): v for (k, t), v in VISIBLE_TEXTS.items()}
    try:
        query = parse(hostile)
    except InvalidQuery:
        return  # a clear 400: nothing to search for
    hits = index.search(query)
    # Exactly the documents an obvious reading of the words finds.
    assert found(hits) == oracle(query, VISIBLE), hostile


VISIBLE_TEXTS = {
    ("jazz", 0.0): "Welcome to the jazz night, everyone.",
    ("jazz", 2.0): "Transcription of standards is an art.",
    ("jazz", 4.0): "The night is young and the band is warm.",
    ("code", 1.0): "We transcribe every call to review it later.",
    ("code", 3.0): "Night builds failed again (OR did they?)",
}
VISIBLE = VISIBLE_TEXTS


def oracle(query: Query, texts: dict[tuple[str, float], str]) -> list[tuple[str, float]]:
    def has(doc_words: list[str], term: Term) -> bool:
        n = len(term.words)
        for i in range(len(doc_words) - n + 1):
            window = doc_words[i : i + n]
            if window[:-1] == list(term.words[:-1]) and (
                window[-1] == term.words[-1]
                or (term.prefix and window[-1].startswith(term.words[-1]))
            ):
                return True
        return False

    return sorted(
        key for key, t in texts.items() if all(has(words(t), term) for term in query.terms)
    )


def test_parse() -> None:
    assert parse('Night "Jazz  night" trans*').terms == (
        Term(("night",)),
        Term(("jazz", "night")),
        Term(("trans",), prefix=True),
    )
    assert parse("foo-bar*").terms == (Term(("foo",)), Term(("bar",), prefix=True))
    for empty in ["", "   ", '""', "*", "!!!", "()"]:
        with pytest.raises(InvalidQuery):
            parse(empty)
    with pytest.raises(InvalidQuery):
        parse("x" * 201)
    with pytest.raises(InvalidQuery, match="at least 3 letters"):
        parse("night ab*")
    assert parse("abc*").terms == (Term(("abc",), prefix=True),)
    with pytest.raises(InvalidQuery):
        parse(" ".join(f"w{i}" for i in range(13)))


def test_snippets_are_escaped_and_marked() -> None:
    query = parse("script")
    text_ = "<b>bold</b> and a <script>alert(1)</script> " + "padding " * 40
    out = snippet(text_, query)
    assert "<script>" not in out and "&lt;" in out
    assert out.count("<mark>script</mark>") == 2
    assert out.endswith("…")


def test_same_hits_on_both_databases(tmp_path: Path, postgres_url: str) -> None:
    """The same synthetic data in SQLite and PostgreSQL: the same hits for every query."""
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(300)] + ["night", "jazz", "review", "transcript"]
    indexes = []
    for url in (f"sqlite:///{tmp_path / 'p.db'}", postgres_url):
        catalog = Catalog(url)
        catalog.migrate()
        index = open_index(catalog.engine)
        index.create_schema()
        indexes.append((catalog, index))
    ids = [f"space{i}" for i in range(5)]
    for catalog, _ in indexes:
        with catalog.engine.begin() as connection:
            for sid in ids:
                connection.execute(
                    text(
                        "INSERT INTO spaces (id, title, host_id, state, created_at, record)"
                        " VALUES (:id, :id, 'h', 'replayable', CURRENT_TIMESTAMP, true)"
                    ),
                    {"id": sid},
                )
    documents = {
        sid: [
            doc(sid, float(i), " ".join(rng.choices(vocabulary, k=rng.randint(3, 12))))
            for i in range(200)
        ]
        for sid in ids
    }
    # Punctuation inside words: PostgreSQL's parser alone would keep these whole.
    documents[ids[0]] += [
        doc(ids[0], 300.0 + i, t)
        for i, t in enumerate(
            [
                "See example.com or mail Ann@x.org",
                "notes.txt has 1.5 pages",
                "x jazz-night review",
                "it's 10:30 now, C++ and naïve_x",
            ]
        )
    ]
    for _, index in indexes:
        for sid in ids:
            index.replace_space(sid, documents[sid])
    queries = ["night", "jazz review", '"night jazz"', "w10*", "w12*", "transcript w7", "w299"]
    # Phrases that are there (two and three words in a row from some documents), one with a
    # word repeated, and a phrase beside a prefix.
    some = rng.sample([d.text.split() for docs in documents.values() for d in docs], 6)
    queries += [f'"{" ".join(w[:2])}"' for w in some[:3]]
    queries += [f'"{" ".join(w[1:4])}"' for w in some[3:]]
    queries += ['"w5 w5"', '"night jazz" w30*']
    queries += ["example", "ann", "notes txt", '"1 5"', '"x jazz"', '"jazz night review"']
    queries += ['"10 30"', "naïve", "exam*"]
    texts = {(d.space_id, d.start): d.text for docs in documents.values() for d in docs}
    total = 0
    for q in queries:
        results = [index.search(parse(q), limit=10_000) for _, index in indexes]
        assert found(results[0]) == found(results[1]) == oracle(parse(q), texts), q
        # Ranking is shared, so the order is the same too, across tiers (1,000 segments).
        in_order = [[(h.space_id, h.start) for h in hits] for hits in results]
        assert in_order[0] == in_order[1], q
        assert [h.rank for h in results[0]] == pytest.approx([h.rank for h in results[1]])
        total += len(results[0])
    assert total > 100
    for catalog, _ in indexes:
        catalog.close()


def test_hits_come_in_tiers_of_the_newest_matches_ranked_within(catalog: Catalog) -> None:
    index = open_index(catalog.engine, tier=3)
    index.create_schema()
    old, new = space(catalog, "Old"), space(catalog, "New")
    index.replace_space(
        old,
        [
            doc(old, 0.0, "a long segment that says night once and then goes on and on"),
            doc(old, 1.0, "night"),
            doc(old, 2.0, "no match here"),
            doc(old, 3.0, "night and more words after it"),
        ],
    )
    index.replace_space(
        new,
        [
            doc(new, 0.0, "night night"),
            doc(new, 1.0, "one night in a rather long sentence about nothing much"),
            doc(new, 2.0, "the night is short"),
        ],
    )
    pages = [index.search(parse("night"), limit=2, offset=o) for o in (0, 2, 4, 6)]
    order = [(h.space_id, h.start) for page in pages for h in page]
    # Tier 1: the newest three matches (all of New's), best first: twice beats once, short
    # beats long. Tier 2: Old's, the bare word first.
    assert order == [
        (new, 0.0),
        (new, 2.0),
        (new, 1.0),
        (old, 1.0),
        (old, 3.0),
        (old, 0.0),
    ]
    assert pages[-1] == []
    scores = [h.rank for page in pages for h in page]
    assert scores[0] > scores[1] > scores[2] and scores[3] > scores[4]


def test_bm25_weighs_rare_words_above_common_ones() -> None:
    query = parse('jazz "the night"')
    common, rare = idf(1000, 900), idf(1000, 3)
    assert rare > common > 0
    scorer = Scorer(query, [rare, common + common])
    ranked = scorer.rank(
        [
            (3, "jazz the night, the night, the night"),
            (2, "jazz jazz jazz the night"),
            (1, "jazz THE Night"),
        ]
    )
    # The rare word repeated counts for more than the common phrase repeated.
    assert [id_ for id_, _ in ranked][0] == 2
    one = Scorer(parse("trans*"), [1.0]).rank([(2, "transcribe, transcript"), (1, "trans")])
    assert [id_ for id_, _ in one] == [2, 1]


def test_an_sqlite_index_from_before_ids_fell_is_turned_around(tmp_path: Path) -> None:
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    catalog.migrate()
    index = open_index(catalog.engine)
    index.create_schema()
    older, newer = space(catalog, "Older"), space(catalog, "Newer")
    with catalog.engine.begin() as connection:
        # As the index used to write them: rising ids, the newest highest.
        for id_, sid in ((1, older), (2, newer)):
            connection.execute(
                text(
                    'INSERT INTO search_documents (id, space_id, speaker_id, speaker, start, "end",'
                    " text) VALUES (:id, :sid, 'ann', 'Ann', 0, 1, 'night falls')"
                ),
                {"id": id_, "sid": sid},
            )
    index.create_schema()
    with catalog.engine.connect() as connection:
        assert connection.execute(text("SELECT max(id) FROM search_documents")).scalar() == -1
    assert [h.space_id for h in index.search(parse("night"))] == [newer, older]
    index.replace_space(older, [doc(older, 0.0, "night falls")])
    assert [h.space_id for h in index.search(parse("night"))] == [older, newer]
    catalog.close()


def test_a_postgres_index_from_before_punctuation_was_taken_out_is_made_again(
    postgres_url: str,
) -> None:
    catalog = Catalog(postgres_url)
    catalog.migrate()
    index = open_index(catalog.engine)
    sid = space(catalog, "Links")
    with catalog.engine.begin() as connection:
        # As the index used to be made: the parser alone keeps example.com whole.
        connection.execute(
            text(
                "CREATE TABLE search_documents (id BIGSERIAL PRIMARY KEY, space_id TEXT NOT NULL,"
                " speaker_id TEXT NOT NULL, speaker TEXT NOT NULL, start DOUBLE PRECISION NOT NULL,"
                ' "end" DOUBLE PRECISION NOT NULL, text TEXT NOT NULL, tsv tsvector'
                " GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED)"
            )
        )
        connection.execute(
            text(
                'INSERT INTO search_documents (space_id, speaker_id, speaker, start, "end", text)'
                " VALUES (:sid, 'ann', 'Ann', 0, 1, 'see example.com')"
            ),
            {"sid": sid},
        )
    assert index.search(parse("example")) == []
    index.create_schema()
    index.create_schema()  # once only
    assert [h.text for h in index.search(parse("example"))] == ["see example.com"]
    with catalog.engine.connect() as connection:
        indexes = connection.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents'")
        ).scalars()
        assert "ix_search_documents_tsv" in set(indexes)
    catalog.close()
