"""Change a parsed message's intent after the classifier, the way every component here does it."""

from __future__ import annotations

from typing import Any

from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message


def change_intent(message: Message, target: str, confidence: Any, record_key: str) -> None:
    """Make ``target`` the intent, first in the ranking (the classifier's own entries stay below it), and
    record under ``record_key`` which intent it replaced, so the parse data says what changed."""
    previous = str((message.get(INTENT) or {}).get(INTENT_NAME_KEY) or "")
    chosen = {INTENT_NAME_KEY: target, PREDICTED_CONFIDENCE_KEY: confidence}
    message.set(INTENT, chosen, add_to_output=True)
    rest = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get(INTENT_NAME_KEY) != target]
    message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)
    message.set(record_key, {"from": previous, "to": target}, add_to_output=True)
