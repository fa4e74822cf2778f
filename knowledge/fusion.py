"""One order of the items a question may be about, from its words and its meaning together.

The words (``GuideIndex.search``: names, then the guides' own text) are precise
when they settle a question, and then their order stands. When they leave it
undecided, the dense model's order (``DenseIndex.rank``) is fused with theirs by
reciprocal-rank fusion: each ranking gives an item 1 / (k + rank), with k = 60,
the constant of Cormack et al. (2009), not tuned here. On MSGABench 政务问答
(docs/benchmarks.md) the fused order beats the words alone and plain char-BM25,
and the dense order alone beats it; but on the demo guides the dense model's
cosines are too compressed to answer on (docs/nlu-pipeline.md), so the answer
path uses the fused order only to order the items it offers to choose from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from knowledge.dense import DenseIndex
from knowledge.search import GuideIndex, Hit, SearchResult, decided_by_names

H = TypeVar("H", bound=Hit)
RRF_K = 60
DEPTH = 20  # how deep each ranking is read


def fuse(*rankings: Sequence[str], k: int = RRF_K) -> list[str]:
    """Items of all rankings, ordered by the sum of 1 / (k + rank); ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


def fused_order(result: SearchResult, meaning: Sequence[str]) -> list[str]:
    """The words' order when the names decide, else the words and ``meaning`` (dense ids, best first) fused."""
    words = [hit.guide_id for hit in result.hits]
    if decided_by_names(result) or not meaning:
        return words
    return fuse(words, meaning)


def item_ranking(index: GuideIndex, dense: DenseIndex | None, question: str, top_k: int = 5) -> list[str]:
    """The ``top_k`` items a question is most likely about, best first (``question`` as typed)."""
    result = index.search(question, top_k=DEPTH)
    meaning = (
        [hit.guide_id for hit in dense.rank(question, top_k=DEPTH).hits]
        if dense is not None and not decided_by_names(result)
        else []
    )
    return fused_order(result, meaning)[:top_k]


def in_fused_order(close: Sequence[H], hits: Sequence[H], order: Sequence[str], limit: int) -> list[H]:
    """The hits to offer: those ``close`` to the best, with the fused order's first hit added, in that order.

    The words decide which items are close enough to offer; the fused order adds
    the item it ranks first when the words found it too but scored it lower, and
    puts the likeliest first. Without an order the close hits stay as they are.
    """
    if not order:
        return list(close)
    position = {guide_id: n for n, guide_id in enumerate(order)}
    first = next((h for h in hits if h.guide_id == order[0]), None)
    chosen = list(close) if first is None or first in close else [first, *close][:limit]
    return sorted(chosen, key=lambda h: position.get(h.guide_id, len(position)))
