"""Appeals (诉求工单) in the chat: the appeal form, status queries and ratings.

The actions stay thin: they read slots and metadata, call one use case of
``appeals.chat`` (or the guide assistant for a question asked in the middle of
the form), utter and return events. Who may see which ticket is decided there:
a conversation sees its enterprise's tickets only with an identity the gateway
signed (``metadata["identity"]``), otherwise only the tickets it filed itself.
Reading what the user typed lives in ``bot.actions.reading``.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from appeals.access import TicketScope
from appeals.categories import CATEGORIES, infer_category
from appeals.chat import (
    AppealForm,
    Binding,
    bind_enterprise,
    chat_scope,
    content_appeal_id,
    identity_from_metadata,
    record_rating,
    submit_appeal,
    tickets_to_rate,
    visible_tickets,
)
from appeals.errors import AmbiguousEnterprise, AppealError
from appeals.identity import VerifiedIdentity
from appeals.lifecycle import SCORES
from appeals.phones import validate_mobile
from appeals.queries import find_enterprise
from appeals.views import TicketPublic, receipt_text, status_text
from bot.actions.guide import utter_reply
from bot.actions.reading import (
    CHANGE_WORDS,
    CONFIRM_WORDS,
    DESCRIPTION_MAX,
    FIELD_LABELS,
    NORMAL,
    SKIP_WORDS,
    as_int,
    categories_named,
    category_in,
    clean,
    credit_code_in,
    describes_problem,
    entity,
    field_in,
    intent_of,
    is_affirm,
    is_deny,
    is_plain_answer,
    long_enough,
    looks_like_name,
    metadata_of,
    mobile_in,
    name_beside_mobile,
    named_field,
    new_value_in,
    score_in,
    sentence,
    strip_punctuation,
    text_of,
    ticket_number_in,
    urgency_in,
    wants_change_without_field,
)
from bot.actions.services import get_services
from knowledge.answering import Context
from storage.errors import StorageError
from storage.transaction import transaction

logger = logging.getLogger(__name__)

__all__ = [
    "ActionAskAppealCategory",
    "ActionAskAppealConfirm",
    "ActionAskRating",
    "ActionCancelAppeal",
    "ActionCorrectAppeal",
    "ActionStartAppeal",
    "ActionSubmitAppeal",
    "ActionSubmitRating",
    "ActionTicketStatus",
    "ValidateAppealForm",
    "describes_problem",
    "score_in",
    "ticket_number_in",
]

FORM = "appeal_form"
REQUESTED = "requested_slot"
ENTERPRISE_ID = "enterprise_id"
ENTERPRISE_NAME = "enterprise_name"
RATING_TICKET = "rating_ticket"

# everything one filing attempt collects; the enterprise binding is kept apart and survives it
APPEAL_SLOTS: tuple[str, ...] = (
    "appeal_id",
    "appeal_enterprise",
    "appeal_description",
    "appeal_category_guess",
    "appeal_category",
    "contact_name",
    "contact_phone",
    "appeal_urgency",
    "appeal_confirm",
)
# the slots whose answers are plain text that NLU may mistake for a command
FORM_ANSWERS = frozenset({"appeal_enterprise", "contact_name", "contact_phone", "appeal_urgency"})

GUIDE_INTENTS = frozenset(
    {
        "ask_overview",
        "ask_materials",
        "ask_process",
        "ask_time_limit",
        "ask_fee",
        "ask_location",
        "ask_contact",
        "ask_online",
        "ask_conditions",
        "inform_guide",
    }
)
GUIDE_INTENT_CONFIDENCE = 0.8  # below this a form answer is more likely than a question
GUIDE_ANSWER_CONFIDENCE = 0.5  # and the knowledge base must really know the item
FIXED_ENTERPRISE = "企业由登录信息确定，如需更换请在小程序中切换企业。"
StorageOrAppealError = (AppealError, StorageError)


# -- who is writing -------------------------------------------------------------------------


def _identity(tracker: Tracker) -> VerifiedIdentity | None:
    """The identity the gateway signed for this conversation, if the message carries a valid one."""
    return identity_from_metadata(metadata_of(tracker), tracker.sender_id, get_services().appeals)


def _scope(tracker: Tracker, identity: VerifiedIdentity | None) -> TicketScope:
    return chat_scope(tracker.sender_id, identity)


def _bind(tracker: Tracker) -> tuple[Binding, VerifiedIdentity | None, list[EventType]]:
    """The enterprise this conversation files for, its identity, and the events that (re)bind it."""
    identity = _identity(tracker)
    bound = as_int(tracker.get_slot(ENTERPRISE_ID))
    name = tracker.get_slot(ENTERPRISE_NAME)
    try:
        with transaction(get_services().session_factory) as session:
            binding = bind_enterprise(session, identity, bound, name)
    except StorageOrAppealError as exc:
        logger.warning("appeals.bind_failed error=%s", type(exc).__name__)
        return Binding(bound, name), identity, []
    events: list[EventType] = []
    if binding.changed:
        events = [
            SlotSet(ENTERPRISE_ID, binding.enterprise_id),
            SlotSet(ENTERPRISE_NAME, binding.enterprise_name),
        ]
    return binding, identity, events


def _enterprise_fixed(tracker: Tracker) -> bool:
    """True when the logged-in account (a verified identity) says which enterprise this is."""
    identity = _identity(tracker)
    return identity is not None and identity.enterprise_id is not None


def _reset_appeal_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in APPEAL_SLOTS]


# -- messages ------------------------------------------------------------------------------


def _payload(intent: str, entities: dict[str, str]) -> str:
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}"


def _field_buttons() -> list[dict[str, str]]:
    buttons = [
        {"title": label, "payload": _payload("correct_field", {"appeal_field": field})}
        for field, label in FIELD_LABELS.items()
        if field != "appeal_enterprise"
    ]
    return buttons + [{"title": "确认提交", "payload": "/affirm"}, {"title": "取消", "payload": "/cancel"}]


def _ticket_card(ticket: TicketPublic) -> dict[str, Any]:
    """The machine-readable part for the mini-program, next to the text."""
    deadline = ticket.current_deadline
    return {
        "kind": "ticket",
        "number": ticket.number,
        "status": ticket.status,
        "status_label": ticket.status_label,
        "category": ticket.category,
        "butler_name": ticket.butler_name,
        "butler_phone": ticket.butler_phone,
        "current_deadline": (
            {"label": deadline.label, "due": deadline.due.isoformat(), "light": deadline.light}
            if deadline is not None
            else None
        ),
        "awaiting_rating": ticket.awaiting_rating,
    }


def ask_rating(dispatcher: CollectingDispatcher, ticket: TicketPublic) -> list[EventType]:
    """Ask the enterprise to rate an answered ticket, with one button per score."""
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
                "payload": _payload("rate_ticket", {"ticket_number": ticket.number, "rating_score": score}),
            }
            for score in SCORES
        ],
    )
    return [SlotSet(RATING_TICKET, ticket.number)]


def _ask_pending_rating(
    dispatcher: CollectingDispatcher, scope: TicketScope, enterprise_id: int | None
) -> list[EventType]:
    """If a ticket this conversation may see waits for a rating, ask for it now; never fail the reply."""
    services = get_services()
    try:
        with transaction(services.session_factory) as session:
            pending = tickets_to_rate(session, scope, enterprise_id, settings=services.appeals)
    except StorageOrAppealError as exc:
        logger.warning("appeals.pending_ratings_failed error=%s", type(exc).__name__)
        return []
    return ask_rating(dispatcher, pending[0]) if pending else []


def _guide_interruption(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
    """Answer a 办事指南 question asked instead of a form answer; ``None`` if it was not one.

    The returned slots (the guide item under discussion) let "那要多久？" work after the form.
    """
    intent, confidence = intent_of(tracker)
    if intent not in GUIDE_INTENTS or confidence < GUIDE_INTENT_CONFIDENCE:
        return None
    text = text_of(tracker)
    try:
        reply = get_services().guides.reply(
            text,
            intent=intent,
            intent_confidence=confidence,
            context=Context(tracker.get_slot("guide_id"), tracker.get_slot("aspect")),
            sender_id=tracker.sender_id,
            record_unanswered=False,
        )
    except Exception as exc:  # the form must go on even if the knowledge base is down
        logger.warning("appeals.guide_interruption_failed error=%s", type(exc).__name__)
        return None
    if reply.kind != "guide" or reply.confidence < GUIDE_ANSWER_CONFIDENCE:
        return None
    events = utter_reply(dispatcher, reply)
    dispatcher.utter_message(text="以上是办事指南的解答。我们继续登记您的诉求：")
    return {event["name"]: event["value"] for event in events}


# -- the form ------------------------------------------------------------------------------


class ActionStartAppeal(Action):
    """Starts a fresh filing: new idempotency id, and the description if the first message gave one."""

    def name(self) -> str:
        return "action_start_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        _, _, events = _bind(tracker)
        text = text_of(tracker)
        description = text if describes_problem(text) and not text.startswith("/") else None
        if description:
            dispatcher.utter_message(text="收到，我来帮您登记这条诉求，只需几步。")
        else:
            dispatcher.utter_message(response="utter_file_appeal")
        leftovers = [SlotSet(slot, None) for slot in APPEAL_SLOTS if tracker.get_slot(slot) is not None]
        return [
            *events,
            *leftovers,
            SlotSet("appeal_id", uuid.uuid4().hex),
            SlotSet("appeal_description", description),
            SlotSet("appeal_category_guess", infer_category(description) if description else None),
        ]


class ValidateAppealForm(FormValidationAction):
    """Checks each answer with the service's validators; answers guide questions asked mid-form."""

    def name(self) -> str:
        return "validate_appeal_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A conversation already bound to an enterprise is not asked which one it is."""
        if tracker.get_slot(ENTERPRISE_ID) is not None:
            return [slot for slot in domain_slots if slot != "appeal_enterprise"]
        return domain_slots

    def _retry(
        self, slot: str, message: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """A value that is not an answer: a guide question gets answered, anything else gets ``message``."""
        guide_slots = _guide_interruption(dispatcher, tracker)
        if guide_slots is None:
            dispatcher.utter_message(text=message)
            return {slot: None}
        return {**guide_slots, slot: None}

    def validate_appeal_enterprise(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_enterprise": None}
        text = clean(value)
        query = credit_code_in(text) or text
        try:
            with transaction(get_services().session_factory) as session:
                found = find_enterprise(session, query)
        except AmbiguousEnterprise as exc:
            buttons = [{"title": name, "payload": name} for name in exc.candidates[:5]]
            dispatcher.utter_message(text=sentence(str(exc)), buttons=buttons)
            return {"appeal_enterprise": None}
        except StorageOrAppealError as exc:
            dispatcher.utter_message(text=sentence(str(exc)))
            return {"appeal_enterprise": None}
        if found is None:
            return self._retry(
                "appeal_enterprise",
                f"企业管家名录中没有找到「{text}」。请输入企业全称或18位统一社会信用代码。",
                dispatcher,
                tracker,
            )
        dispatcher.utter_message(text=f"好的，已确认企业：{found.name}。")
        return {"appeal_enterprise": found.name, ENTERPRISE_ID: found.id, ENTERPRISE_NAME: found.name}

    def validate_appeal_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_description": None}
        text = clean(value)
        if text.startswith("/") or not long_enough(text):
            dispatcher.utter_message(text="请用文字具体描述一下遇到的问题，至少写清楚发生了什么。")
            return {"appeal_description": None}
        if len(text) > DESCRIPTION_MAX:
            dispatcher.utter_message(
                text=f"问题描述过长（{len(text)}字），请控制在{DESCRIPTION_MAX}字以内，写清要点即可。"
            )
            return {"appeal_description": None}
        return {"appeal_description": text, "appeal_category_guess": infer_category(text)}

    def validate_appeal_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_category": None}
        text = clean(value)
        guess = tracker.get_slot("appeal_category_guess")
        named = category_in(text)
        if named is not None:
            return {"appeal_category": named}
        if guess and is_affirm(tracker, text):
            return {"appeal_category": guess}
        if is_deny(tracker, text):
            return {"appeal_category": None, "appeal_category_guess": None}  # ask with every category
        return self._retry("appeal_category", "没能识别诉求类别，请点选下方的类别。", dispatcher, tracker)

    def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"contact_name": None}
        text = clean(value)
        phone = mobile_in(text)
        if phone is not None:  # "王经理 13800001234": take both
            name = name_beside_mobile(text)
            if looks_like_name(name):
                return {"contact_name": name, "contact_phone": phone}
        if looks_like_name(text):
            return {"contact_name": strip_punctuation(text)}
        return self._retry("contact_name", "请告诉我联系人的姓名或称呼，例如“王经理”。", dispatcher, tracker)

    def validate_contact_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"contact_phone": None}
        text = clean(value)
        found = mobile_in(text)
        try:
            return {"contact_phone": validate_mobile(found or text)}
        except StorageOrAppealError as exc:
            if any(ch.isdigit() for ch in text):
                dispatcher.utter_message(text=sentence(str(exc)))
                return {"contact_phone": None}
            return self._retry("contact_phone", sentence(str(exc)), dispatcher, tracker)

    def validate_appeal_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_urgency": None}
        text = clean(value)
        urgency = urgency_in(text)
        if urgency is None and is_deny(tracker, text):
            urgency = NORMAL
        if urgency is not None:
            return {"appeal_urgency": urgency}
        return self._retry("appeal_urgency", "没能识别紧急程度。", dispatcher, tracker)

    def validate_appeal_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_confirm": None}
        text = clean(value)
        if "不" not in text and (is_affirm(tracker, text) or any(word in text for word in CONFIRM_WORDS)):
            return {"appeal_confirm": "已确认"}
        field = field_in(text)
        if field is not None and field in FIELD_LABELS:
            if field == "appeal_enterprise" and _enterprise_fixed(tracker):
                dispatcher.utter_message(text=FIXED_ENTERPRISE)
                return {"appeal_confirm": None}
            changes: dict[str, Any] = {"appeal_confirm": None, field: None}
            if field == "appeal_enterprise":
                changes.update({ENTERPRISE_ID: None, ENTERPRISE_NAME: None})
            if field == "appeal_category":
                changes["appeal_category_guess"] = None
            dispatcher.utter_message(text=f"好的，请重新填写{FIELD_LABELS[field]}。")
            return changes
        if is_deny(tracker, text) or any(word in text for word in CHANGE_WORDS):
            return {"appeal_confirm": None}  # the question comes back as "which item?"
        return self._retry(
            "appeal_confirm",
            "请回复“确认”提交；需要修改请告诉我要改哪一项，回复“取消”可放弃提交。",
            dispatcher,
            tracker,
        )


