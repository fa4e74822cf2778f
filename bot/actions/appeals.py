"""Appeals (诉求工单) in the chat: the appeal form, status queries and ratings.

The actions stay thin: they read the tracker, call ``appeals.service`` (or the
guide assistant for a question asked in the middle of the form), utter and
return events. Every ``AppealError`` reaches the user as its Chinese sentence.
The only logic here is reading what the user typed (which field, which score,
which ticket number), because that is conversation, not business.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from appeals.errors import AmbiguousEnterprise, AppealError
from appeals.service import (
    CATEGORIES,
    SCORES,
    TicketCreate,
    TicketPublic,
    create_ticket,
    find_enterprise,
    get_ticket,
    infer_category,
    rate_ticket,
    receipt_text,
    status_text,
    tickets_awaiting_rating,
    tickets_for_enterprise,
    validate_mobile,
)
from bot.actions.guide import utter_reply
from bot.actions.services import get_services
from knowledge.answering import Context
from storage.errors import StorageError
from storage.transaction import transaction

logger = logging.getLogger(__name__)

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
FIELD_LABELS: dict[str, str] = {
    "appeal_enterprise": "企业",
    "appeal_description": "问题描述",
    "appeal_category": "诉求类别",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "appeal_urgency": "紧急程度",
}
# checked in this order: 联系电话 is a phone, 公司名字 is the enterprise, not the contact's name
FIELD_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("appeal_enterprise", ("企业", "公司", "单位", "名称", "信用代码")),
    ("contact_phone", ("电话", "手机", "号码", "电化", "電話")),
    ("contact_name", ("联系人", "聯繫人", "姓名", "名字", "称呼")),
    ("appeal_category", ("类别", "类型", "分类", "類別")),
    ("appeal_description", ("描述", "内容", "情况", "问题")),
    ("appeal_urgency", ("紧急", "急不急", "普通")),
)

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

DESCRIPTION_MIN = 4
DESCRIPTION_MAX = 2000  # the service refuses longer ones; say so while the user can still fix it

AFFIRM_WORDS = frozenset(
    {"对", "是", "是的", "对的", "没错", "正确", "嗯", "嗯嗯", "好", "好的", "可以", "行", "确定"}
)
DENY_WORDS = frozenset({"不对", "不是", "不", "否", "错了", "不正确", "有误", "不对不对"})
SKIP_WORDS = ("跳过", "不知道", "不确定", "无所谓", "都行", "随便", "skip")
CONFIRM_WORDS = ("确认", "提交", "确定", "没问题", "无误")
CHANGE_WORDS = ("修改", "改一下", "更正", "有误", "不对", "错")
COMMAND_WORDS = (*CHANGE_WORDS, "改", "换", "重新", "取消", "不提", "不办", "算了", "退出", "放弃", "撤")
# the slots whose answers are plain text that NLU may mistake for a command
FORM_ANSWERS = frozenset({"appeal_enterprise", "contact_name", "contact_phone", "appeal_urgency"})

_QUESTIONISH = re.compile(r"[?？吗呢]|什么|怎么|多少|哪|诉求|投诉|问题|我|你")
_NAME_CHARS = re.compile(r"^[\u4e00-\u9fffA-Za-z·•．. ]{1,20}$")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_TICKET_NUMBER = re.compile(r"[Gg]\s*[Dd][\s\-]*((?:\d[\s\-]*){8,})")
_CREDIT_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{18})(?![0-9A-Za-z])")
_NEW_VALUE = re.compile(r"(?:改成|改为|换成|换为|更正为|应该是|应为|应是)\s*[:：]?\s*(.+)$")
_PUNCTUATION = "，,。.!！?？：:；;、~～ \t\n"
# words that say "I want to file something" without saying what happened
_FILLER = re.compile(
    "意见建议|企业诉求|诉求工单|遇到困难|想找政府|需要政府|我们|我要|我想|想要|提交|提个|提一个|登记|反映|反应|"
    "一下|一个|企业|公司|诉求|訴求|投诉|头诉|问题|情况|难题|困难|意见|建议|政府|帮忙|解决|遇到|需要|"
    "请|给|找|提|有|个|的|了|想|要"
)

_SCORE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("不满意", ("很不满意", "非常不满意", "不太满意", "不满意", "不滿意", "差评")),
    ("基本满意", ("基本满意", "基本滿意", "还算满意", "还行", "一般", "马马虎虎")),
    ("满意", ("非常满意", "很满意", "满意", "滿意", "满易", "好评")),
)


# -- reading the tracker -----------------------------------------------------------------


def _message(tracker: Tracker) -> dict[str, Any]:
    return tracker.latest_message or {}


def _text(tracker: Tracker) -> str:
    return str(_message(tracker).get("text") or "").strip()


def _intent(tracker: Tracker) -> tuple[str, float]:
    intent = _message(tracker).get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in _message(tracker).get("entities") or []:
        if entity.get("entity") == name and entity.get("value") not in (None, ""):
            return str(entity["value"])
    return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def _clean(value: Any) -> str:
    return str(value or "").strip()


def _strip_punctuation(text: str) -> str:
    return text.strip(_PUNCTUATION)


def _sentence(message: str) -> str:
    """Service messages are sentences without the final stop; add it before appending more."""
    return message if message.endswith(("。", "！", "？")) else message + "。"


def _metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = _message(tracker).get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _metadata_binds(tracker: Tracker) -> bool:
    """True when the mini-program (a logged-in user) says which enterprise this is."""
    metadata = _metadata(tracker)
    return bool(_clean(metadata.get("credit_code")) or _as_int(metadata.get(ENTERPRISE_ID)) is not None)


def _visible(tracker: Tracker, tickets: list[TicketPublic]) -> list[TicketPublic]:
    """The tickets this conversation may see.

    All of the enterprise's when the logged-in mini-program says which enterprise it
    is; otherwise only those filed from this conversation, so that typing someone
    else's credit code does not reveal their appeals.
    """
    if _metadata_binds(tracker):
        return tickets
    return [ticket for ticket in tickets if ticket.sender_id == tracker.sender_id]


def _bind(tracker: Tracker) -> tuple[int | None, str | None, list[EventType]]:
    """The enterprise this conversation speaks for, and the events that (re)bind it.

    The mini-program's metadata wins over what the chat said earlier, because it
    comes from the logged-in account; a code it sends that the registry does not
    know is logged and the earlier binding kept.
    """
    bound = _as_int(tracker.get_slot(ENTERPRISE_ID))
    name = tracker.get_slot(ENTERPRISE_NAME)
    metadata = _metadata(tracker)
    code = _clean(metadata.get("credit_code"))
    if code:
        try:
            with transaction(get_services().session_factory) as session:
                found = find_enterprise(session, code)
        except (AppealError, StorageError) as exc:
            logger.warning("appeals.bind_failed error=%s", type(exc).__name__)
            return bound, name, []
        if found is None:
            logger.warning("appeals.bind_unknown_code")
            return bound, name, []
        if found.id == bound and found.name == name:
            return bound, name, []
        return found.id, found.name, [SlotSet(ENTERPRISE_ID, found.id), SlotSet(ENTERPRISE_NAME, found.name)]
    meta_id = _as_int(metadata.get(ENTERPRISE_ID))
    if meta_id is not None and meta_id != bound:
        # no lookup by id in the service API: trust the id; the ticket shows the name once filed
        return meta_id, None, [SlotSet(ENTERPRISE_ID, meta_id), SlotSet(ENTERPRISE_NAME, None)]
    return bound, name, []


def _reset_appeal_slots() -> list[EventType]:
    return [SlotSet(slot, None) for slot in APPEAL_SLOTS]


# -- reading what the user typed -----------------------------------------------------------


def describes_problem(text: str) -> bool:
    """True when the message says what happened, not just "我要提诉求"."""
    core = _FILLER.sub("", re.sub(r"[\W_]+", "", text))
    return len(core) >= DESCRIPTION_MIN


def category_in(text: str) -> str | None:
    """A category named or clearly meant by a short answer ("融资", "是用工", "贷款")."""
    value = _strip_punctuation(text).replace("其它", "其他")
    if value in CATEGORIES:
        return value
    named = [category for category in CATEGORIES if category in value]
    if len(named) == 1:
        return named[0]
    return infer_category(value) if len(value) <= 10 else None


def mobile_in(text: str) -> str | None:
    """The mobile number in "手机 138 0013 8000" and the like."""
    match = _MOBILE_IN_TEXT.search(re.sub(r"[\s\-]", "", text))
    return match.group(1) if match else None


def looks_like_name(text: str) -> bool:
    """A person's name or form of address (王经理, 张三, Lily), not a sentence."""
    value = _strip_punctuation(text)
    return bool(_NAME_CHARS.match(value)) and not _QUESTIONISH.search(value)


