"""Ranking hits: BM25 within tiers of the newest matches, the same on every backend.

Ranking every match of a common word means scoring hundreds of thousands of segments for each
query (FTS5's ``bm25()`` and PostgreSQL's ``ts_rank_cd`` both do), and a phrase's document
frequency alone means intersecting long position lists. So hits come in *tiers*: the first
tier is the query's newest ``tier`` matches, the next the ``tier`` before those, and so on;
within a tier, hits are ordered by BM25. A query that matches fewer segments than a tier (most
do: a name, a topic, a quoted phrase) is ranked over all its matches. Paging moves through the
tiers in order, so every match is reachable exactly once.

BM25 here is the usual one (k1 = 1.2, b = 0.75), with these choices:

- term frequency is counted in the segment's text (whole words, any case), and its length in
  words as spaces separate them: an exact tokenization costs more than the ranking it feeds;
- a query of one term needs no IDF (it scales every score alike); for several terms the
  document frequency of each word is counted in the index up to ``DF_CAP`` (more than that is
  "very common", and such words weigh the same), and a phrase weighs the sum of its words'
  IDFs, as Lucene scores phrases;
- the average length is the tier's own: segments are caption cues of a few seconds, so a
  tier's mean is a good estimate of the collection's, and needs no global statistics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from stoa.search.query import Query, Term

K1 = 1.2
B = 0.75
TIER = 500
DF_CAP = 10_000


def idf(documents: int, frequency: int) -> float:
    """BM25's inverse document frequency (the non-negative form Lucene uses)."""
    frequency = min(frequency, documents)
    return math.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))


def _pattern(term: Term) -> re.Pattern[str]:
    """The term as a regular expression over text: whole words, in order, any case."""
    body = r"\W+".join(re.escape(w) for w in term.words)
    return re.compile(r"\b" + body + (r"\w*" if term.prefix else r"\b"), re.IGNORECASE)


class Scorer:
    """BM25 of one query's terms, given each term's weight (its IDF)."""

    def __init__(self, query: Query, weights: Sequence[float]) -> None:
        self._terms = list(zip((_pattern(t) for t in query.terms), weights, strict=True))

    def rank(self, tier: Sequence[tuple[int, str]]) -> list[tuple[int, float]]:
        """``(id, text)`` pairs, newest first, as ``(id, score)`` best first.

        Equal scores keep the newer segment first.
        """
        if not tier:
            return []
        lengths = [text.count(" ") + 1 for _, text in tier]
        average = sum(lengths) / len(lengths)
        scored = []
        for (id_, text), length in zip(tier, lengths, strict=True):
            norm = K1 * (1 - B + B * length / average)
            score = 0.0
            for pattern, weight in self._terms:
                # The index matched it, so at least once; the regex may see fewer where the
                # index's case folding goes beyond Python's.
                tf = len(pattern.findall(text)) or 1
                score += weight * tf * (K1 + 1) / (tf + norm)
            scored.append((id_, score))
        scored.sort(key=lambda hit: -hit[1])  # stable: ties stay newest first
        return scored