class ActionAskAppealCategory(Action):
    """Asks for the category, offering the one inferred from the description first."""

    def name(self) -> str:
        return "action_ask_appeal_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        guess = tracker.get_slot("appeal_category_guess")
        if guess in CATEGORIES:
            others = [category for category in CATEGORIES if category != guess]
            dispatcher.utter_message(
                text=f"根据您的描述，类别应为「{guess}」，对吗？如果不对，请选择正确的类别。",
                buttons=[{"title": "对", "payload": "/affirm"}]
                + [{"title": category, "payload": category} for category in others],
            )
        else:
            dispatcher.utter_message(
                text="请选择诉求类别：",
                buttons=[{"title": category, "payload": category} for category in CATEGORIES],
            )
        return []


class ActionAskAppealConfirm(Action):
    """Shows the summary to confirm, or, after a "不对", asks which item to change."""

    def name(self) -> str:
        return "action_ask_appeal_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if wants_change_without_field(tracker):
            dispatcher.utter_message(text="请问需要修改哪一项？", buttons=_field_buttons())
            return []
        slot = tracker.get_slot
        enterprise = slot(ENTERPRISE_NAME) or slot("appeal_enterprise") or "（已绑定企业）"
        dispatcher.utter_message(
            text=(
                "请核对诉求信息：\n"
                f"企业：{enterprise}\n"
                f"类别：{slot('appeal_category')}\n"
                f"问题描述：{slot('appeal_description')}\n"
                f"联系人：{slot('contact_name')}，{slot('contact_phone')}\n"
                f"紧急程度：{slot('appeal_urgency')}\n"
                "确认无误请回复“确认”；需要修改请告诉我改哪一项（如“改电话”）；回复“取消”放弃提交。"
            ),
            buttons=[
                {"title": "确认提交", "payload": "/affirm"},
                {"title": "修改", "payload": "/correct_field"},
                {"title": "取消", "payload": "/cancel"},
            ],
        )
        return []