def urgency_in(text: str) -> str | None:
    """普通 or 紧急 from what the user typed; skipping means 普通."""
    value = _strip_punctuation(text).lower()
    if not value:
        return None
    if any(word in value for word in ("不紧急", "不急", "不着急", "普通", "一般", "正常")):
        return "普通"
    if any(word in value for word in ("紧急", "加急", "特急", "很急", "急")):
        return "紧急"
    if any(word in value for word in SKIP_WORDS):
        return "普通"
    return None


def field_in(text: str) -> str | None:
    """The form field a correction is about, from its keywords."""
    for field, words in FIELD_KEYWORDS:
        if any(word in text for word in words):
            return field
    return None


def score_in(text: str) -> tuple[str | None, str]:
    """The rating and the comment after it: "不满意，问题没解决" → (不满意, 问题没解决)."""
    for score, words in _SCORE_WORDS:
        for word in words:
            at = text.find(word)
            if at >= 0:
                return score, _strip_punctuation(text[at + len(word) :])
    return None, ""


def ticket_number_in(text: str) -> str | None:
    """GD202611230001 from "查一下 gd 2026 1123 0001"."""
    match = _TICKET_NUMBER.search(text)
    return "GD" + re.sub(r"\D", "", match.group(1)) if match else None


def _named_field(tracker: Tracker) -> str | None:
    """The field a correction names: a button's entity, else a keyword in the text."""
    field = _entity(tracker, "appeal_field")
    if field in FIELD_LABELS:
        return field
    text = _text(tracker)
    return None if text.startswith("/") else field_in(text)


