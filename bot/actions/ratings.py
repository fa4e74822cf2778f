"""Rating an answered appeal in the chat: 满意/基本满意/不满意, by button or in words.

``appeals.chat`` decides which ticket is rated when several wait and what a
rating does (不满意 re-opens the ticket); these actions say what it decided.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from appeals.chat import RatingTurn, rate_from_chat, rating_prompt
from appeals.views import TicketPublic
from bot.actions.reading import entity, score_in, sentence, text_of
from bot.actions.replies import ask_rating, payload
from bot.actions.services import get_services
from bot.actions.slots import RATING_TICKET, binding_events, caller_of


def ask_which_ticket(
    dispatcher: CollectingDispatcher, pending: list[TicketPublic], score: str | None
) -> None:
    """Several tickets wait for a rating and the message did not say which: one button per ticket."""
    dispatcher.utter_message(
        text=f"贵企业有{len(pending)}件待评价的工单，请选择您要评价「{score}」的是哪一件：",
        buttons=[
            {
                "title": f"{ticket.number}（{ticket.category}）",
                "payload": payload(
                    "rate_ticket", {"ticket_number": ticket.number, "rating_score": str(score)}
                ),
            }
            for ticket in pending
        ],
    )


def show_rating(dispatcher: CollectingDispatcher, turn: RatingTurn, score: str | None) -> list[EventType]:
    """What the rating did, and the events that remember (or forget) the ticket being rated."""
    forget: list[EventType] = [SlotSet(RATING_TICKET, None)]
    step = turn.step
    if step is None:
        dispatcher.utter_message(
            text=sentence(turn.error)
            if turn.error
            else "请先查询您的诉求工单（发送“查询诉求”），再进行评价。"
        )
        return forget if turn.error else []
    if step.kind == "none_pending":
        dispatcher.utter_message(text="贵企业目前没有待评价的工单。")
        return []
    if step.kind == "choose":
        ask_which_ticket(dispatcher, step.pending, score)
        return []
    if step.kind == "ask" and step.ticket is not None:
        return ask_rating(dispatcher, step.ticket)
    if step.kind == "not_awaiting":
        dispatcher.utter_message(text=f"工单 {step.number} 目前不需要评价。")
        return forget
    if step.outcome is None:  # not_found
        dispatcher.utter_message(text=f"没有找到工单 {step.number}。")
        return forget
    dispatcher.utter_message(text=step.outcome.message)
    return forget + (ask_rating(dispatcher, turn.to_rate) if turn.to_rate is not None else [])


class ActionSubmitRating(Action):
    """Records 满意/基本满意/不满意 for an answered ticket; 不满意 re-opens it (the service decides)."""

    def name(self) -> str:
        return "action_submit_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = text_of(tracker)
        parsed_score, comment = score_in("" if text.startswith("/") else text)
        score = entity(tracker, "rating_score") or parsed_score
        services = get_services()
        turn = rate_from_chat(
            services.session_factory,
            caller_of(tracker),
            number=entity(tracker, "ticket_number") or tracker.get_slot(RATING_TICKET),
            score=score,
            comment=comment,
            settings=services.appeals,
        )
        return [*binding_events(turn.binding), *show_rating(dispatcher, turn, score)]


class ActionAskRating(Action):
    """Runs when the gateway delivers an ``answered`` notice (EXTERNAL_ticket_answered): ask for the rating.

    The intent can also be typed as a payload; ``appeals.chat.rating_prompt`` asks
    only for a ticket this conversation may see.
    """

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        ticket = rating_prompt(
            services.session_factory,
            caller_of(tracker),
            entity(tracker, "ticket_number"),
            settings=services.appeals,
        )
        return ask_rating(dispatcher, ticket) if ticket is not None else []