class ActionSubmitAppeal(Action):
    """Files the confirmed appeal; a retry of the same filing returns the same ticket."""

    def name(self) -> str:
        return "action_submit_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        slot = tracker.get_slot
        enterprise_id = as_int(slot(ENTERPRISE_ID))
        if enterprise_id is None:
            dispatcher.utter_message(text="还没有确定是哪家企业，诉求未提交。请重新发起诉求并填写企业名称。")
            return [*_reset_appeal_slots()]
        appeal_id = slot("appeal_id") or content_appeal_id(*(str(slot(name)) for name in APPEAL_SLOTS))
        form = AppealForm(
            enterprise_id=enterprise_id,
            category=clean(slot("appeal_category")),
            description=clean(slot("appeal_description")),
            contact_name=clean(slot("contact_name")),
            contact_phone=clean(slot("contact_phone")),
            urgency=clean(slot("appeal_urgency")) or NORMAL,
        )
        try:
            ticket = submit_appeal(
                services.session_factory,
                form,
                sender=tracker.sender_id,
                appeal_id=appeal_id,
                channel=tracker.get_latest_input_channel() or "chat",
                sender_id=tracker.sender_id,
                settings=services.appeals,
            )
        except StorageOrAppealError as exc:
            logger.warning("appeals.submit_failed error=%s", type(exc).__name__)
            dispatcher.utter_message(
                text=f"{sentence(str(exc))}您填写的信息已保留，稍后回复“确认”可再次提交，回复“取消”放弃。"
            )
            # back to the summary with everything kept: the same appeal_id makes a retry file once
            return [SlotSet("appeal_id", appeal_id), SlotSet("appeal_confirm", None), FollowupAction(FORM)]
        logger.info("appeals.submitted number=%s", ticket.number)
        dispatcher.utter_message(text=receipt_text(ticket))
        dispatcher.utter_message(json_message=_ticket_card(ticket))
        events: list[EventType] = [*_reset_appeal_slots()]
        return events + _ask_pending_rating(dispatcher, _scope(tracker, _identity(tracker)), enterprise_id)


