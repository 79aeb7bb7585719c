"""Search queries as people type them, turned into something no backend can misread.

A query is words, "quoted phrases" and prefixes (``trans*``); every part must match. Nothing
else has a meaning: operators (``OR``, ``NEAR``, ``AND``, ``-``), parentheses, colons and
stray quotes are just text, split into words like any other. Each backend writes its own
syntax from the parsed terms, quoting every word, so a query can never break it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stoa.errors import InvalidQuery

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
MIN_PREFIX = 3
"""Letters a prefix needs: ``a*`` would be every word starting with a, thousands of them."""
# Words as both SQLite's unicode61 tokenizer and PostgreSQL's "simple" parser see them.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PART = re.compile(r'"([^"]*)"|(\S+)')


@dataclass(frozen=True)
class Term:
    """A word (maybe a prefix) or a phrase of words in order."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    text: str

    @property
    def words(self) -> set[str]:
        return {w for t in self.terms for w in t.words}


def words(text: str) -> list[str]:
    # lower(), not casefold(): PostgreSQL's simple dictionary lowercases, and both must agree.
    return [w.lower() for w in _WORD.findall(text)]


def parse(text: str) -> Query:
    """The terms of a query; `InvalidQuery` (a 400) when it has no word to look for."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the query is longer than {MAX_QUERY_CHARS} characters")
    terms: list[Term] = []
    for quoted, bare in _PART.findall(text):
        if quoted:
            found = words(quoted)
            if found:
                terms.append(Term(tuple(found)))
            continue
        prefix = bare.endswith("*") and len(bare.rstrip("*")) > 0
        found = words(bare)
        if not found:
            continue
        # "foo-bar*" is the words foo and bar*, as the index split them.
        terms.extend(Term((w,)) for w in found[:-1])
        last = found[-1]
        prefix = prefix and _WORD.fullmatch(last) is not None
        if prefix and len(last) < MIN_PREFIX:
            raise InvalidQuery(
                f"a prefix needs at least {MIN_PREFIX} letters: {last}* is too short"
            )
        terms.append(Term((last,), prefix=prefix))
    if not terms:
        raise InvalidQuery("type at least one word to search for")
    if len(terms) > MAX_TERMS:
        raise InvalidQuery(f"a query has at most {MAX_TERMS} words or phrases")
    return Query(tuple(terms), text)
