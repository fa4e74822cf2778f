"""A second look at the item the words picked: one score from the words and the meaning together.

The answering rules (``knowledge/answering.py``) let the words decide when they
explain most of a question, and the meaning overrule them only when it is far
surer of another item. Between the two, the words pick by a shared word:
"年报没报被弄成异常了，咋弄出来" shares 年报 with 企业年度报告公示 but means
移出经营异常名录, which the meaning prefers without being sure enough to overrule.

This scorer weighs both for each candidate item (the words' top hits and the
meaning's top guides): a logistic model over ten features, fitted on the tuning
sets by ``bench/fit_item_scorer.py``, which prints the coefficients below. Only
when it is sure of another item (``SWAP_PROBABILITY``) does the answer change;
docs/nlu-pipeline.md has the measurements, including the uses of it that lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from knowledge.dense import DenseRanking
from knowledge.search import Hit, SearchResult

CANDIDATES_PER_SIDE = 5  # the words' and the meaning's top items scored
# fitted by bench/fit_item_scorer.py on bench/tuning/*.yaml and bench/devset.yaml (never bench/heldout),
# each set asked of guides stripped of the questions bench/teach_demo.py taught them from it
INTERCEPT = -8.0500
COEFFICIENTS: tuple[float, ...] = (
    1.864,
    0.4485,
    0.4243,
    -0.3433,
    5.3297,
    -0.2115,
    4.0188,
    1.7899,
    -0.2119,
    -1.9877,
)
# chosen by leaving one tuning set out at a time (fourteen sets): at 0.6, 64 wrong picks right and 8 right
# ones wrong; 0.5 rights 72 and spoils 9, 0.4 rights 80 and spoils 10, 0.3 rights 82 and spoils 11. Below
# 0.6 "厂里打井要办啥证", whose words 取水许可 explains in full, went to 食品生产许可证核发 at 0.55: the
# template "厂里…要办啥证" outweighed its one content word
SWAP_PROBABILITY = 0.6

FEATURES: tuple[str, ...] = (
    "words score / best words score",
    "the words' best",
    "share of the question the item's words explain",
    "named verbatim",
    "meaning probability",
    "the meaning's best",
    "meaning probability / best meaning probability",
    "share of the question the best item explains",
    "words margin",
    "share explained x meaning probability",
)


@dataclass(frozen=True)
class Candidate:
    """An item the question may be about: the guide id that would answer, its name, its features."""

    guide_id: str
    name: str
    features: tuple[float, ...]


def candidates(
    result: SearchResult, ranking: DenseRanking, name_of: Callable[[str], str | None]
) -> list[Candidate]:
    """The items worth scoring, each with its features (in the order of ``FEATURES``); one per name.

    The words' top 5 hits and the meaning's top 5 guides, a regional copy being its
    item (so fewer than ten when both sides agree, or the words list copies).

    ``ranking`` holds the classifier's probabilities over every guide;
    ``name_of`` gives a guide id's name (None: not a full guide).
    """
    words = [hit for hit in result.hits if hit.has_guide]
    best_words = words[0].score if words and words[0].score > 0 else 1.0
    by_name: dict[str, Hit] = {}
    for word_hit in words:
        by_name.setdefault(word_hit.name, word_hit)
    chance: dict[str, float] = {}
    meaning_ids: dict[str, str] = {}
    for dense_hit in ranking.hits:
        name = name_of(dense_hit.guide_id)
        if name is not None and name not in chance:
            chance[name] = dense_hit.score
            meaning_ids[name] = dense_hit.guide_id
    meaning_order = list(chance)
    best_meaning = chance[meaning_order[0]] if meaning_order else 0.0
    names = list(
        dict.fromkeys([h.name for h in words[:CANDIDATES_PER_SIDE]] + meaning_order[:CANDIDATES_PER_SIDE])
    )
    scored = []
    for name in names:
        found = by_name.get(name)
        meaning = chance.get(name, 0.0)
        explained = found.confidence if found else 0.0
        features = (
            found.score / best_words if found else 0.0,
            float(bool(words) and words[0].name == name),
            explained,
            float(found is not None and found.guide_id in result.mentioned),
            meaning,
            float(bool(meaning_order) and meaning_order[0] == name),
            meaning / best_meaning if best_meaning > 0 else 0.0,
            result.confidence,
            result.margin,
            explained * meaning,
        )
        scored.append(Candidate(found.guide_id if found else meaning_ids[name], name, features))
    return scored


def probability(features: Sequence[float]) -> float:
    """The model's probability that the candidate is the item the question is about."""
    z = INTERCEPT + sum(c * f for c, f in zip(COEFFICIENTS, features, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def likeliest(scored: Sequence[Candidate]) -> tuple[Candidate, float] | None:
    """The best-scored candidate and its probability; None when there is none."""
    if not scored:
        return None
    return max(((c, probability(c.features)) for c in scored), key=lambda pair: pair[1])