def _is_plain_answer(text: str) -> bool:
    """Text with no word of changing or cancelling in it, and no button payload."""
    return bool(text) and not text.startswith("/") and not any(word in text for word in COMMAND_WORDS)


def _wants_change_without_field(tracker: Tracker) -> bool:
    """ "不对" or "修改" at the summary, without saying what: ask which item."""
    text = _text(tracker)
    intent, _ = _intent(tracker)
    wants_change = (
        intent in ("deny", "correct_field") or _is_deny(tracker, text) or any(w in text for w in CHANGE_WORDS)
    )
    return wants_change and _named_field(tracker) is None


def _is_affirm(tracker: Tracker, text: str) -> bool:
    intent, _ = _intent(tracker)
    return intent == "affirm" or _strip_punctuation(text) in AFFIRM_WORDS


def _is_deny(tracker: Tracker, text: str) -> bool:
    intent, _ = _intent(tracker)
    return intent == "deny" or _strip_punctuation(text) in DENY_WORDS


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
    dispatcher: CollectingDispatcher, tracker: Tracker, enterprise_id: int
) -> list[EventType]:
    """If a ticket of this enterprise waits for a rating, ask for it now; never fail the reply."""
    services = get_services()
    try:
        with transaction(services.session_factory) as session:
            pending = tickets_awaiting_rating(session, enterprise_id, settings=services.appeals)
    except (AppealError, StorageError) as exc:
        logger.warning("appeals.pending_ratings_failed error=%s", type(exc).__name__)
        return []
    pending = _visible(tracker, pending)
    return ask_rating(dispatcher, pending[0]) if pending else []