class ActionCancelAppeal(Action):
    """Stops the form and forgets what it collected; the enterprise binding stays."""

    def name(self) -> str:
        return "action_cancel_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        skip = strip_punctuation(text_of(tracker)).lower() in SKIP_WORDS
        if skip and tracker.get_slot(REQUESTED) == "appeal_urgency":
            # "跳过" the optional question, read as cancelling the appeal: skip the question only
            return [SlotSet("appeal_urgency", NORMAL), FollowupAction(FORM)]
        dispatcher.utter_message(text="已取消，本次诉求未提交。还有什么可以帮您？")
        return [ActiveLoop(None), SlotSet(REQUESTED, None), *_reset_appeal_slots()]


class ActionCorrectAppeal(Action):
    """Clears (or directly replaces) the field the user wants to change, so the form asks it again."""

    def name(self) -> str:
        return "action_correct_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = text_of(tracker)
        field = named_field(tracker)
        requested = tracker.get_slot(REQUESTED)
        if field is None and requested in FORM_ANSWERS and is_plain_answer(text):
            # "王经理" read as a correction (it resembles "联系人换成王经理"): it answers the question
            validate = getattr(ValidateAppealForm(), f"validate_{requested}")
            answer = validate(text, dispatcher, tracker, domain)
            return [SlotSet(name, value) for name, value in answer.items()]
        if field is None:
            if requested != "appeal_confirm":  # at the summary the form's own question asks this
                dispatcher.utter_message(text="请问需要修改哪一项？", buttons=_field_buttons())
            return []
        label = FIELD_LABELS[field]
        if field == "appeal_enterprise" and _enterprise_fixed(tracker):
            dispatcher.utter_message(text=FIXED_ENTERPRISE)
            return []
        new_value = self._new_value(field, text)
        if new_value is not None:
            dispatcher.utter_message(text=f"好的，{label}已改为「{new_value}」。")
            return [SlotSet(field, new_value), SlotSet("appeal_confirm", None)]
        if tracker.get_slot(field) is None and field != "appeal_enterprise":
            dispatcher.utter_message(text=f"{label}还没有填写，稍后会请您填写。")
            return []
        dispatcher.utter_message(text=f"好的，请重新填写{label}。")
        events = [SlotSet(field, None), SlotSet("appeal_confirm", None)]
        if field == "appeal_enterprise":
            events += [SlotSet(ENTERPRISE_ID, None), SlotSet(ENTERPRISE_NAME, None)]
        if field == "appeal_category":
            events.append(SlotSet("appeal_category_guess", None))
        return events

    @staticmethod
    def _new_value(field: str, text: str) -> str | None:
        """The replacement when the correction names it ("手机号错了，改成13800138000")."""
        if field == "contact_phone":
            return mobile_in(text)
        if field == "appeal_category":
            named = categories_named(text)
            return named[0] if len(named) == 1 else None
        value = new_value_in(text)
        if value is None:
            return None
        if field == "contact_name":
            return value if looks_like_name(value) else None
        if field == "appeal_urgency":
            return urgency_in(value)
        return None  # the enterprise and the description are asked again in full


