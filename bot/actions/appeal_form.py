"""Filing an appeal (诉求) in the chat: the form from start to submit, cancelling and correcting.

Each action reads slots and metadata, calls one function of ``appeals`` and
says what it returned. Who may see which ticket and how a filing stays
idempotent are decided in ``appeals.chat``; reading what the user typed lives
in ``bot.actions.reading``, shared replies in ``bot.actions.replies``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from appeals.categories import guess_category
from appeals.chat import AppealForm, enterprise_fixed, file_appeal, start_appeal
from appeals.errors import AmbiguousEnterprise, AppealError
from appeals.phones import validate_mobile
from appeals.queries import find_enterprise
from bot.actions.guide import region_of, utter_reply
from bot.actions.reading import (
    CHANGE_WORDS,
    CONFIRM_WORDS,
    DESCRIPTION_MAX,
    FIELD_LABELS,
    NORMAL,
    SKIP_WORDS,
    as_int,
    category_in,
    clean,
    credit_code_in,
    describes_problem,
    field_in,
    intent_of,
    is_affirm,
    is_deny,
    is_plain_answer,
    long_enough,
    looks_like_name,
    mobile_in,
    name_beside_mobile,
    named_field,
    replacement_in,
    sentence,
    strip_punctuation,
    text_of,
    urgency_in,
    wants_change_without_field,
)
from bot.actions.replies import (
    FIXED_ENTERPRISE,
    ask_category,
    ask_rating,
    ask_which_field,
    show_receipt,
    show_summary,
)
from bot.actions.services import get_services
from bot.actions.slots import (
    APPEAL_SLOTS,
    ENTERPRISE_ID,
    ENTERPRISE_NAME,
    FORM,
    FORM_ANSWERS,
    OFFERED_DESCRIPTION,
    REQUESTED,
    binding_events,
    caller_of,
    cleared,
    reset_appeal_slots,
)
from bot.components.complaints import GUIDE_INTENTS
from knowledge.answering import Context
from storage.errors import StorageError
from storage.transaction import transaction

logger = logging.getLogger(__name__)

GUIDE_INTENT_CONFIDENCE = 0.8  # below this a form answer is more likely than a question
GUIDE_ANSWER_CONFIDENCE = 0.5  # and the knowledge base must really know the item
StorageOrAppealError = (AppealError, StorageError)


def _enterprise_fixed(tracker: Tracker) -> bool:
    return enterprise_fixed(caller_of(tracker), settings=get_services().appeals)


def _guide_interruption(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
    """Answer a 办事指南 question asked instead of a form answer; ``None`` if it was not one.

    The returned slots (the guide item under discussion) let "那要多久？" work after the form.
    """
    intent, confidence = intent_of(tracker)
    if intent not in GUIDE_INTENTS or confidence < GUIDE_INTENT_CONFIDENCE:
        return None
    try:
        reply = get_services().guides.reply(
            text_of(tracker),
            intent=intent,
            intent_confidence=confidence,
            context=Context(tracker.get_slot("guide_id"), tracker.get_slot("aspect")),
            sender_id=tracker.sender_id,
            region=region_of(tracker),
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


class ActionStartAppeal(Action):
    """Starts a fresh filing: new idempotency id, and the description if the first message gave one."""

    def name(self) -> str:
        return "action_start_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = text_of(tracker)
        offered = clean(tracker.get_slot(OFFERED_DESCRIPTION))
        if text.startswith("/") and offered:
            text = offered  # the 反映问题 button under a guide answer: the complaint it answered
        description = text if describes_problem(text) and not text.startswith("/") else None
        services = get_services()
        start = start_appeal(
            services.session_factory, caller_of(tracker), description, settings=services.appeals
        )
        if description:
            dispatcher.utter_message(text="收到，我来帮您登记这条诉求，只需几步。")
        else:
            dispatcher.utter_message(response="utter_file_appeal")
        leftovers = [SlotSet(slot, None) for slot in APPEAL_SLOTS if tracker.get_slot(slot) is not None]
        return [
            *binding_events(start.binding),
            *leftovers,
            SlotSet("appeal_id", start.appeal_id),
            SlotSet("appeal_description", description),
            SlotSet("appeal_category_guess", start.category_guess),
            *([SlotSet(OFFERED_DESCRIPTION, None)] if offered else []),
            # a mobile number in the complaint is the contact's: not asked again
            *([SlotSet("contact_phone", phone)] if description and (phone := mobile_in(description)) else []),
        ]


class ValidateAppealForm(FormValidationAction):
    """Checks each answer with the service's validators; answers guide questions asked mid-form.

    A ``None`` value is a reset (e.g. by action_start_appeal), not an answer: it is
    passed through without a word.
    """

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
        if value is None:
            return {"appeal_enterprise": None}
        text = clean(value)
        try:
            with transaction(get_services().session_factory) as session:
                found = find_enterprise(session, credit_code_in(text) or text)
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
        if value is None:
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
        return {"appeal_description": text, "appeal_category_guess": guess_category(text)}

    def validate_appeal_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
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
        if value is None:
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
        if value is None:
            return {"contact_phone": None}
        text = clean(value)
        try:
            return {"contact_phone": validate_mobile(mobile_in(text) or text)}
        except StorageOrAppealError as exc:
            if any(ch.isdigit() for ch in text):
                dispatcher.utter_message(text=sentence(str(exc)))
                return {"contact_phone": None}
            return self._retry("contact_phone", sentence(str(exc)), dispatcher, tracker)

    def validate_appeal_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
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
        if value is None:
            return {"appeal_confirm": None}
        text = clean(value)
        if "不" not in text and (is_affirm(tracker, text) or any(word in text for word in CONFIRM_WORDS)):
            return {"appeal_confirm": "已确认"}
        field = field_in(text)
        if field is not None and field in FIELD_LABELS:
            if field == "appeal_enterprise" and _enterprise_fixed(tracker):
                dispatcher.utter_message(text=FIXED_ENTERPRISE)
                return {"appeal_confirm": None}
            dispatcher.utter_message(text=f"好的，请重新填写{FIELD_LABELS[field]}。")
            return cleared(field)
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
        ask_category(dispatcher, tracker.get_slot("appeal_category_guess"))
        return []


class ActionAskAppealConfirm(Action):
    """Shows the summary to confirm, or, after a "不对", asks which item to change."""

    def name(self) -> str:
        return "action_ask_appeal_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if wants_change_without_field(tracker):
            ask_which_field(dispatcher)
            return []
        slot = tracker.get_slot
        show_summary(
            dispatcher,
            enterprise=slot(ENTERPRISE_NAME) or slot("appeal_enterprise") or "（已绑定企业）",
            category=slot("appeal_category"),
            description=slot("appeal_description"),
            contact_name=slot("contact_name"),
            contact_phone=slot("contact_phone"),
            urgency=slot("appeal_urgency"),
        )
        return []


class ActionSubmitAppeal(Action):
    """Files the confirmed appeal; a retry of the same filing returns the same ticket."""

    def name(self) -> str:
        return "action_submit_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot = tracker.get_slot
        enterprise_id = as_int(slot(ENTERPRISE_ID))
        if enterprise_id is None:
            dispatcher.utter_message(text="还没有确定是哪家企业，诉求未提交。请重新发起诉求并填写企业名称。")
            return reset_appeal_slots()
        form = AppealForm(
            enterprise_id=enterprise_id,
            category=clean(slot("appeal_category")),
            description=clean(slot("appeal_description")),
            contact_name=clean(slot("contact_name")),
            contact_phone=clean(slot("contact_phone")),
            urgency=clean(slot("appeal_urgency")) or NORMAL,
        )
        services = get_services()
        filing = file_appeal(
            services.session_factory,
            caller_of(tracker),
            form,
            appeal_id=slot("appeal_id"),
            channel=tracker.get_latest_input_channel() or "chat",
            settings=services.appeals,
        )
        if filing.ticket is None:
            dispatcher.utter_message(
                text=f"{sentence(filing.error)}您填写的信息已保留，稍后回复“确认”可再次提交，回复“取消”放弃。"
            )
            # back to the summary with everything kept: the same appeal_id makes a retry file once
            return [
                SlotSet("appeal_id", filing.appeal_id),
                SlotSet("appeal_confirm", None),
                FollowupAction(FORM),
            ]
        show_receipt(dispatcher, filing.ticket)
        rating = ask_rating(dispatcher, filing.to_rate) if filing.to_rate is not None else []
        return [*reset_appeal_slots(), *rating]


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
        return [ActiveLoop(None), SlotSet(REQUESTED, None), *reset_appeal_slots()]


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
            return [
                SlotSet(name, value) for name, value in validate(text, dispatcher, tracker, domain).items()
            ]
        if field is None:
            if requested != "appeal_confirm":  # at the summary the form's own question asks this
                ask_which_field(dispatcher)
            return []
        if field == "appeal_enterprise" and _enterprise_fixed(tracker):
            dispatcher.utter_message(text=FIXED_ENTERPRISE)
            return []
        label = FIELD_LABELS[field]
        new_value = replacement_in(field, text)
        if new_value is not None:
            dispatcher.utter_message(text=f"好的，{label}已改为「{new_value}」。")
            return [SlotSet(field, new_value), SlotSet("appeal_confirm", None)]
        if tracker.get_slot(field) is None and field != "appeal_enterprise":
            dispatcher.utter_message(text=f"{label}还没有填写，稍后会请您填写。")
            return []
        dispatcher.utter_message(text=f"好的，请重新填写{label}。")
        return [SlotSet(name, value) for name, value in cleared(field).items()]
