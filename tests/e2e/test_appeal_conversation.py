"""Filing, following and rating an appeal the way an enterprise does it: over the REST webhook."""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from appeals.identity import sign_identity
from appeals.notices import pending_notices
from appeals.service import (
    TicketCreate,
    create_ticket,
    find_enterprise,
    get_ticket,
    list_tickets,
    mark_answered,
    mark_contacted,
)
from bot.processes import RunningAssistant, running_assistant
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.conftest import MODEL, build_demo_world

pytestmark = pytest.mark.e2e

CREDIT_CODE = "91990102A5NNL98XUY"  # 示例市腾飞生物医药有限公司, butler 何杰 13800000016
WANXIANG_CODE = "919901031WTF2731AM"  # 示例市万象精密模具有限公司
API_TOKEN = "e2e-api-token"
SECRET = "e2e-identity-secret"


@pytest.fixture(scope="module")
def world_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo knowledge base and the demo registry in one throwaway database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('appeal-e2e') / 'world.db'}"
    build_demo_world(url)
    return url


@pytest.fixture(scope="module")
def world(world_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(world_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def assistant(world_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAssistant]:
    assert MODEL.exists(), "train the model first (make train)"
    with running_assistant(
        MODEL,
        tmp_path_factory.mktemp("appeal-servers"),
        env={"DATABASE_URL": world_url, "IDENTITY_SECRET": SECRET},
        api_token=API_TOKEN,
    ) as running:
        yield running


def enterprise_id(world: sessionmaker, code: str) -> int:
    with transaction(world) as session:
        found = find_enterprise(session, code)
    assert found is not None
    return found.id


def signed(world: sessionmaker, sender: str, code: str = CREDIT_CODE) -> dict[str, Any]:
    """The metadata the gateway adds for a user it logged in as the enterprise with ``code``."""
    return {"identity": sign_identity(SECRET, sender, enterprise_id(world, code), int(time.time()))}


def say(
    assistant: RunningAssistant, sender: str, text: str, metadata: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One message through the REST webhook, with the metadata the gateway (or a forger) sends."""
    body = json.dumps({"sender": sender, "message": text, "metadata": metadata or {}}).encode()
    request = urllib.request.Request(
        assistant.webhook, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        replies: list[dict[str, Any]] = json.loads(response.read())
    return replies


def text_of(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def test_an_enterprise_files_follows_and_rates_an_appeal(
    assistant: RunningAssistant, world: sessionmaker
) -> None:
    sender = "wx-openid-tengfei"
    replies = say(assistant, sender, "我们厂停电三天了，生产线全停了", signed(world, sender))
    assert "根据您的描述，类别应为「用电用水用气」，对吗？" in text_of(replies)

    assert "联系人怎么称呼" in text_of(say(assistant, sender, "对", signed(world, sender)))

    # a guide question in the middle of the form is answered, then the form asks again
    replies = say(assistant, sender, "食品经营许可证需要准备哪些材料", signed(world, sender))
    assert replies[0]["text"].startswith("【食品经营许可证核发】申请材料")
    assert "联系人怎么称呼" in text_of(replies)

    assert "手机号码" in text_of(say(assistant, sender, "王经理", signed(world, sender)))
    assert "紧急" in text_of(say(assistant, sender, "13900000001", signed(world, sender)))
    summary = text_of(say(assistant, sender, "紧急", signed(world, sender)))
    assert "请核对诉求信息" in summary and "示例市腾飞生物医药有限公司" in summary

    receipt = text_of(say(assistant, sender, "确认", signed(world, sender)))
    assert "您的诉求已受理" in receipt and "何杰（电话 13800000016）" in receipt
    found = re.search(r"GD\d{12}", receipt)
    assert found is not None
    number = found.group(0)

    with transaction(world) as session:
        enterprise = find_enterprise(session, CREDIT_CODE)
        assert enterprise is not None
        tickets = list_tickets(session, enterprise_id=enterprise.id)
    assert [t.number for t in tickets] == [number]
    ticket = tickets[0]
    assert ticket.butler_name == "何杰" and ticket.butler_phone == "13800000016"
    assert ticket.category == "用电用水用气" and ticket.urgency == "紧急"
    assert ticket.contact_name == "王经理" and ticket.sender_id == sender

    status = text_of(say(assistant, sender, "我的诉求怎么样了", signed(world, sender)))
    assert f"工单 {number}（用电用水用气）：已受理" in status

    with transaction(world) as session:
        mark_contacted(session, number, "何杰", "电话联系了企业")
        mark_answered(session, number, "何杰", "已协调供电公司恢复供电")
    replies = say(assistant, sender, f"查一下{number}", signed(world, sender))
    ask = next(r for r in replies if r.get("buttons"))
    assert "是否满意" in ask["text"]
    assert {"kind": "rating", "ticket_number": number}.items() <= replies[-1]["custom"].items()
    unhappy = next(b["payload"] for b in ask["buttons"] if b["title"] == "不满意")

    reply = text_of(say(assistant, sender, unhappy, signed(world, sender)))
    assert f"工单 {number} 已重新交由管家何杰办理" in reply
    with transaction(world) as session:
        reopened = get_ticket(session, number)
    assert reopened is not None and reopened.status == "in_progress"


def test_a_storage_failure_keeps_the_appeal_and_the_retry_files_it_once(
    assistant: RunningAssistant, world: sessionmaker, world_url: str
) -> None:
    sender = "wx-openid-retry"
    for text in ("厂区门口的污水管网堵了一个星期", "对", "赵主任", "13900000009", "普通"):
        say(assistant, sender, text, signed(world, sender))
    database = world_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # numbering fails: the database cannot file anything
        db.execute("ALTER TABLE ticket_counter RENAME TO ticket_counter_gone")
    try:
        failed = text_of(say(assistant, sender, "确认", signed(world, sender)))
    finally:
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE ticket_counter_gone RENAME TO ticket_counter")
    assert "暂未提交成功" in failed and "已受理" not in failed
    assert "请核对诉求信息" in failed  # back at the summary, nothing lost

    receipt = text_of(say(assistant, sender, "确认", signed(world, sender)))
    assert receipt.startswith("您的诉求已受理")
    with transaction(world) as session:
        mine = [t for t in list_tickets(session) if t.sender_id == sender]
    assert len(mine) == 1 and mine[0].contact_name == "赵主任"


def test_cancelling_files_nothing(assistant: RunningAssistant, world: sessionmaker) -> None:
    sender = "wx-openid-cancel"
    say(assistant, sender, "我要提诉求", signed(world, sender))
    say(assistant, sender, "园区道路坏了好久没人修，货车进不来", signed(world, sender))
    assert text_of(say(assistant, sender, "算了不提了", signed(world, sender))).startswith(
        "已取消，本次诉求未提交。"
    )
    with transaction(world) as session:
        assert not [t for t in list_tickets(session) if t.sender_id == sender]


def test_another_enterprises_ticket_is_not_shown(assistant: RunningAssistant, world: sessionmaker) -> None:
    ticket = create_ticket(
        world,
        TicketCreate(
            idempotency_key="e2e:tengfei:land",
            credit_code=CREDIT_CODE,
            category="用地",
            description="新厂房用地规划许可迟迟办不下来",
            contact_name="李经理",
            contact_phone="13900000002",
        ),
    )
    # the same question from 示例市万象精密模具有限公司's account
    replies = say(
        assistant,
        "wx-openid-wanxiang",
        f"查一下{ticket.number}",
        signed(world, "wx-openid-wanxiang", WANXIANG_CODE),
    )
    assert text_of(replies) == f"没有找到贵企业的工单 {ticket.number}，请核对工单号。"
    colleague = "wx-openid-tengfei-2"
    assert ticket.number in text_of(
        say(assistant, colleague, f"查一下{ticket.number}", signed(world, colleague))
    )


def test_the_butlers_answer_asks_the_conversation_for_a_rating(
    assistant: RunningAssistant, world: sessionmaker
) -> None:
    sender = "wx-openid-push"
    say(assistant, sender, "你好", signed(world, sender))
    ticket = create_ticket(
        world,
        TicketCreate(
            idempotency_key="e2e:push",
            credit_code=CREDIT_CODE,
            category="融资",
            description="想申请创业担保贷款，银行迟迟不放款",
            contact_name="赵会计",
            contact_phone="13900000003",
            sender_id=sender,
        ),
    )
    with transaction(world) as session:
        mark_contacted(session, ticket.number, "何杰", "电话联系了赵会计")
        mark_answered(session, ticket.number, "何杰", "已协调银行本周放款")
    with transaction(world) as session:
        notices = [n for n in pending_notices(session) if n.ticket_number == ticket.number]
    assert [n.kind for n in notices] == ["routed", "answered"]
    answered = notices[-1]
    assert answered.sender_id == sender and answered.text == "已协调银行本周放款"

    # what the gateway does with an ``answered`` notice: trigger the rating question in that conversation
    url = (
        f"{assistant.rasa_url}/conversations/{sender}/trigger_intent?token={API_TOKEN}&output_channel=latest"
    )
    body = json.dumps({"name": "EXTERNAL_ticket_answered", "entities": {"ticket_number": ticket.number}})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        triggered = json.loads(response.read())
    asked = [m for m in triggered.get("messages") or [] if ticket.number in (m.get("text") or "")]
    if not asked:  # the REST channel hands the reply to the tracker only
        tracker = f"{assistant.rasa_url}/conversations/{sender}/tracker?token={API_TOKEN}"
        with urllib.request.urlopen(tracker, timeout=30) as response:
            events = json.loads(response.read())["events"]
        asked = [e for e in events if e["event"] == "bot" and ticket.number in (e.get("text") or "")]
    assert asked and "满意" in asked[-1]["text"]

    reply = text_of(say(assistant, sender, "很不满意，问题没解决", signed(world, sender)))
    assert ticket.number in reply or "重新" in reply
    with transaction(world) as session:
        reopened = get_ticket(session, ticket.number)
        kinds = [n.kind for n in pending_notices(session) if n.ticket_number == ticket.number]
    assert reopened is not None and reopened.status == "in_progress" and reopened.reopen_count == 1
    assert kinds == ["routed", "answered", "reopened"]


def _tengfei_ticket(world: sessionmaker) -> Any:
    """A ticket of 腾飞 filed from its own conversation, with a butler and a description."""
    return create_ticket(
        world,
        TicketCreate(
            idempotency_key="e2e:tengfei:secret",
            credit_code=CREDIT_CODE,
            category="用工",
            description="急需招聘三十名熟练焊工，人社局对接进展缓慢",
            contact_name="钱经理",
            contact_phone="13900000004",
            sender_id="wx-openid-tengfei-owner",
        ),
    )


def _reveals(replies: list[dict[str, Any]], ticket: Any) -> bool:
    said = json.dumps(replies, ensure_ascii=False)
    return any(secret in said for secret in (ticket.number, ticket.description, "13800000016", "焊工"))


@pytest.mark.parametrize("forgery", ["credit code", "bad signature", "another sender", "stale"])
def test_a_forged_identity_sees_nothing_of_the_enterprises_tickets(
    assistant: RunningAssistant, world: sessionmaker, forgery: str
) -> None:
    ticket = _tengfei_ticket(world)
    sender = f"forger-{forgery.replace(' ', '-')}"
    now = int(time.time())
    tengfei = enterprise_id(world, CREDIT_CODE)
    metadata: dict[str, Any]
    if forgery == "credit code":
        metadata = {"credit_code": CREDIT_CODE, "enterprise_id": tengfei}
    elif forgery == "bad signature":
        metadata = {"identity": {**sign_identity(SECRET, sender, tengfei, now), "signature": "0" * 64}}
    elif forgery == "another sender":
        metadata = {"identity": sign_identity(SECRET, "wx-openid-tengfei-owner", tengfei, now)}
    else:
        metadata = {"identity": sign_identity(SECRET, sender, tengfei, now - 3600)}
    for text in ("我的诉求怎么样了", f"查一下{ticket.number}", f"查询诉求 {CREDIT_CODE}"):
        replies = say(assistant, sender, text, metadata)
        assert not _reveals(replies, ticket), replies
    # the owner's own conversation, with the gateway's identity, does see it
    owner = "wx-openid-tengfei-owner"
    assert _reveals(say(assistant, owner, "我的诉求怎么样了", signed(world, owner)), ticket)
