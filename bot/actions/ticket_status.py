"""Following an appeal in the chat: "我的诉求怎么样了", "查一下 GD202611230001".

What a conversation may see is decided by ``appeals.chat.ticket_status``: its
verified enterprise's tickets, else only those it filed itself.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from appeals.chat import StatusReply, ticket_status
from appeals.views import status_text, ticket_card
from bot.actions.reading import credit_code_in, entity, sentence, text_of, ticket_number_in
from bot.actions.replies import ask_rating
from bot.actions.services import get_services
from bot.actions.slots import binding_events, caller_of

ASK_ENTERPRISE = (
    "请先告诉我是哪家企业：发送“查询诉求 + 统一社会信用代码”，例如“查询诉求 91990102A5NNL98XUY”。"
)
NO_TICKETS = "贵企业暂无诉求记录。您可以直接描述遇到的问题，我帮您登记诉求。"


def show_status(dispatcher: CollectingDispatcher, reply: StatusReply) -> list[EventType]:
    """The status text and a card per ticket, or why there is none; then a rating question if one waits."""
    if reply.kind == "error":
        dispatcher.utter_message(text=sentence(reply.error))
    elif reply.kind == "need_enterprise":
        dispatcher.utter_message(text=ASK_ENTERPRISE)
    elif reply.kind == "unknown_enterprise":
        dispatcher.utter_message(text=f"企业管家名录中没有统一社会信用代码为 {reply.credit_code} 的企业。")
    elif reply.kind == "not_found":
        dispatcher.utter_message(text=f"没有找到贵企业的工单 {reply.number}，请核对工单号。")
    elif reply.kind == "none":
        dispatcher.utter_message(text=NO_TICKETS)
    else:
        heading = "" if reply.number else "贵企业最近的诉求：\n\n"
        dispatcher.utter_message(text=heading + "\n\n".join(status_text(ticket) for ticket in reply.tickets))
        for ticket in reply.tickets:
            dispatcher.utter_message(json_message=ticket_card(ticket))
    return ask_rating(dispatcher, reply.to_rate) if reply.to_rate is not None else []


class ActionTicketStatus(Action):
    """Shows one ticket by number, or the latest ones this conversation may see."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = text_of(tracker)
        services = get_services()
        reply = ticket_status(
            services.session_factory,
            caller_of(tracker),
            number=entity(tracker, "ticket_number") or ticket_number_in(text),
            credit_code=credit_code_in(text),
            settings=services.appeals,
        )
        return [*binding_events(reply.binding), *show_status(dispatcher, reply)]
