"""The NLU component that gives complaints the ``file_appeal`` intent the classifier may miss.

DIET learns from short examples; a real complaint is two to four sentences
about one stuck matter and lands on a guide aspect, on ``ticket_status`` or on
the fallback. This component runs after the FallbackClassifier and applies
``bot.components.complaints.routed_intent``, the grievance structure that
generalises beyond the training sentences. It keeps the classifier's ranking
and records what it changed under ``complaint_route`` in the parse data.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.complaints import routed_intent
from bot.components.intent_change import change_intent

logger = logging.getLogger(__name__)

ROUTED_CONFIDENCE = 0.9  # above every policy threshold: the grievance structure decided
ROUTE_KEY = "complaint_route"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ComplaintRouter(GraphComponent, IntentClassifier):
    """Re-labels complaints as ``file_appeal`` and guide questions mistaken for appeals as guide intents."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ComplaintRouter:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            route(message)
        return messages


def route(message: Message) -> None:
    """Change the message's intent when ``routed_intent`` says so; the old one stays in the ranking."""
    predicted = message.get(INTENT) or {}
    intent = str(predicted.get(INTENT_NAME_KEY) or "")
    ranking: list[dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
    names = [str(entry.get(INTENT_NAME_KEY)) for entry in ranking]
    predicted_confidence = float(predicted.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    target = routed_intent(str(message.get(TEXT) or ""), intent, names, predicted_confidence)
    if target is None:
        return
    change_intent(message, target, max(predicted_confidence, ROUTED_CONFIDENCE), ROUTE_KEY)
    logger.debug("nlu.complaint_route from=%s to=%s", intent, target)
