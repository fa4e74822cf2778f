"""The meaning classifier: learns what tells guides apart where their cosines barely differ."""

from __future__ import annotations

import numpy as np

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