# -- status and ratings --------------------------------------------------------------------


class ActionTicketStatus(Action):
    """Shows one ticket by number, or the latest ones this conversation may see."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        text = text_of(tracker)
        binding, identity, events = _bind(tracker)
        enterprise_id = binding.enterprise_id
        scope = _scope(tracker, identity)
        number = entity(tracker, "ticket_number") or ticket_number_in(text)
        try:
            if enterprise_id is None:
                enterprise_id, bind_events = self._bind_from_text(dispatcher, text)
                events += bind_events
                if enterprise_id is None:
                    return events
            with transaction(services.session_factory) as session:
                tickets = visible_tickets(
                    session, scope, enterprise_id, number=number, limit=3, settings=services.appeals
                )
        except StorageOrAppealError as exc:
            dispatcher.utter_message(text=sentence(str(exc)))
            return events
        if number and not tickets:
            dispatcher.utter_message(text=f"没有找到贵企业的工单 {number}，请核对工单号。")
            return events
        if not tickets:
            dispatcher.utter_message(text="贵企业暂无诉求记录。您可以直接描述遇到的问题，我帮您登记诉求。")
            return events
        heading = "" if number else "贵企业最近的诉求：\n\n"
        dispatcher.utter_message(text=heading + "\n\n".join(status_text(ticket) for ticket in tickets))
        for ticket in tickets:
            dispatcher.utter_message(json_message=_ticket_card(ticket))
        return events + _ask_pending_rating(dispatcher, scope, enterprise_id)

    @staticmethod
    def _bind_from_text(dispatcher: CollectingDispatcher, text: str) -> tuple[int | None, list[EventType]]:
        """An unbound conversation may name its enterprise by credit code; it still sees only its own tickets."""
        code = credit_code_in(text)
        if code is None:
            dispatcher.utter_message(
                text="请先告诉我是哪家企业：发送“查询诉求 + 统一社会信用代码”，"
                "例如“查询诉求 91990102A5NNL98XUY”。"
            )
            return None, []
        with transaction(get_services().session_factory) as session:
            found = find_enterprise(session, code)
        if found is None:
            dispatcher.utter_message(text=f"企业管家名录中没有统一社会信用代码为 {code.upper()} 的企业。")
            return None, []
        return found.id, [SlotSet(ENTERPRISE_ID, found.id), SlotSet(ENTERPRISE_NAME, found.name)]


class ActionSubmitRating(Action):
    """Records 满意/基本满意/不满意 for an answered ticket; 不满意 re-opens it (the service decides)."""

    def name(self) -> str:
        return "action_submit_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        binding, identity, events = _bind(tracker)
        enterprise_id = binding.enterprise_id
        if enterprise_id is None:
            dispatcher.utter_message(text="请先查询您的诉求工单（发送“查询诉求”），再进行评价。")
            return events
        scope = _scope(tracker, identity)
        text = text_of(tracker)
        parsed_score, comment = score_in("" if text.startswith("/") else text)
        try:
            with transaction(services.session_factory) as session:
                step = record_rating(
                    session,
                    scope,
                    enterprise_id,
                    number=entity(tracker, "ticket_number") or tracker.get_slot(RATING_TICKET),
                    score=entity(tracker, "rating_score") or parsed_score,
                    comment=comment,
                    actor=f"企业（{binding.enterprise_name or '在线评价'}）",
                    settings=services.appeals,
                )
        except StorageOrAppealError as exc:
            dispatcher.utter_message(text=sentence(str(exc)))
            return events + [SlotSet(RATING_TICKET, None)]
        if step.kind == "none_pending":
            dispatcher.utter_message(text="贵企业目前没有待评价的工单。")
            return events
        if step.kind == "choose":
            return events + self._which(
                dispatcher, step.pending, entity(tracker, "rating_score") or parsed_score
            )
        if step.kind == "ask" and step.ticket is not None:
            return events + ask_rating(dispatcher, step.ticket)
        if step.kind == "not_awaiting":
            dispatcher.utter_message(text=f"工单 {step.number} 目前不需要评价。")
            return events + [SlotSet(RATING_TICKET, None)]
        if step.outcome is None:  # not_found
            dispatcher.utter_message(text=f"没有找到工单 {step.number}。")
            return events + [SlotSet(RATING_TICKET, None)]
        dispatcher.utter_message(text=step.outcome.message)
        return events + [SlotSet(RATING_TICKET, None)] + _ask_pending_rating(dispatcher, scope, enterprise_id)

    @staticmethod
    def _which(
        dispatcher: CollectingDispatcher, pending: list[TicketPublic], score: str | None
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=f"贵企业有{len(pending)}件待评价的工单，请选择您要评价「{score}」的是哪一件：",
            buttons=[
                {
                    "title": f"{ticket.number}（{ticket.category}）",
                    "payload": _payload(
                        "rate_ticket", {"ticket_number": ticket.number, "rating_score": str(score)}
                    ),
                }
                for ticket in pending
            ],
        )
        return []


class ActionAskRating(Action):
    """Runs when the gateway delivers an ``answered`` notice (EXTERNAL_ticket_answered): ask for the rating.

    The intent can also be typed as a payload, so the ticket must be one this
    conversation may see: filed from it, or its verified enterprise's.
    """

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        number = entity(tracker, "ticket_number")
        if not number:
            return []
        scope = _scope(tracker, _identity(tracker))
        try:
            with transaction(services.session_factory) as session:
                tickets = visible_tickets(
                    session,
                    scope,
                    as_int(tracker.get_slot(ENTERPRISE_ID)),
                    number=number,
                    settings=services.appeals,
                )
        except StorageOrAppealError as exc:
            logger.warning("appeals.ask_rating_failed error=%s", type(exc).__name__)
            return []
        if not tickets or not tickets[0].awaiting_rating:
            return []
        return ask_rating(dispatcher, tickets[0])
