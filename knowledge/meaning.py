"""Which guide a question means: a linear classifier over sentence vectors, learnt from the guides' own texts.

The encoder's cosines are compressed and shared wording pulls them together: every
guide has lines like "要办什么证", so "药店想卖血压计" is nearly as close to the
pharmacy licence as to the medical-device filing, and the best cosine leads by
0.001-0.015 on most paraphrases. A logistic regression over the same vectors
learns which directions tell the items apart (the goods, the trade, the event)
and which do not (the template). Its examples are the guides themselves: each
适用情形 line and each guide's passage is one example of its item. Nothing is
downloaded and nothing is written by hand per question; it is refitted at every
index build, in the background, so an administrator's new line counts at the
next rebuild without retraining Rasa.

Probabilities sum to one over the guides, so a question about something no guide
covers still gets a distribution; answering trusts it only with a clear lead (see
``Thresholds`` in answering.py and docs/nlu-pipeline.md for the calibration).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import numpy as np

log = logging.getLogger(__name__)

# weak regularisation: the examples are few per item (1-30) and the classes many. Chosen on
# bench/tuning with bench/devset.yaml (C = 10 declined most paraphrases, 1000 answered unanswerable ones).
REGULARISATION_C = 300.0
MAX_ITERATIONS = 1000


class MeaningClassifier:
    """Probability of each guide given a question vector; fitted once, read by every message."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray, n_items: int) -> None:
        """``vectors``: unit vectors of the examples; ``labels``: the index of each one's item (0..n_items-1)."""
        from sklearn.linear_model import LogisticRegression

        self._n_items = n_items
        self._model: LogisticRegression | None = None
        present = np.unique(labels)
        if len(present) < 2:  # one item (or none): nothing to tell apart, so no evidence for any
            return
        started = time.perf_counter()
        model = LogisticRegression(C=REGULARISATION_C, max_iter=MAX_ITERATIONS)
        # (no warnings.catch_warnings here: it swaps process-wide state, and this runs on the rebuild
        # thread while messages are answered; sklearn's ConvergenceWarning is reported as "converged")
        model.fit(vectors, labels)
        self._model = model
        log.info(
            "meaning classifier fitted",
            extra={
                "examples": int(len(labels)),
                "items": int(len(present)),
                "seconds": round(time.perf_counter() - started, 2),
                # not converged: still usable (the weights are the last iterate), worth knowing at scale
                "converged": bool((model.n_iter_ < MAX_ITERATIONS).all()),
            },
        )

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        """One probability per item, in the order of the labels; all 0 when there was nothing to learn."""
        result = np.zeros(self._n_items, dtype=np.float64)
        if self._model is not None:
            result[self._model.classes_] = self._model.predict_proba(vector.reshape(1, -1))[0]
        return result


class FittedClassifiers:
    """The last fits of one process, by a hash of their examples: a rebuild that changed no guide's
    vectors (a fee, a phone number, a catalogue import) reuses the fit instead of paying for it again
    (minutes at a thousand full guides, docs/nlu-pipeline.md)."""

    def __init__(self, keep: int = 2) -> None:
        self._keep = keep
        self._fits: dict[str, MeaningClassifier] = {}
        self._lock = threading.Lock()
        self.fitted = 0  # how many fits this cache had to make (the rest were reused)

    def get(self, vectors: np.ndarray, labels: np.ndarray, n_items: int) -> MeaningClassifier:
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
        digest.update(str(n_items).encode())
        key = digest.hexdigest()
        with self._lock:
            known = self._fits.get(key)
        if known is not None:
            return known
        classifier = MeaningClassifier(vectors, labels, n_items)
        with self._lock:
            self._fits[key] = classifier
            self.fitted += 1
            while len(self._fits) > self._keep:
                self._fits.pop(next(iter(self._fits)))
        return classifier
