"""The compiled validation refuses exactly what Rasa's own validation refuses."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.server import compile_action_response_validation


def test_valid_and_invalid_action_responses() -> None:
    compile_action_response_validation()
    action = RemoteAction("action_answer_guide", None)
    good = {"events": [{"event": "slot", "name": "aspect", "value": "fee"}], "responses": [{"text": "好"}]}
    assert action._validate_action_result(good)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot", "name": 3}], "responses": "not a list"})