def _guide_interruption(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any] | None:
    """Answer a 办事指南 question asked instead of a form answer; ``None`` if it was not one.

    The returned slots (the guide item under discussion) let "那要多久？" work after the form.
    """
    intent, confidence = _intent(tracker)
    if intent not in GUIDE_INTENTS or confidence < GUIDE_INTENT_CONFIDENCE:
        return None
    text = _text(tracker)
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
        text = _text(tracker)
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
        text = _clean(value)
        code = _CREDIT_CODE_IN_TEXT.search(text)
        query = code.group(1) if code and any(ch.isdigit() for ch in code.group(1)) else text
        try:
            with transaction(get_services().session_factory) as session:
                found = find_enterprise(session, query)
        except AmbiguousEnterprise as exc:
            buttons = [{"title": name, "payload": name} for name in exc.candidates[:5]]
            dispatcher.utter_message(text=_sentence(str(exc)), buttons=buttons)
            return {"appeal_enterprise": None}
        except (AppealError, StorageError) as exc:
            dispatcher.utter_message(text=_sentence(str(exc)))
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
        text = _clean(value)
        if text.startswith("/") or len(re.sub(r"[\W_]+", "", text)) < DESCRIPTION_MIN:
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
        text = _clean(value)
        guess = tracker.get_slot("appeal_category_guess")
        named = category_in(text)
        if named is not None:
            return {"appeal_category": named}
        if guess and _is_affirm(tracker, text):
            return {"appeal_category": guess}
        if _is_deny(tracker, text):
            return {"appeal_category": None, "appeal_category_guess": None}  # ask with every category
        return self._retry("appeal_category", "没能识别诉求类别，请点选下方的类别。", dispatcher, tracker)

    def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"contact_name": None}
        text = _clean(value)
        phone = mobile_in(text)
        if phone is not None:  # "王经理 13800001234": take both
            name = _strip_punctuation(_MOBILE_IN_TEXT.sub("", re.sub(r"[\s\-]", "", text)))
            if looks_like_name(name):
                return {"contact_name": name, "contact_phone": phone}
        if looks_like_name(text):
            return {"contact_name": _strip_punctuation(text)}
        return self._retry("contact_name", "请告诉我联系人的姓名或称呼，例如“王经理”。", dispatcher, tracker)

    def validate_contact_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"contact_phone": None}
        text = _clean(value)
        found = mobile_in(text)
        try:
            return {"contact_phone": validate_mobile(found or text)}
        except (AppealError, StorageError) as exc:
            if any(ch.isdigit() for ch in text):
                dispatcher.utter_message(text=_sentence(str(exc)))
                return {"contact_phone": None}
            return self._retry("contact_phone", _sentence(str(exc)), dispatcher, tracker)

    def validate_appeal_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_urgency": None}
        text = _clean(value)
        urgency = urgency_in(text)
        if urgency is None and _is_deny(tracker, text):
            urgency = "普通"
        if urgency is not None:
            return {"appeal_urgency": urgency}
        return self._retry("appeal_urgency", "没能识别紧急程度。", dispatcher, tracker)

    def validate_appeal_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # a reset (e.g. by action_start_appeal), not an answer
            return {"appeal_confirm": None}
        text = _clean(value)
        if "不" not in text and (_is_affirm(tracker, text) or any(word in text for word in CONFIRM_WORDS)):
            return {"appeal_confirm": "已确认"}
        field = field_in(text)
        if field is not None and field in FIELD_LABELS:
            if field == "appeal_enterprise" and _metadata_binds(tracker):
                dispatcher.utter_message(text="企业由小程序登录信息确定，如需更换请在小程序中切换企业。")
                return {"appeal_confirm": None}
            changes: dict[str, Any] = {"appeal_confirm": None, field: None}
            if field == "appeal_enterprise":
                changes.update({ENTERPRISE_ID: None, ENTERPRISE_NAME: None})
            if field == "appeal_category":
                changes["appeal_category_guess"] = None
            dispatcher.utter_message(text=f"好的，请重新填写{FIELD_LABELS[field]}。")
            return changes
        if _is_deny(tracker, text) or any(word in text for word in CHANGE_WORDS):
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
        if _wants_change_without_field(tracker):
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
        enterprise_id = _as_int(slot(ENTERPRISE_ID))
        if enterprise_id is None:
            dispatcher.utter_message(text="还没有确定是哪家企业，诉求未提交。请重新发起诉求并填写企业名称。")
            return [*_reset_appeal_slots()]
        appeal_id = (
            slot("appeal_id")
            or hashlib.sha256("|".join(str(slot(name)) for name in APPEAL_SLOTS).encode("utf-8")).hexdigest()[
                :32
            ]
        )
        data = TicketCreate(
            idempotency_key=f"{tracker.sender_id[:90]}:{appeal_id}",
            enterprise_id=enterprise_id,
            category=_clean(slot("appeal_category")),
            description=_clean(slot("appeal_description")),
            contact_name=_clean(slot("contact_name")),
            contact_phone=_clean(slot("contact_phone")),
            urgency=_clean(slot("appeal_urgency")) or "普通",
            channel=(tracker.get_latest_input_channel() or "chat")[:30],
            sender_id=tracker.sender_id,
        )
        try:
            ticket = create_ticket(services.session_factory, data, settings=services.appeals)
        except (AppealError, StorageError) as exc:
            logger.warning("appeals.submit_failed error=%s", type(exc).__name__)
            dispatcher.utter_message(
                text=f"{_sentence(str(exc))}您填写的信息已保留，稍后回复“确认”可再次提交，回复“取消”放弃。"
            )
            # back to the summary with everything kept: the same appeal_id makes a retry file once
            return [SlotSet("appeal_id", appeal_id), SlotSet("appeal_confirm", None), FollowupAction(FORM)]
        logger.info("appeals.submitted number=%s", ticket.number)
        dispatcher.utter_message(text=receipt_text(ticket))
        dispatcher.utter_message(json_message=_ticket_card(ticket))
        events: list[EventType] = [*_reset_appeal_slots()]
        return events + _ask_pending_rating(dispatcher, tracker, enterprise_id)


