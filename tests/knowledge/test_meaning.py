"""The meaning classifier: learns what tells guides apart where their cosines barely differ, and when it is used."""

from __future__ import annotations

import numpy as np

from knowledge.dense import DenseIndex, EmbeddingCache
from knowledge.meaning import MeaningClassifier


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _examples() -> tuple[np.ndarray, np.ndarray]:
    """Two items whose lines share a strong template direction (axis 0) and differ in a weak one each."""
    rng = np.random.default_rng(7)
    vectors, labels = [], []
    for item, axis in ((0, 1), (1, 2)):
        for _ in range(12):
            v = np.zeros(8)
            v[0] = 1.0  # "要办什么证": in every line
            v[axis] = 0.25
            v[3:] = rng.normal(scale=0.05, size=5)
            vectors.append(_unit(v))
            labels.append(item)
    return np.array(vectors), np.array(labels)


def test_a_weak_distinguishing_direction_becomes_a_clear_probability() -> None:
    vectors, labels = _examples()
    classifier = MeaningClassifier(vectors, labels, n_items=2)
    question = _unit(np.array([1.0, 0.2, 0.1, 0, 0, 0, 0, 0]))  # the template, leaning to item 0
    centroids = [_unit(vectors[labels == i].mean(axis=0)) for i in (0, 1)]
    cosines = [float(c @ question) for c in centroids]
    assert 0 < cosines[0] - cosines[1] < 0.03  # by cosine, hardly a lead
    probabilities = classifier.probabilities(question)
    assert abs(probabilities.sum() - 1.0) < 1e-9
    assert probabilities[0] > 0.8


def test_an_item_without_examples_gets_no_probability() -> None:
    vectors, labels = _examples()
    classifier = MeaningClassifier(vectors, labels, n_items=3)  # item 2 has no example
    probabilities = classifier.probabilities(vectors[0])
    assert probabilities.shape == (3,) and probabilities[2] == 0.0


def test_a_single_item_gives_no_evidence_for_anything() -> None:
    """With nothing to tell apart, the classifier must not vouch for the only item (it would answer anything)."""
    vectors, labels = _examples()
    only = labels == 0
    classifier = MeaningClassifier(vectors[only], labels[only], n_items=1)
    assert classifier.probabilities(vectors[0]).tolist() == [0.0]


class TopicEmbedder:
    """A stand-in for the e5 model: a text's vector counts the topics it mentions."""

    tag = "topics"
    topics = ("废水", "工人", "渣土", "香烟")

    def _vector(self, text: str) -> np.ndarray:
        return np.array([text.count(t) for t in self.topics] + [0.1], dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def passage(self, text: str) -> np.ndarray:
        return self._vector(text)


def _index(
    passages: list[tuple[str, str]], situations: list[tuple[str, str]], groups: dict[str, str] | None = None
) -> DenseIndex:
    return DenseIndex(passages, TopicEmbedder(), EmbeddingCache(None), situations, groups)


def test_the_classifier_is_used_from_half_the_guides_taught_and_two_items() -> None:
    passages = [("P", "排污 废水"), ("W", "社保 工人"), ("Z", "渣土"), ("T", "香烟")]
    two_taught = [("P", "车间废水要排"), ("W", "新来的工人")]
    one_taught = [("P", "车间废水要排")]
    assert _index(passages, two_taught).learnt  # 2 of 4
    assert not _index(passages, one_taught).learnt  # 1 of 4: cosines answer
    assert not _index(passages, one_taught).meaning("废水").probabilities
    # one guide, however well taught, has nothing to be told apart from: it must not vouch for itself
    alone = _index([("P", "排污 废水")], [("P", "车间废水要排"), ("P", "废水处理")])
    assert not alone.learnt and alone.classify("废水").hits == []


def test_regional_copies_of_one_item_share_its_probability_and_its_cosine() -> None:
    """Two districts' copies of 排污许可 are one answer to "废水": they must not halve each other's probability."""
    passages = [("P-east", "排污 废水"), ("P-west", "排污 废水"), ("W", "社保 工人"), ("Z", "渣土")]
    lines = [(g, "车间的废水要往外排") for g in ("P-east", "P-west")] + [
        ("W", "新来的工人"),
        ("Z", "拆房的渣土"),
    ]
    groups = {"P-east": "排污许可", "P-west": "排污许可", "W": "社保", "Z": "渣土"}
    grouped = _index(passages, lines, groups)
    ranking = grouped.classify("厂里的废水", top_k=4)
    firsts = [h.guide_id[:1] for h in ranking.hits]
    assert firsts[0] == "P" and sorted(firsts) == ["P", "W", "Z"]  # one hit for the two copies
    split = _index(passages, lines).classify("厂里的废水", top_k=4)
    assert ranking.hits[0].score > split.hits[0].score + 0.2  # not halved between the copies
    by_cosine = [h.guide_id[:1] for h in grouped.rank("厂里的废水", top_k=4).hits]
    assert by_cosine[0] == "P" and sorted(by_cosine) == ["P", "W", "Z"]
    # either copy's score is the item's: the answering code may hold the copy the ranking did not name
    first = ranking.hits[0]
    other = "P-west" if first.guide_id == "P-east" else "P-east"
    assert grouped.item_score(ranking, other) == grouped.item_score(ranking, first.guide_id) == first.score
    assert grouped.item_score(ranking, "no-such-guide") == 0.0
