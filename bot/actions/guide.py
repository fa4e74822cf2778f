"""Answering guide questions (办事咨询) in the chat.

The answer comes from the guide of the enterprise's own district when the
gateway vouches for the enterprise (its registered region), else from the
district the user picked on a ``choose_region`` button, else the city's. A
question that also complains ("要什么材料？跑了三趟都说缺东西") gets the answer
and an offer to file the complaint as an appeal, with the message kept as its
description.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from appeals.chat import chat_region
from bot.actions.reading import clean, entity, intent_of, text_of
from bot.actions.services import get_services
from bot.actions.slots import OFFERED_DESCRIPTION, REGION, caller_of
from bot.components.complaints import offers_appeal
from knowledge.answering import Context, Reply

# replies that are about one item: the next question may follow up on it
REMEMBERED_KINDS = frozenset({"guide", "choose_region"})
OFFER_TEXT = "听起来您在办理中遇到了困难。如果需要，可以把刚才的情况登记为诉求，由您的企业管家跟进协调。"
OFFER_BUTTON = {"title": "反映问题", "payload": "/file_appeal"}
NO_ITEM_FOR_REGION = (
    "好的，已记下您选择的区县：{region}。请问您想咨询哪个事项？例如：“食品经营许可证在哪里办？”"
)


def utter_reply(
    dispatcher: CollectingDispatcher, reply: Reply, tracker: Tracker | None = None
) -> list[EventType]:
    """Send the readable text (with buttons) and the machine-readable card; remember the item.

    Only slots whose value changes are set: a follow-up on the same item adds no
    events, so the conversation's recent window holds more turns. A question back
    about the district remembers the item too, so the chosen district answers it.
    """
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
    dispatcher.utter_message(json_message=reply.custom)
    if reply.kind not in REMEMBERED_KINDS:
        return []
    remembered = {"guide_id": reply.guide_id, "guide_name": reply.guide_name, "aspect": reply.aspect}
    return [
        SlotSet(slot, value)
        for slot, value in remembered.items()
        if tracker is None or tracker.get_slot(slot) != value
    ]


def region_of(tracker: Tracker) -> str | None:
    """The district whose guide answers: the verified enterprise's region, else the one the user chose."""
    services = get_services()
    verified = chat_region(services.session_factory, caller_of(tracker), settings=services.appeals)
    return verified or clean(tracker.get_slot(REGION)) or None


def offer_appeal(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
    """After answering a question that also complains or tells of a stuck or failed matter, offer to
    file it (the text is kept).

    An answer without the offer forgets an earlier one, so an old button files nothing stale.
    """
    if text.startswith("/") or not offers_appeal(text):
        return [SlotSet(OFFERED_DESCRIPTION, None)] if tracker.get_slot(OFFERED_DESCRIPTION) else []
    dispatcher.utter_message(text=OFFER_TEXT, buttons=[OFFER_BUTTON])
    return [] if tracker.get_slot(OFFERED_DESCRIPTION) == text else [SlotSet(OFFERED_DESCRIPTION, text)]


class ActionAnswerGuide(Action):
    def name(self) -> str:
        return "action_answer_guide"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent, confidence = intent_of(tracker)
        guides = get_services().guides
        if intent == "choose_guide" and entity(tracker, "guide_id"):
            chosen = guides.reply_chosen(
                str(entity(tracker, "guide_id")), entity(tracker, "aspect"), region=region_of(tracker)
            )
            if chosen is not None:
                return utter_reply(dispatcher, chosen, tracker)
        if intent == "choose_region":
            return self._answer_in_region(dispatcher, tracker)
        text = text_of(tracker)
        reply = guides.reply(
            text,
            intent=intent,
            intent_confidence=confidence,
            context=Context(tracker.get_slot("guide_id"), tracker.get_slot("aspect")),
            sender_id=tracker.sender_id,
            region=region_of(tracker),
        )
        return [*utter_reply(dispatcher, reply, tracker), *offer_appeal(dispatcher, tracker, text)]

    def _answer_in_region(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """The item under discussion answered again from the chosen district's guide."""
        region = clean(entity(tracker, "region") or tracker.get_slot(REGION))
        guide_id = tracker.get_slot("guide_id")
        chosen = (
            get_services().guides.reply_chosen(
                str(guide_id), tracker.get_slot("aspect"), region=region or None
            )
            if guide_id
            else None
        )
        if chosen is None:
            dispatcher.utter_message(text=NO_ITEM_FOR_REGION.format(region=region or "未指定"))
            return []
        return utter_reply(dispatcher, chosen, tracker)
