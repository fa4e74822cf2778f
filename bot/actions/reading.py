"""Reading what the user typed in the chat: which field, which score, which ticket, which phone.

This is conversation, not business: the words people use live here, the
vocabulary they are mapped onto (categories, urgencies, scores, phone and
credit-code formats) comes from ``appeals``.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker

from appeals.categories import CATEGORIES, infer_category
from appeals.credit_code import find_credit_code
from appeals.filing import MAX_DESCRIPTION, URGENCIES
from appeals.lifecycle import SCORES
from appeals.phones import find_mobile, without_mobile

NORMAL, URGENT = URGENCIES
NOT_SATISFIED, FAIRLY_SATISFIED, SATISFIED = SCORES[2], SCORES[1], SCORES[0]

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

DESCRIPTION_MIN = 4
DESCRIPTION_MAX = MAX_DESCRIPTION  # the service refuses longer ones; say so while the user can still fix it

AFFIRM_WORDS = frozenset(
    {"对", "是", "是的", "对的", "没错", "正确", "嗯", "嗯嗯", "好", "好的", "可以", "行", "确定"}
)
DENY_WORDS = frozenset({"不对", "不是", "不", "否", "错了", "不正确", "有误", "不对不对"})
SKIP_WORDS = ("跳过", "不知道", "不确定", "无所谓", "都行", "随便", "skip")
CONFIRM_WORDS = ("确认", "提交", "确定", "没问题", "无误")
CHANGE_WORDS = ("修改", "改一下", "更正", "有误", "不对", "错")
COMMAND_WORDS = (*CHANGE_WORDS, "改", "换", "重新", "取消", "不提", "不办", "算了", "退出", "放弃", "撤")

_QUESTIONISH = re.compile(r"[?？吗呢]|什么|怎么|多少|哪|诉求|投诉|问题|我|你")
_NAME_CHARS = re.compile(r"^[\u4e00-\u9fffA-Za-z·•．. ]{1,20}$")
_TICKET_NUMBER = re.compile(r"[Gg]\s*[Dd][\s\-]*((?:\d[\s\-]*){8,})")
_NEW_VALUE = re.compile(r"(?:改成|改为|换成|换为|更正为|应该是|应为|应是)\s*[:：]?\s*(.+)$")
_PUNCTUATION = "，,。.!！?？：:；;、~～ \t\n"
# words that say "I want to file something" without saying what happened
_FILLER = re.compile(
    "意见建议|企业诉求|诉求工单|遇到困难|想找政府|需要政府|我们|我要|我想|想要|提交|提个|提一个|登记|反映|反应|"
    "一下|一个|企业|公司|诉求|訴求|投诉|头诉|问题|情况|难题|困难|意见|建议|政府|帮忙|解决|遇到|需要|"
    "请|给|找|提|有|个|的|了|想|要"
)
_SCORE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (NOT_SATISFIED, ("很不满意", "非常不满意", "不太满意", "不满意", "不滿意", "差评")),
    (FAIRLY_SATISFIED, ("基本满意", "基本滿意", "还算满意", "还行", "一般", "马马虎虎")),
    (SATISFIED, ("非常满意", "很满意", "满意", "滿意", "满易", "好评")),
)


# -- the tracker ------------------------------------------------------------------------


def message(tracker: Tracker) -> dict[str, Any]:
    return tracker.latest_message or {}


def text_of(tracker: Tracker) -> str:
    return str(message(tracker).get("text") or "").strip()


def intent_of(tracker: Tracker) -> tuple[str, float]:
    intent = message(tracker).get("intent") or {}
    return str(intent.get("name") or ""), float(intent.get("confidence") or 0.0)


def entity(tracker: Tracker, name: str) -> str | None:
    for found in message(tracker).get("entities") or []:
        if found.get("entity") == name and found.get("value") not in (None, ""):
            return str(found["value"])
    return None


def metadata_of(tracker: Tracker) -> dict[str, Any]:
    """The metadata of the latest message; for a triggered intent, of the last message the user sent."""
    metadata = message(tracker).get("metadata")
    if isinstance(metadata, dict) and metadata:
        return metadata
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            found = event.get("metadata")
            if isinstance(found, dict) and found:
                return found
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
            if not str(name).startswith("EXTERNAL_"):
                return {}
    return {}


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def clean(value: Any) -> str:
    return str(value or "").strip()


def strip_punctuation(text: str) -> str:
    return text.strip(_PUNCTUATION)


def sentence(text: str) -> str:
    """Service messages are sentences without the final stop; add it before appending more."""
    return text if text.endswith(("。", "！", "？")) else text + "。"


# -- what the user typed ----------------------------------------------------------------


def describes_problem(text: str) -> bool:
    """True when the message says what happened, not just "我要提诉求"."""
    core = _FILLER.sub("", re.sub(r"[\W_]+", "", text))
    return len(core) >= DESCRIPTION_MIN


def long_enough(text: str) -> bool:
    """A description with at least a few real characters."""
    return len(re.sub(r"[\W_]+", "", text)) >= DESCRIPTION_MIN


def category_in(text: str) -> str | None:
    """A category named or clearly meant by a short answer ("融资", "是用工", "贷款")."""
    value = strip_punctuation(text).replace("其它", "其他")
    if value in CATEGORIES:
        return value
    named = [category for category in CATEGORIES if category in value]
    if len(named) == 1:
        return named[0]
    return infer_category(value) if len(value) <= 10 else None


def categories_named(text: str) -> list[str]:
    return [category for category in CATEGORIES if category in text]


def mobile_in(text: str) -> str | None:
    """The mobile number in "手机 138 0013 8000" and the like."""
    return find_mobile(text)


def name_beside_mobile(text: str) -> str:
    """What is left of "王经理 13800001234" without the number."""
    return strip_punctuation(without_mobile(text))


def credit_code_in(text: str) -> str | None:
    """A credit code typed in a sentence ("查询诉求 91990102A5NNL98XUY")."""
    return find_credit_code(text)


def looks_like_name(text: str) -> bool:
    """A person's name or form of address (王经理, 张三, Lily), not a sentence."""
    value = strip_punctuation(text)
    return bool(_NAME_CHARS.match(value)) and not _QUESTIONISH.search(value)


