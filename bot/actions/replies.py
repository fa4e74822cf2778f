"""What the appeal actions say that more than one of them says: buttons, payloads, cards, the rating question.

Texts are Chinese and sent with the machine-readable cards of ``appeals.views``
(``ticket_card``, ``rating_card``) that the web chat and the WeChat channel render.
"""

from __future__ import annotations

import json

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from appeals.categories import CATEGORIES
from appeals.lifecycle import SCORES
from appeals.views import TicketPublic, rating_card, receipt_text, ticket_card
from bot.actions.reading import FIELD_LABELS
from bot.actions.slots import RATING_TICKET

Button = dict[str, str]

FIXED_ENTERPRISE = "企业由登录信息确定，如需更换请在小程序中切换企业。"
CONFIRM = {"title": "确认提交", "payload": "/affirm"}
CANCEL = {"title": "取消", "payload": "/cancel"}


def payload(intent: str, entities: dict[str, str]) -> str:
    """A button payload that triggers ``intent`` with ``entities``, bypassing NLU."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


def field_buttons() -> list[Button]:
    """One button per field the enterprise may correct, then confirm and cancel."""
    buttons = [
        {"title": label, "payload": payload("correct_field", {"appeal_field": field})}
        for field, label in FIELD_LABELS.items()
        if field != "appeal_enterprise"
    ]
    return [*buttons, CONFIRM, CANCEL]


def ask_which_field(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(text="请问需要修改哪一项？", buttons=field_buttons())


def ask_category(dispatcher: CollectingDispatcher, guess: str | None) -> None:
    """Offer the category guessed from the description first; without a guess, all of them."""
    if guess in CATEGORIES:
        others = [category for category in CATEGORIES if category != guess]
        dispatcher.utter_message(
            text=f"根据您的描述，类别应为「{guess}」，对吗？如果不对，请选择正确的类别。",
            buttons=[{"title": "对", "payload": "/affirm"}]
            + [{"title": category, "payload": category} for category in others],
        )
        return
    dispatcher.utter_message(
        text="请选择诉求类别：",
        buttons=[{"title": category, "payload": category} for category in CATEGORIES],
    )


def show_summary(
    dispatcher: CollectingDispatcher,
    *,
    enterprise: str,
    category: str | None,
    description: str | None,
    contact_name: str | None,
    contact_phone: str | None,
    urgency: str | None,
) -> None:
    """Everything collected, to confirm before filing."""
    dispatcher.utter_message(
        text=(
            "请核对诉求信息：\n"
            f"企业：{enterprise}\n"
            f"类别：{category}\n"
            f"问题描述：{description}\n"
            f"联系人：{contact_name}，{contact_phone}\n"
            f"紧急程度：{urgency}\n"
            "确认无误请回复“确认”；需要修改请告诉我改哪一项（如“改电话”）；回复“取消”放弃提交。"
        ),
        buttons=[CONFIRM, {"title": "修改", "payload": "/correct_field"}, CANCEL],
    )


def show_receipt(dispatcher: CollectingDispatcher, ticket: TicketPublic) -> None:
    """The filing's receipt, then its ticket card."""
    dispatcher.utter_message(text=receipt_text(ticket))
    dispatcher.utter_message(json_message=ticket_card(ticket))


def ask_rating(dispatcher: CollectingDispatcher, ticket: TicketPublic) -> list[EventType]:
    """Ask the enterprise to rate an answered ticket: one button per score and the rating card.

    The card travels in the same message as the question, so a channel shows one
    rating prompt (Rasa's REST output lists the card right after the text).
    """
    answer = next((event.note for event in reversed(ticket.events) if event.kind == "answer"), "")
    result = f"办理结果：{answer}\n" if answer else ""
    dispatcher.utter_message(
        text=(
            f"您的诉求工单 {ticket.number}（{ticket.category}）已由管家反馈办理结果。\n{result}"
            "请问您对处理结果是否满意？不满意可以直接说明原因，例如“不满意，问题没解决”。"
        ),
        buttons=[
            {
                "title": score,
                "payload": payload("rate_ticket", {"ticket_number": ticket.number, "rating_score": score}),
            }
            for score in SCORES
        ],
        json_message=rating_card(ticket),
    )
    return [SlotSet(RATING_TICKET, ticket.number)]
