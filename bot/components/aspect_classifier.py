"""The NLU component that decides which aspect of a guide a question asks for.

DIET decides whether a message is a guide question, an appeal, small talk…; it
also names the aspect (``ask_materials``, ``ask_time_limit``, …), but learnt it
from some 770 short sentences of our own. Teaching DIET the 3,000 questions
written blind the way enterprises and citizens ask (``bot/aspect_examples``,
written by bench/teach_nlu.py) made it surer that a long story is a question,
and real citizens' complaints stopped starting the appeal flow (MSGABench
情感分类 77%; docs/nlu-pipeline.md). So the aspect gets its own classifier:
a linear model over character n-grams, trained on the guide intents'
examples and those questions. It only re-labels a message DIET and the complaint
router already made a guide question, so it cannot move an appeal.

The weights are stored as arrays and a vocabulary, not a pickle, and applied with
numpy: about 0.2 ms per message. It must run after the FallbackClassifier and the
complaint router (``config.yml``), so that it sees only their final guide questions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intent_change import change_intent
from knowledge.text import normalize

logger = logging.getLogger(__name__)

ASPECT_PREFIX = "ask_"
RELABEL_KEY = "aspect_classifier"
NGRAMS = (1, 3)  # character n-grams inside word boundaries, as the CountVectorsFeaturizer's
WEIGHTS_FILE = "aspect_weights.npz"
VOCABULARY_FILE = "aspect_vocabulary.json"


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True)


def read_examples(directory: Path) -> list[tuple[str, str]]:
    """(text, intent) of every ``ask_*`` example in the Rasa NLU files of ``directory``."""
    import yaml

    examples: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            intent = str(block.get("intent") or "")
            if not intent.startswith(ASPECT_PREFIX):
                continue
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    examples.append((line.strip()[2:], intent))
    return examples


class AspectModel:
    """Sublinear tf-idf over character n-grams, then one linear score per aspect intent."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        idf: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        classes: list[str],
    ) -> None:
        self.vocabulary = vocabulary
        self.idf = idf
        self.coef = coef
        self.intercept = intercept
        self.classes = classes
        self._analyze = _vectorizer().build_analyzer()

    @classmethod
    def fit(cls, examples: list[tuple[str, str]], c: float) -> AspectModel:
        from sklearn.linear_model import LogisticRegression

        texts = [normalize(text) for text, _ in examples]
        labels = [intent for _, intent in examples]
        vectorizer = _vectorizer()
        features = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=c, max_iter=3000).fit(features, labels)
        vocabulary = {str(gram): int(index) for gram, index in vectorizer.vocabulary_.items()}
        return cls(
            vocabulary, vectorizer.idf_, model.coef_, model.intercept_, [str(x) for x in model.classes_]
        )

    def scores(self, text: str) -> np.ndarray | None:
        """One score per class, as sklearn's ``decision_function`` (a two-class model has one, for the
        second class); ``None`` when the text has no n-gram the model knows."""
        counts: dict[int, int] = {}
        for gram in self._analyze(normalize(text)):
            index = self.vocabulary.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return None
        indices = np.fromiter(counts, dtype=int)
        weights = np.array([1.0 + math.log(counts[i]) for i in indices]) * self.idf[indices]
        weights /= np.linalg.norm(weights)
        return np.asarray(self.coef[:, indices] @ weights + self.intercept, dtype=float)

    def predict(self, text: str) -> str | None:
        """The aspect intent, or ``None`` for a text the model cannot read (DIET's stands)."""
        scores = self.scores(text)
        if scores is None:
            return None
        if len(scores) == 1:  # two classes: a positive score is the second
            return self.classes[int(scores[0] > 0)]
        return self.classes[int(np.argmax(scores))]

    def save(self, directory: Path) -> None:
        np.savez(directory / WEIGHTS_FILE, idf=self.idf, coef=self.coef, intercept=self.intercept)
        payload = {"vocabulary": self.vocabulary, "classes": self.classes}
        (directory / VOCABULARY_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> AspectModel:
        payload = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
            idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        return cls(payload["vocabulary"], idf, coef, intercept, payload["classes"])


class AspectModelUnreadable(RuntimeError):
    """The trained model's files are there but cannot be read: a broken model must not pass as untrained."""


def _examples_directory(config: dict[str, Any]) -> Path | None:
    """The configured examples directory; a path set but missing is an error, not an empty directory."""
    path = config.get("examples_path")
    if not path:
        return None
    if not Path(path).is_dir():
        raise ValueError(
            f"AspectClassifier examples_path {path!r} is not a directory (relative to {Path.cwd()})"
        )
    return Path(path)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class AspectClassifier(GraphComponent, IntentClassifier):
    """Re-labels a guide question's ``ask_*`` intent with the aspect its own classifier reads."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # examples_path: a directory of NLU files with ask_* examples learnt by this component only;
        # c: the logistic regression's inverse regularisation (chosen on the tuning sets, docs/nlu-pipeline.md)
        return {"examples_path": None, "c": 5.0}

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when the example files change: the graph does not see them."""
        path = _examples_directory(config)
        if path is None:
            return None
        digest = hashlib.sha256()
        for file in sorted(path.glob("*.yml")):
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
        return digest.hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: AspectModel | None = None,
    ) -> None:
        self._config = config
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AspectClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AspectClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                try:
                    model = AspectModel.load(directory)
                except (OSError, ValueError, KeyError) as error:
                    raise AspectModelUnreadable(f"aspect classifier files in {directory}: {error}") from error
        except ValueError:  # the storage has no such resource: trained with too few aspects to tell apart
            logger.warning("nlu.aspect_classifier.not_trained: DIET's aspect is kept")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (str(example.get(TEXT)), str(example.get(INTENT)))
            for example in training_data.intent_examples
            if str(example.get(INTENT) or "").startswith(ASPECT_PREFIX)
        ]
        directory = _examples_directory(self._config)
        if directory is not None:
            examples += read_examples(directory)
        if len({intent for _, intent in examples}) < 2:
            return self._resource  # nothing to tell apart: DIET's aspect stands
        self._model = AspectModel.fit(examples, float(self._config["c"]))
        with self._model_storage.write_to(self._resource) as directory:
            self._model.save(directory)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        for message in messages:
            relabel(message, self._model)
        return messages


def relabel(message: Message, model: AspectModel) -> None:
    """Give a guide question the aspect ``model`` reads, keeping DIET's confidence; the old intent
    is recorded under ``aspect_classifier``."""
    predicted = message.get(INTENT) or {}
    intent = str(predicted.get(INTENT_NAME_KEY) or "")
    if not intent.startswith(ASPECT_PREFIX):
        return
    aspect = model.predict(str(message.get(TEXT) or ""))
    if aspect is None or aspect == intent:
        return
    change_intent(message, aspect, predicted.get(PREDICTED_CONFIDENCE_KEY), RELABEL_KEY)
    logger.debug("nlu.aspect_classifier from=%s to=%s", intent, aspect)