def urgency_in(text: str) -> str | None:
    """普通 or 紧急 from what the user typed; skipping means 普通."""
    value = strip_punctuation(text).lower()
    if not value:
        return None
    if any(word in value for word in ("不紧急", "不急", "不着急", "普通", "一般", "正常")):
        return NORMAL
    if any(word in value for word in ("紧急", "加急", "特急", "很急", "急")):
        return URGENT
    if any(word in value for word in SKIP_WORDS):
        return NORMAL
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
                return score, strip_punctuation(text[at + len(word) :])
    return None, ""


def ticket_number_in(text: str) -> str | None:
    """GD202611230001 from "查一下 gd 2026 1123 0001"."""
    match = _TICKET_NUMBER.search(text)
    return "GD" + re.sub(r"\D", "", match.group(1)) if match else None


def new_value_in(text: str) -> str | None:
    """The replacement a correction names ("改成王经理" → 王经理), punctuation stripped."""
    match = _NEW_VALUE.search(text)
    return strip_punctuation(match.group(1)) if match else None


def is_plain_answer(text: str) -> bool:
    """Text with no word of changing or cancelling in it, and no button payload."""
    return bool(text) and not text.startswith("/") and not any(word in text for word in COMMAND_WORDS)


def is_affirm(tracker: Tracker, text: str) -> bool:
    intent, _ = intent_of(tracker)
    return intent == "affirm" or strip_punctuation(text) in AFFIRM_WORDS


def is_deny(tracker: Tracker, text: str) -> bool:
    intent, _ = intent_of(tracker)
    return intent == "deny" or strip_punctuation(text) in DENY_WORDS


def named_field(tracker: Tracker) -> str | None:
    """The field a correction names: a button's entity, else a keyword in the text."""
    field = entity(tracker, "appeal_field")
    if field in FIELD_LABELS:
        return field
    text = text_of(tracker)
    return None if text.startswith("/") else field_in(text)


def wants_change_without_field(tracker: Tracker) -> bool:
    """ "不对" or "修改" at the summary, without saying what: ask which item."""
    text = text_of(tracker)
    intent, _ = intent_of(tracker)
    wants_change = (
        intent in ("deny", "correct_field") or is_deny(tracker, text) or any(w in text for w in CHANGE_WORDS)
    )
    return wants_change and named_field(tracker) is None


def replacement_in(field: str, text: str) -> str | None:
    """The new value a correction names for ``field`` ("手机号错了，改成13800138000"), else ``None``.

    The enterprise and the description are always asked again in full.
    """
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
    return None
