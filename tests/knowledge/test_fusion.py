"""Words and meaning in one order: the names' order stands when they decide, else the two are fused."""

from __future__ import annotations

import numpy as np

from knowledge.dense import DenseIndex, EmbeddingCache
from knowledge.fusion import fuse, fused_order, in_fused_order, item_ranking
from knowledge.search import GuideEntry, GuideIndex, Hit, SearchResult
from knowledge.synonyms import SynonymTable

TOPICS = ("废水", "工人", "渣土")


class TopicEmbedder:
    """A stand-in for the e5 model: a question's vector counts the topics it mentions (废水, 工人, 渣土)."""

    tag = "topics"

    def _vector(self, text: str) -> np.ndarray:
        return np.array([text.count(t) for t in TOPICS] + [0.1], dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def passage(self, text: str) -> np.ndarray:
        return self._vector(text)


def test_an_item_both_rankings_place_high_wins() -> None:
    assert fuse(["A", "B", "C"], ["B", "D"]) == ["B", "A", "D", "C"]
    assert fuse(["A", "B"], ["B", "A"]) == ["A", "B"]  # a tie keeps the first ranking's order
    assert fuse() == []


def test_the_names_order_stands_when_they_decide() -> None:
    decided = SearchResult(hits=[], confidence=1.0, margin=1.0, content="排污许可", mentioned=["P"])
    assert fused_order(decided, ["X", "Y"]) == []
    undecided = SearchResult(hits=[], confidence=0.1, margin=0.0, content="x")
    assert fused_order(undecided, ["X", "Y"]) == ["X", "Y"]


def _entries() -> list[GuideEntry]:
    return [
        GuideEntry("P", "排污许可证核发", text="车间废水排放口"),
        GuideEntry("S", "单位社会保险参保登记", text="新招工人参保"),
        GuideEntry("J", "建筑垃圾处置核准", text="拆除工程渣土运输"),
    ]


def _dense(tmp_path: object) -> DenseIndex:
    passages = [(e.id, e.text) for e in _entries()]
    return DenseIndex(passages, TopicEmbedder(), EmbeddingCache(None))


def test_meaning_adds_what_the_words_missed_unless_the_names_decide(tmp_path: object) -> None:
    index = GuideIndex(_entries(), SynonymTable.from_mapping({}))
    question = "新来的工人，工人要交的，还有废水"  # words: 工人 (S's text) and 废水 (P's text)
    words_only = item_ranking(index, None, question, top_k=3)
    fused = item_ranking(index, _dense(tmp_path), question, top_k=3)
    assert words_only == ["S", "P"]
    assert fused[:2] == ["S", "P"] and "J" in fused  # the meaning ranks every guide; J comes last
    named = "排污许可证核发要多久"
    assert item_ranking(index, _dense(tmp_path), named, top_k=3) == item_ranking(index, None, named, top_k=3)


def _hit(guide_id: str, score: float) -> Hit:
    return Hit(guide_id, f"事项{guide_id}", score, True, 0.2)


def test_the_offered_choices_are_the_close_ones_in_the_fused_order() -> None:
    hits = [_hit("P", 5.0), _hit("J", 4.0), _hit("S", 1.0)]
    close = hits[:2]
    assert in_fused_order(close, hits, [], 4) == close
    # meaning ranks S first: it joins the offer, in front; an order of unknown ids changes nothing
    assert [h.guide_id for h in in_fused_order(close, hits, ["S", "J", "P"], 4)] == ["S", "J", "P"]
    assert [h.guide_id for h in in_fused_order(close, hits, ["S", "J", "P"], 2)] == ["S", "P"]
    assert in_fused_order(close, hits, ["X"], 4) == close


def test_a_fused_order_ranks_an_item_both_place_high_first() -> None:
    words = SearchResult(
        hits=[_hit("P", 5.0), _hit("J", 4.0), _hit("S", 3.0)], confidence=0.2, margin=0.1, content="x"
    )
    assert fused_order(words, ["S", "X", "J", "P"])[0] == "S"
    assert fused_order(words, []) == ["P", "J", "S"]