class ActionCancelAppeal(Action):
    """Stops the form and forgets what it collected; the enterprise binding stays."""

    def name(self) -> str:
        return "action_cancel_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        skip = _strip_punctuation(_text(tracker)).lower() in SKIP_WORDS
        if skip and tracker.get_slot(REQUESTED) == "appeal_urgency":
            # "跳过" the optional question, read as cancelling the appeal: skip the question only
            return [SlotSet("appeal_urgency", "普通"), FollowupAction(FORM)]
        dispatcher.utter_message(text="已取消，本次诉求未提交。还有什么可以帮您？")
        return [ActiveLoop(None), SlotSet(REQUESTED, None), *_reset_appeal_slots()]


class ActionCorrectAppeal(Action):
    """Clears (or directly replaces) the field the user wants to change, so the form asks it again."""

    def name(self) -> str:
        return "action_correct_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = _text(tracker)
        field = _named_field(tracker)
        requested = tracker.get_slot(REQUESTED)
        if field is None and requested in FORM_ANSWERS and _is_plain_answer(text):
            # "王经理" read as a correction (it resembles "联系人换成王经理"): it answers the question
            validate = getattr(ValidateAppealForm(), f"validate_{requested}")
            answer = validate(text, dispatcher, tracker, domain)
            return [SlotSet(name, value) for name, value in answer.items()]
        if field is None:
            if requested != "appeal_confirm":  # at the summary the form's own question asks this
                dispatcher.utter_message(text="请问需要修改哪一项？", buttons=_field_buttons())
            return []
        label = FIELD_LABELS[field]
        if field == "appeal_enterprise" and _metadata_binds(tracker):
            dispatcher.utter_message(text="企业由小程序登录信息确定，如需更换请在小程序中切换企业。")
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
            named = [category for category in CATEGORIES if category in text]
            return named[0] if len(named) == 1 else None
        match = _NEW_VALUE.search(text)
        if match is None:
            return None
        value = _strip_punctuation(match.group(1))
        if field == "contact_name":
            return value if looks_like_name(value) else None
        if field == "appeal_urgency":
            return urgency_in(value)
        return None  # the enterprise and the description are asked again in full


# -- status and ratings --------------------------------------------------------------------


