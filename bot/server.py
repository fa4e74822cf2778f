"""`rasa`, with custom actions run in-process and their responses validated by a schema validator built once.

In-process actions: see bot/inprocess_actions.py (``actions_module`` in endpoints.yml).

Rasa 3.6 checks every action-server response with ``jsonschema.validate(result, schema)``
(``RemoteAction._validate_action_result``). That call first re-validates the
schema itself against the JSON-Schema meta-schema, on every action call: about
half of the assistant's time per message under load (profiled with cProfile on the
REST webhook). Here the schema is checked once at start-up and responses are
validated with the same validator class, so a malformed response is still refused
exactly as before.

Usage: ``python -m bot.server run --model models/butler.tar.gz …`` (the arguments of ``rasa``).
"""

from __future__ import annotations

import sys
from typing import Any


def compile_action_response_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, make sure your response from the "
                f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def main() -> None:
    from bot.inprocess_actions import use_inprocess_actions

    compile_action_response_validation()
    use_inprocess_actions()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
