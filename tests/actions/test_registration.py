"""The action server and the in-process endpoint find every action the domain names, once, in bot.actions."""

from __future__ import annotations

import inspect
from collections import Counter

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from tests.actions.appeal_world import DOMAIN


def test_every_custom_action_of_the_domain_is_registered_from_the_package() -> None:
    executor = ActionExecutor()
    executor.register_package("bot.actions")  # what `rasa run actions --actions bot.actions` does
    custom = {name for name in DOMAIN["actions"] if name.startswith(("action_", "validate_"))}
    assert custom <= set(executor.actions)
    ours = {
        name: run.__self__.__class__.__module__
        for name, run in executor.actions.items()
        if run.__self__.__class__.__module__.startswith("bot.actions.")
    }
    assert set(ours) == custom  # nothing registered that the domain does not know
    assert ours["action_submit_appeal"] == "bot.actions.appeal_form"
    assert ours["action_ticket_status"] == "bot.actions.ticket_status"
    assert ours["action_submit_rating"] == "bot.actions.ratings"


def test_no_two_action_classes_share_a_name() -> None:
    executor = ActionExecutor()
    executor.register_package("bot.actions")
    classes = {
        cls
        for cls in _subclasses(Action)
        if cls.__module__.startswith("bot.actions.") and not inspect.isabstract(cls)
    }
    names = Counter(cls().name() for cls in classes)
    assert [name for name, count in names.items() if count > 1] == []


def _subclasses(base: type) -> set[type]:
    found: set[type] = set()
    for sub in base.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found
