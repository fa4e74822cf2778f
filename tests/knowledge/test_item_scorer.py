"""The item scorer's candidates and features: what it weighs, on hand-made search results."""

from __future__ import annotations

from knowledge.dense import DenseHit, DenseRanking
from knowledge.item_scorer import COEFFICIENTS, FEATURES, candidates, likeliest, probability
from knowledge.search import Hit, SearchResult

NAMES = {"A1": "甲证", "A2": "甲证", "B": "乙证", "C": "丙证"}


def result(hits: list[Hit], mentioned: list[str] | None = None) -> SearchResult:
    return SearchResult(hits=hits, confidence=0.6, margin=0.3, content="问题", mentioned=mentioned or [])


def test_each_item_is_one_candidate_with_its_words_and_its_meaning() -> None:
    words = result(
        [Hit("A1", "甲证", 10.0, True, 0.6), Hit("B", "乙证", 5.0, True, 0.3), Hit("X", "名录项", 4.0, False)]
    )
    meaning = DenseRanking([DenseHit("B", 0.7), DenseHit("A2", 0.2), DenseHit("C", 0.1)], probabilities=True)
    scored = {c.name: c for c in candidates(words, meaning, NAMES.get)}
    assert set(scored) == {
        "甲证",
        "乙证",
        "丙证",
    }  # a regional copy (A2) is its item; a name-only entry is no candidate
    assert scored["甲证"].guide_id == "A1"  # the words' copy answers
    assert scored["丙证"].guide_id == "C"  # found by the meaning alone
    a, b, c = (dict(zip(FEATURES, scored[n].features, strict=True)) for n in ("甲证", "乙证", "丙证"))
    assert (a["words score / best words score"], a["the words' best"], a["meaning probability"]) == (
        1.0,
        1.0,
        0.2,
    )
    assert (b["words score / best words score"], b["the meaning's best"]) == (0.5, 1.0)
    assert b["meaning probability / best meaning probability"] == 1.0
    assert (c["words score / best words score"], c["share of the question the item's words explain"]) == (
        0.0,
        0.0,
    )


def test_the_likeliest_follows_the_meaning_only_when_it_is_clearly_surer() -> None:
    """The words favour 甲证 by far: a slight lean of the meaning to 乙证 does not move it, a sure one does."""
    words = result([Hit("A1", "甲证", 10.0, True, 0.6), Hit("B", "乙证", 4.0, True, 0.2)])
    leaning = DenseRanking([DenseHit("B", 0.35), DenseHit("A1", 0.3)], probabilities=True)
    sure = DenseRanking([DenseHit("B", 0.9), DenseHit("A1", 0.05)], probabilities=True)
    best_leaning = likeliest(candidates(words, leaning, NAMES.get))
    best_sure = likeliest(candidates(words, sure, NAMES.get))
    assert best_leaning is not None and best_leaning[0].name == "甲证"
    assert best_sure is not None and best_sure[0].name == "乙证" and best_sure[1] > 0.5
    assert likeliest([]) is None


def test_probability_rises_with_the_meaning() -> None:
    low = (1.0, 1.0, 0.6, 0.0, 0.1, 0.0, 0.2, 0.6, 0.3, 0.06)
    high = (1.0, 1.0, 0.6, 0.0, 0.8, 1.0, 1.0, 0.6, 0.3, 0.48)
    assert probability(high) > probability(low)


def test_there_is_one_coefficient_per_feature() -> None:
    assert len(COEFFICIENTS) == len(FEATURES)
