"""The demo world the appeal action tests run in, and the helpers that play the user's side."""

from __future__ import annotations

import re
import time
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import sessionmaker

from appeals.identity import sign_identity
from appeals.service import (
    TicketCreate,
    TicketPublic,
    create_ticket,
    find_enterprise,
    mark_answered,
    mark_contacted,
)
from storage.transaction import transaction
from tests.conftest import REPO_ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((REPO_ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))

# two enterprises of the demo registry, each with its own butler
TENGFEI = {"name": "示例市腾飞生物医药有限公司", "code": "91990102A5NNL98XUY"}
TENGFEI_BUTLER = ("何杰", "13800000016")
WANXIANG = {"name": "示例市万象精密模具有限公司", "code": "919901031WTF2731AM"}
SECRET = "actions-test-identity-secret"
DEADLINE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日（周[一二三四五六日]）\d{2}:\d{2}")


def enterprise_id(factory: sessionmaker, code: str) -> int:
    with transaction(factory) as session:
        found = find_enterprise(session, code)
    assert found is not None
    return found.id


def signed(
    factory: sessionmaker, code: str, sender: str = "wx-openid-appeal", **changes: Any
) -> dict[str, Any]:
    """Metadata as the gateway sends it for a user logged in as the enterprise with ``code``."""
    identity = sign_identity(SECRET, sender, enterprise_id(factory, code), int(time.time()))
    return {"identity": {**identity, **changes}}


def tracker(
    text: str,
    intent: str,
    *,
    confidence: float = 0.99,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    requested: str | None = None,
    sender_id: str = "wx-openid-appeal",
) -> Tracker:
    """A tracker right after the user's message; with ``requested`` the form is active and
    the message was extracted into that slot, as Rasa hands it to the validation action."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "metadata": metadata or {},
    }
    events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest}]
    all_slots = dict(slots or {})
    if requested is not None:
        all_slots.update({"requested_slot": requested, requested: text})
        events += [
            {"event": "slot", "name": "requested_slot", "value": requested},
            {"event": "action", "name": "appeal_form"},
            {"event": "slot", "name": requested, "value": text},
        ]
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "appeal_form"} if requested else {},
        latest_action_name="action_listen",
    )


async def run(action: Action, state: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any], list[dict]]:
    """Messages, the slots the events set, and the raw events."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, state, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots, events


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def full_appeal(factory: sessionmaker, **overrides: Any) -> dict[str, Any]:
    slots = {
        "enterprise_id": enterprise_id(factory, TENGFEI["code"]),
        "enterprise_name": TENGFEI["name"],
        "appeal_id": "3f2a9c0e5b6d4e8f9a1b2c3d4e5f6a7b",
        "appeal_description": "我们厂停电三天了，生产线全部停工",
        "appeal_category_guess": "用电用水用气",
        "appeal_category": "用电用水用气",
        "contact_name": "王经理",
        "contact_phone": "13900000001",
        "appeal_urgency": "紧急",
        "appeal_confirm": "已确认",
    }
    return {**slots, **overrides}


def file_directly(factory: sessionmaker, code: str, key: str) -> TicketPublic:
    return create_ticket(
        factory,
        TicketCreate(
            idempotency_key=key,
            credit_code=code,
            category="用地",
            description="新厂房用地规划许可迟迟办不下来",
            contact_name="李经理",
            contact_phone="13900000002",
            sender_id="wx-openid-appeal",
        ),
    )


def answer(factory: sessionmaker, number: str, text: str = "已协调供电公司恢复供电") -> None:
    """The butler calls the enterprise, then reports the appeal handled: it waits for a rating."""
    with transaction(factory) as session:
        mark_contacted(session, number, "何杰", "电话联系了企业")
        mark_answered(session, number, "何杰", text)
