"""Answering guide questions (办事咨询) in the chat."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.services import get_services
from knowledge.answering import Context, Reply


def utter_reply(
    dispatcher: CollectingDispatcher, reply: Reply, tracker: Tracker | None = None
) -> list[EventType]:
    """Send the readable text (with buttons) and the machine-readable card; remember the item.

    Only slots whose value changes are set: a follow-up on the same item adds no
    events, so the conversation's recent window holds more turns.
    """
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
    dispatcher.utter_message(json_message=reply.custom)
    if reply.kind != "guide":
        return []
    remembered = {"guide_id": reply.guide_id, "guide_name": reply.guide_name, "aspect": reply.aspect}
    return [
        SlotSet(slot, value)
        for slot, value in remembered.items()
        if tracker is None or tracker.get_slot(slot) != value
    ]


class ActionAnswerGuide(Action):
    def name(self) -> str:
        return "action_answer_guide"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        guides = get_services().guides
        entities = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
        if intent.get("name") == "choose_guide" and entities.get("guide_id"):
            chosen = guides.reply_chosen(str(entities["guide_id"]), entities.get("aspect"))
            if chosen is not None:
                return utter_reply(dispatcher, chosen, tracker)
        reply = guides.reply(
            message.get("text") or "",
            intent=intent.get("name"),
            intent_confidence=float(intent.get("confidence") or 0.0),
            context=Context(tracker.get_slot("guide_id"), tracker.get_slot("aspect")),
            sender_id=tracker.sender_id,
        )
        return utter_reply(dispatcher, reply, tracker)
