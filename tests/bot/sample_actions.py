"""Three custom actions for the in-process action tests: one answers, one rejects, one fails."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection


class ActionEchoSample(Action):
    def name(self) -> str:
        return "action_echo_sample"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        dispatcher.utter_message(text=f"收到：{text}")
        dispatcher.utter_message(json_message={"kind": "echo", "sender": tracker.sender_id})
        return [SlotSet("topic", text)]


class ActionRejectSample(Action):
    def name(self) -> str:
        return "action_reject_sample"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        raise ActionExecutionRejection(self.name(), "不适用")


class ActionBrokenSample(Action):
    def name(self) -> str:
        return "action_broken_sample"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        raise RuntimeError("database is gone")