class ActionTicketStatus(Action):
    """Shows one ticket by number, or the enterprise's latest ones; never another enterprise's."""

    def name(self) -> str:
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        text = _text(tracker)
        enterprise_id, _, events = _bind(tracker)
        try:
            if enterprise_id is None:
                enterprise_id, bind_events = self._bind_from_text(dispatcher, text)
                events += bind_events
                if enterprise_id is None:
                    return events
            number = _entity(tracker, "ticket_number") or ticket_number_in(text)
            with transaction(services.session_factory) as session:
                if number:
                    ticket = get_ticket(
                        session, number, enterprise_id=enterprise_id, settings=services.appeals
                    )
                    tickets = [ticket] if ticket is not None else []
                else:
                    tickets = tickets_for_enterprise(
                        session, enterprise_id, limit=3, settings=services.appeals
                    )
        except (AppealError, StorageError) as exc:
            dispatcher.utter_message(text=_sentence(str(exc)))
            return events
        tickets = _visible(tracker, tickets)
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
        return events + _ask_pending_rating(dispatcher, tracker, enterprise_id)

    @staticmethod
    def _bind_from_text(dispatcher: CollectingDispatcher, text: str) -> tuple[int | None, list[EventType]]:
        """An unbound conversation may name its enterprise by credit code in the question itself."""
        match = _CREDIT_CODE_IN_TEXT.search(text)
        if match is None or not any(ch.isdigit() for ch in match.group(1)):
            dispatcher.utter_message(
                text="请先告诉我是哪家企业：发送“查询诉求 + 统一社会信用代码”，"
                "例如“查询诉求 91990102A5NNL98XUY”。"
            )
            return None, []
        with transaction(get_services().session_factory) as session:
            found = find_enterprise(session, match.group(1))
        if found is None:
            dispatcher.utter_message(
                text=f"企业管家名录中没有统一社会信用代码为 {match.group(1).upper()} 的企业。"
            )
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
        enterprise_id, enterprise_name, events = _bind(tracker)
        if enterprise_id is None:
            dispatcher.utter_message(text="请先查询您的诉求工单（发送“查询诉求”），再进行评价。")
            return events
        text = _text(tracker)
        parsed_score, comment = score_in("" if text.startswith("/") else text)
        score = _entity(tracker, "rating_score") or parsed_score
        number = _entity(tracker, "ticket_number") or tracker.get_slot(RATING_TICKET)
        try:
            with transaction(services.session_factory) as session:
                if number is None:
                    pending = _visible(
                        tracker, tickets_awaiting_rating(session, enterprise_id, settings=services.appeals)
                    )
                    if not pending:
                        dispatcher.utter_message(text="贵企业目前没有待评价的工单。")
                        return events
                    if len(pending) > 1 or score is None:
                        return events + self._which(dispatcher, pending, score)
                    number = pending[0].number
                ticket = get_ticket(session, number, enterprise_id=enterprise_id, settings=services.appeals)
                if ticket is None or not _visible(tracker, [ticket]):
                    dispatcher.utter_message(text=f"没有找到工单 {number}。")
                    return events + [SlotSet(RATING_TICKET, None)]
                if not ticket.awaiting_rating:
                    dispatcher.utter_message(text=f"工单 {number} 目前不需要评价。")
                    return events + [SlotSet(RATING_TICKET, None)]
                if score is None:
                    return events + ask_rating(dispatcher, ticket)
                outcome = rate_ticket(
                    session,
                    number,
                    score,
                    comment,
                    f"企业（{enterprise_name or '在线评价'}）",
                    enterprise_id=enterprise_id,
                    settings=services.appeals,
                )
        except (AppealError, StorageError) as exc:
            dispatcher.utter_message(text=_sentence(str(exc)))
            return events + [SlotSet(RATING_TICKET, None)]
        logger.info("appeals.rated number=%s score=%s", outcome.ticket.number, outcome.score)
        dispatcher.utter_message(text=outcome.message)
        return (
            events + [SlotSet(RATING_TICKET, None)] + _ask_pending_rating(dispatcher, tracker, enterprise_id)
        )

    @staticmethod
    def _which(
        dispatcher: CollectingDispatcher, pending: list[TicketPublic], score: str | None
    ) -> list[EventType]:
        if score is None:
            return ask_rating(dispatcher, pending[0])
        dispatcher.utter_message(
            text=f"贵企业有{len(pending)}件待评价的工单，请选择您要评价「{score}」的是哪一件：",
            buttons=[
                {
                    "title": f"{ticket.number}（{ticket.category}）",
                    "payload": _payload(
                        "rate_ticket", {"ticket_number": ticket.number, "rating_score": score}
                    ),
                }
                for ticket in pending
            ],
        )
        return []


class ActionAskRating(Action):
    """Runs when the butler's answer is pushed in (EXTERNAL_ticket_answered): ask for the rating."""

    def name(self) -> str:
        return "action_ask_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        services = get_services()
        number = _entity(tracker, "ticket_number")
        if not number:
            return []
        enterprise_id = _as_int(tracker.get_slot(ENTERPRISE_ID))
        try:
            with transaction(services.session_factory) as session:
                ticket = get_ticket(session, number, enterprise_id=enterprise_id, settings=services.appeals)
        except (AppealError, StorageError) as exc:
            logger.warning("appeals.ask_rating_failed error=%s", type(exc).__name__)
            return []
        # unbound conversations only hear about the tickets they filed themselves
        if ticket is None or not ticket.awaiting_rating:
            return []
        if enterprise_id is None and ticket.sender_id != tracker.sender_id:
            return []
        return ask_rating(dispatcher, ticket)
