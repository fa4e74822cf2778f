"""The appeal actions as the action server runs them, on the demo knowledge base and demo registry."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from appeals.identity import sign_identity
from appeals.notices import pending_notices
from appeals.service import (
    TicketCreate,
    TicketPublic,
    create_ticket,
    get_ticket,
    list_tickets,
    mark_answered,
    mark_contacted,
)
from bot.actions.appeals import (
    ActionAskAppealCategory,
    ActionAskAppealConfirm,
    ActionAskRating,
    ActionCancelAppeal,
    ActionCorrectAppeal,
    ActionStartAppeal,
    ActionSubmitAppeal,
    ActionSubmitRating,
    ActionTicketStatus,
    ValidateAppealForm,
    describes_problem,
    score_in,
    ticket_number_in,
)
from bot.actions.services import get_services
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.conftest import REPO_ROOT, build_demo_world

DOMAIN: dict[str, Any] = yaml.safe_load((REPO_ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))

# two enterprises of the demo registry, each with its own butler
TENGFEI = {"name": "示例市腾飞生物医药有限公司", "code": "91990102A5NNL98XUY"}
TENGFEI_BUTLER = ("何杰", "13800000016")
WANXIANG = {"name": "示例市万象精密模具有限公司", "code": "919901031WTF2731AM"}
SECRET = "actions-test-identity-secret"
DEADLINE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日（周[一二三四五六日]）\d{2}:\d{2}")


@pytest.fixture(scope="module")
def demo_world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("appeal-world") / "world.db"
    build_demo_world(f"sqlite:///{path}")
    return path


@pytest.fixture
def world(demo_world_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker]:
    """A fresh copy per test, so ticket counts are exact; the actions' services point at it."""
    target = tmp_path / "world.db"
    shutil.copyfile(demo_world_file, target)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("IDENTITY_SECRET", SECRET)
    for name in [name for name in os.environ if name.startswith("APPEALS_")]:
        monkeypatch.delenv(name)
    get_services.cache_clear()
    engine = make_engine(url)
    yield make_session_factory(engine)
    get_services.cache_clear()
    engine.dispose()


def enterprise_id(factory: sessionmaker, code: str) -> int:
    from appeals.service import find_enterprise

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


# -- starting and filling the form -----------------------------------------------------------


async def test_start_prefills_a_described_problem_and_the_category_is_offered(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionStartAppeal(), tracker("我们厂停电三天了，影响生产", "file_appeal"))
    assert slots["appeal_description"] == "我们厂停电三天了，影响生产"
    assert slots["appeal_category_guess"] == "用电用水用气"
    assert re.fullmatch(r"[0-9a-f]{32}", slots["appeal_id"])

    messages, _, _ = await run(ActionAskAppealCategory(), tracker("", "file_appeal", slots=slots))
    assert messages[0]["text"].startswith("根据您的描述，类别应为「用电用水用气」，对吗？")
    assert messages[0]["buttons"][0]["title"] == "对"
    assert {b["title"] for b in messages[0]["buttons"][1:]} == {
        "用地",
        "审批服务",
        "融资",
        "用工",
        "拖欠账款",
        "政策兑现",
        "执法检查",
        "其他",
    }

    _, filled, _ = await run(
        ValidateAppealForm(), tracker("对", "affirm", slots=slots, requested="appeal_category")
    )
    assert filled["appeal_category"] == "用电用水用气"


async def test_a_bare_request_starts_with_an_empty_description(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionStartAppeal(), tracker("我要提诉求", "file_appeal"))
    assert slots["appeal_description"] is None and slots["appeal_category_guess"] is None
    assert [m.get("response") for m in messages] == ["utter_file_appeal"]


async def test_another_category_can_be_chosen_instead_of_the_guess(world: sessionmaker) -> None:
    slots = {"appeal_category_guess": "用电用水用气"}
    _, filled, _ = await run(
        ValidateAppealForm(), tracker("不对", "deny", slots=slots, requested="appeal_category")
    )
    assert filled["appeal_category"] is None and filled["appeal_category_guess"] is None
    messages, _, _ = await run(ActionAskAppealCategory(), tracker("不对", "deny"))
    assert messages[0]["text"] == "请选择诉求类别：" and len(messages[0]["buttons"]) == 9
    _, filled, _ = await run(
        ValidateAppealForm(), tracker("融资", "ask_conditions", slots=slots, requested="appeal_category")
    )
    assert filled["appeal_category"] == "融资"


async def test_a_client_saying_which_enterprise_it_is_binds_nothing(world: sessionmaker) -> None:
    claimed = {"credit_code": TENGFEI["code"], "enterprise_id": enterprise_id(world, TENGFEI["code"])}
    for metadata in (claimed, signed(world, TENGFEI["code"], signature="0" * 64)):
        _, slots, _ = await run(
            ActionStartAppeal(), tracker("我们厂停电三天了", "file_appeal", metadata=metadata)
        )
        assert "enterprise_id" not in slots and "enterprise_name" not in slots


async def test_the_mini_program_binds_the_enterprise_and_the_form_skips_asking(world: sessionmaker) -> None:
    _, slots, _ = await run(
        ActionStartAppeal(),
        tracker("我们厂停电三天了", "file_appeal", metadata=signed(world, TENGFEI["code"])),
    )
    assert slots["enterprise_name"] == TENGFEI["name"]
    assert slots["enterprise_id"] == enterprise_id(world, TENGFEI["code"])
    required = await ValidateAppealForm().required_slots(
        DOMAIN["forms"]["appeal_form"]["required_slots"],
        CollectingDispatcher(),
        tracker("", "file_appeal", slots=slots),
        DOMAIN,
    )
    assert "appeal_enterprise" not in required and required[0] == "appeal_description"


async def test_an_enterprise_named_in_the_form_binds_the_conversation(world: sessionmaker) -> None:
    messages, slots, _ = await run(
        ValidateAppealForm(), tracker(TENGFEI["code"], "inform_guide", requested="appeal_enterprise")
    )
    assert slots["appeal_enterprise"] == TENGFEI["name"]
    assert slots["enterprise_id"] == enterprise_id(world, TENGFEI["code"])
    assert slots["requested_slot"] == "appeal_description"  # bound now: next question
    assert TENGFEI["name"] in texts(messages)


async def test_a_partial_name_matching_several_enterprises_offers_them(world: sessionmaker) -> None:
    messages, slots, _ = await run(
        ValidateAppealForm(), tracker("示例市天泽", "inform", requested="appeal_enterprise")
    )
    assert slots["appeal_enterprise"] is None
    assert messages[0]["text"].startswith("找到多家名称包含「示例市天泽」的企业")
    assert "示例市天泽制药有限公司" in [b["payload"] for b in messages[0]["buttons"]]


async def test_slots_cleared_when_a_filing_starts_are_not_answers(world: sessionmaker) -> None:
    state = tracker("我要提诉求", "file_appeal")
    state.events += [
        {"event": "slot", "name": "appeal_enterprise", "value": None},
        {"event": "slot", "name": "appeal_description", "value": None},
        {"event": "slot", "name": "contact_phone", "value": None},
    ]
    messages, slots, _ = await run(ValidateAppealForm(), state)
    assert messages == []  # no "please enter ..." for questions not asked yet
    assert slots == {"appeal_enterprise": None, "appeal_description": None, "contact_phone": None}


async def test_a_mistyped_credit_code_is_rejected_with_a_clear_message(world: sessionmaker) -> None:
    messages, slots, _ = await run(
        ValidateAppealForm(), tracker("91990102A5NNL98XUX", "inform_guide", requested="appeal_enterprise")
    )
    assert slots["appeal_enterprise"] is None and "enterprise_id" not in slots
    assert texts(messages) == "统一社会信用代码校验位不正确，请核对后重新输入。"


async def test_an_unknown_enterprise_is_asked_again(world: sessionmaker) -> None:
    messages, slots, _ = await run(
        ValidateAppealForm(), tracker("火星矿业", "inform_guide", requested="appeal_enterprise")
    )
    assert slots["appeal_enterprise"] is None
    assert "没有找到「火星矿业」" in texts(messages)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1380013800", "手机号码应为11位，您输入了10位。"),
        ("12345678901", "手机号码应以13至19开头，请核对后重新输入。"),
    ],
)
async def test_a_bad_mobile_number_gets_a_clear_message(
    world: sessionmaker, typed: str, message: str
) -> None:
    messages, slots, _ = await run(
        ValidateAppealForm(), tracker(typed, "nlu_fallback", requested="contact_phone")
    )
    assert slots["contact_phone"] is None
    assert texts(messages) == message


async def test_a_mobile_number_is_accepted_as_people_type_it(world: sessionmaker) -> None:
    _, slots, _ = await run(
        ValidateAppealForm(), tracker("手机 139 0000 0001", "nlu_fallback", requested="contact_phone")
    )
    assert slots["contact_phone"] == "13900000001"


async def test_name_and_phone_in_one_answer_fill_both(world: sessionmaker) -> None:
    _, slots, _ = await run(
        ValidateAppealForm(), tracker("王经理 13900000001", "nlu_fallback", requested="contact_name")
    )
    assert slots["contact_name"] == "王经理" and slots["contact_phone"] == "13900000001"


@pytest.mark.parametrize(("typed", "urgency"), [("紧急", "紧急"), ("跳过", "普通"), ("不急", "普通")])
async def test_urgency_is_optional(world: sessionmaker, typed: str, urgency: str) -> None:
    _, slots, _ = await run(ValidateAppealForm(), tracker(typed, "nlu_fallback", requested="appeal_urgency"))
    assert slots["appeal_urgency"] == urgency


async def test_the_summary_shows_everything_collected(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None)
    messages, _, _ = await run(ActionAskAppealConfirm(), tracker("紧急", "nlu_fallback", slots=slots))
    summary = messages[0]["text"]
    for value in (TENGFEI["name"], "用电用水用气", "我们厂停电三天了", "王经理", "13900000001", "紧急"):
        assert value in summary
    assert [b["title"] for b in messages[0]["buttons"]] == ["确认提交", "修改", "取消"]

    _, filled, _ = await run(
        ValidateAppealForm(), tracker("确认", "affirm", slots=slots, requested="appeal_confirm")
    )
    assert filled["appeal_confirm"] == "已确认" and filled["requested_slot"] is None  # the form is done


async def test_saying_no_at_the_summary_asks_what_to_change(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None)
    _, filled, _ = await run(
        ValidateAppealForm(), tracker("不对", "deny", slots=slots, requested="appeal_confirm")
    )
    assert filled["appeal_confirm"] is None and filled["requested_slot"] == "appeal_confirm"
    messages, _, _ = await run(ActionAskAppealConfirm(), tracker("不对", "deny", slots=slots))
    assert messages[0]["text"] == "请问需要修改哪一项？"
    assert "联系电话" in [b["title"] for b in messages[0]["buttons"]]


# -- corrections, cancelling, interruptions ----------------------------------------------------


@pytest.mark.parametrize(
    ("said", "slot", "value"),
    [
        ("电话填错了", "contact_phone", None),
        ("手机号错了，改成13800138000", "contact_phone", "13800138000"),
        ("联系人写错了", "contact_name", None),
        ("把联系人改成张三", "contact_name", "张三"),
        ("类别应该是融资", "appeal_category", "融资"),
        ("描述写得不清楚，我重写", "appeal_description", None),
    ],
)
async def test_a_correction_changes_the_field_it_names(
    world: sessionmaker, said: str, slot: str, value: str | None
) -> None:
    slots = full_appeal(world, appeal_confirm=None, requested_slot="appeal_confirm")
    _, changed, _ = await run(ActionCorrectAppeal(), tracker(said, "correct_field", slots=slots))
    assert changed[slot] == value
    assert changed["appeal_confirm"] is None  # the summary is confirmed again afterwards
    assert set(changed) <= {slot, "appeal_confirm", "appeal_category_guess"}


async def test_a_correction_button_names_the_field(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None, requested_slot="appeal_confirm")
    button = '/correct_field{"appeal_field":"appeal_urgency"}'
    state = tracker(
        button, "correct_field", slots=slots, entities=[{"entity": "appeal_field", "value": "appeal_urgency"}]
    )
    _, changed, _ = await run(ActionCorrectAppeal(), state)
    assert changed == {"appeal_urgency": None, "appeal_confirm": None}


async def test_an_unclear_correction_asks_which_field(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None, contact_phone=None, requested_slot="contact_phone")
    messages, changed, _ = await run(ActionCorrectAppeal(), tracker("改一下", "correct_field", slots=slots))
    assert changed == {}
    assert messages[0]["text"] == "请问需要修改哪一项？"
    assert {"联系人", "联系电话", "诉求类别", "问题描述", "紧急程度"} <= {
        b["title"] for b in messages[0]["buttons"]
    }


async def test_an_answer_misread_as_a_correction_still_answers_the_question(world: sessionmaker) -> None:
    slots = full_appeal(world, contact_name=None, contact_phone=None, requested_slot="contact_name")
    messages, changed, _ = await run(ActionCorrectAppeal(), tracker("王经理", "correct_field", slots=slots))
    assert changed == {"contact_name": "王经理"} and messages == []


async def test_after_a_direct_correction_the_summary_shows_the_new_value(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None, contact_phone="13800138000")
    messages, _, _ = await run(
        ActionAskAppealConfirm(), tracker("手机号错了，改成13800138000", "correct_field", slots=slots)
    )
    assert messages[0]["text"].startswith("请核对诉求信息") and "13800138000" in messages[0]["text"]


async def test_skipping_the_urgency_is_not_cancelling_the_appeal(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_urgency=None, appeal_confirm=None, requested_slot="appeal_urgency")
    messages, changed, events = await run(ActionCancelAppeal(), tracker("跳过", "cancel", slots=slots))
    assert changed == {"appeal_urgency": "普通"} and messages == []
    assert any(e["event"] == "followup" and e["name"] == "appeal_form" for e in events)


async def test_the_enterprise_from_the_mini_program_cannot_be_changed_in_the_chat(
    world: sessionmaker,
) -> None:
    slots = full_appeal(world, requested_slot="appeal_confirm")
    state = tracker("企业名称写错了", "correct_field", slots=slots, metadata=signed(world, TENGFEI["code"]))
    messages, changed, _ = await run(ActionCorrectAppeal(), state)
    assert changed == {}
    assert "登录信息" in texts(messages)


async def test_cancel_stops_the_form_and_forgets_the_appeal(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_confirm=None)
    messages, changed, events = await run(ActionCancelAppeal(), tracker("取消", "cancel", slots=slots))
    assert texts(messages).startswith("已取消，本次诉求未提交。")
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    for slot in ("appeal_description", "appeal_category", "contact_name", "contact_phone", "appeal_id"):
        assert changed[slot] is None
    assert "enterprise_id" not in changed  # the binding stays


async def test_a_guide_question_in_the_form_is_answered_and_the_question_asked_again(
    world: sessionmaker,
) -> None:
    slots = full_appeal(
        world, contact_name=None, contact_phone=None, appeal_urgency=None, appeal_confirm=None
    )
    state = tracker(
        "食品经营许可证要什么材料", "ask_materials", confidence=0.95, slots=slots, requested="contact_name"
    )
    messages, filled, _ = await run(ValidateAppealForm(), state)
    assert messages[0]["text"].startswith("【食品经营许可证核发】申请材料")
    assert messages[1]["custom"]["kind"] == "guide"
    assert filled["contact_name"] is None  # not taken as a name
    assert filled["requested_slot"] == "contact_name"  # the form asks for the name again
    assert filled["guide_name"] == "食品经营许可证核发"

    _, filled, _ = await run(
        ValidateAppealForm(), tracker("王经理", "nlu_fallback", slots=slots, requested="contact_name")
    )
    assert filled["contact_name"] == "王经理" and filled["requested_slot"] == "contact_phone"


async def test_while_describing_the_problem_every_text_is_the_description(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_description=None, appeal_category=None, appeal_category_guess=None)
    text = "办理施工许可证要什么材料，窗口一直说不全"
    messages, filled, _ = await run(
        ValidateAppealForm(), tracker(text, "ask_materials", slots=slots, requested="appeal_description")
    )
    assert messages == []
    assert filled["appeal_description"] == text and filled["appeal_category_guess"] == "审批服务"


# -- submitting --------------------------------------------------------------------------------


async def test_submit_files_one_ticket_even_when_retried(world: sessionmaker) -> None:
    slots = full_appeal(world)
    first, after, _ = await run(ActionSubmitAppeal(), tracker("确认", "affirm", slots=slots))
    again, _, _ = await run(ActionSubmitAppeal(), tracker("确认", "affirm", slots=slots))

    receipt = first[0]["text"]
    assert receipt.startswith("您的诉求已受理，工单号 GD")
    number = re.search(r"GD\d{12}", receipt)
    assert number is not None
    assert again[0]["text"] == receipt  # the retry returns the same ticket
    assert f"{TENGFEI_BUTLER[0]}（电话 {TENGFEI_BUTLER[1]}）" in receipt
    assert len(DEADLINE.findall(receipt)) == 3
    assert first[1]["custom"]["number"] == number.group(0)

    with transaction(world) as session:
        tickets = list_tickets(session, enterprise_id=slots["enterprise_id"])
    assert [t.number for t in tickets] == [number.group(0)]
    assert tickets[0].butler_name == TENGFEI_BUTLER[0] and tickets[0].urgency == "紧急"
    assert after["appeal_description"] is None and "enterprise_id" not in after  # binding kept


async def test_a_storage_failure_never_claims_success(world: sessionmaker) -> None:
    slots = full_appeal(world)
    with world.begin() as session:  # numbering fails: the database cannot file anything
        session.execute(text("ALTER TABLE ticket_counter RENAME TO ticket_counter_gone"))
    try:
        messages, changed, events = await run(ActionSubmitAppeal(), tracker("确认", "affirm", slots=slots))
    finally:
        with world.begin() as session:
            session.execute(text("ALTER TABLE ticket_counter_gone RENAME TO ticket_counter"))
    said = texts(messages)
    assert "暂未提交成功" in said and "已受理" not in said and "工单号" not in said
    assert changed == {"appeal_id": slots["appeal_id"], "appeal_confirm": None}  # kept to try again
    assert any(e["event"] == "followup" and e["name"] == "appeal_form" for e in events)
    with transaction(world) as session:
        assert list_tickets(session, enterprise_id=slots["enterprise_id"]) == []
        assert pending_notices(session) == []


# -- status and rating -------------------------------------------------------------------------


async def test_status_shows_only_the_enterprises_own_tickets(world: sessionmaker) -> None:
    mine = file_directly(world, TENGFEI["code"], "test:mine")
    theirs = file_directly(world, WANXIANG["code"], "test:theirs")
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"]), "enterprise_name": TENGFEI["name"]}

    messages, _, _ = await run(
        ActionTicketStatus(), tracker(f"查一下{mine.number}", "ticket_status", slots=bound)
    )
    assert messages[0]["text"].startswith(f"工单 {mine.number}（用地）：已受理")
    assert "当前时限" in messages[0]["text"] and TENGFEI_BUTLER[0] in messages[0]["text"]

    spaced = " ".join([theirs.number[:2], theirs.number[2:10], theirs.number[10:]]).lower()
    messages, _, _ = await run(
        ActionTicketStatus(), tracker(f"查询工单 {spaced}", "ticket_status", slots=bound)
    )
    assert texts(messages) == f"没有找到贵企业的工单 {theirs.number}，请核对工单号。"

    messages, _, _ = await run(
        ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status", slots=bound)
    )
    assert mine.number in messages[0]["text"] and theirs.number not in messages[0]["text"]


async def test_status_for_an_unbound_conversation_asks_for_the_enterprise(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status"))
    assert "统一社会信用代码" in texts(messages) and slots == {}

    ticket = file_directly(world, TENGFEI["code"], "test:unbound")
    messages, slots, _ = await run(
        ActionTicketStatus(), tracker(f"查询诉求 {TENGFEI['code']}", "ticket_status")
    )
    assert slots["enterprise_name"] == TENGFEI["name"]
    assert ticket.number in messages[0]["text"]


def answer(factory: sessionmaker, number: str) -> None:
    with transaction(factory) as session:
        mark_contacted(session, number, "何杰", "电话联系了企业")
        mark_answered(session, number, "何杰", "已协调供电公司恢复供电")


async def test_an_answered_ticket_is_rated_and_not_satisfied_reopens_it(world: sessionmaker) -> None:
    ticket = file_directly(world, TENGFEI["code"], "test:rate")
    answer(world, ticket.number)
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"]), "enterprise_name": TENGFEI["name"]}

    messages, slots, _ = await run(
        ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status", slots=bound)
    )
    ask = messages[-1]
    assert "已协调供电公司恢复供电" in ask["text"] and "是否满意" in ask["text"]
    assert [b["title"] for b in ask["buttons"]] == ["满意", "基本满意", "不满意"]
    assert ask["buttons"][2]["payload"] == (
        f'/rate_ticket{{"ticket_number": "{ticket.number}", "rating_score": "不满意"}}'
    )
    assert slots["rating_ticket"] == ticket.number

    messages, slots, _ = await run(
        ActionSubmitRating(), tracker("不满意，问题没解决", "rate_ticket", slots={**bound, **slots})
    )
    assert messages[0]["text"].startswith(f"很抱歉没能让您满意。工单 {ticket.number} 已重新交由管家何杰办理")
    assert slots["rating_ticket"] is None
    with transaction(world) as session:
        reopened = get_ticket(session, ticket.number)
    assert reopened is not None and reopened.status == "in_progress" and reopened.reopen_count == 1
    assert reopened.ratings[-1].score == "不满意" and reopened.ratings[-1].comment == "问题没解决"


async def test_a_rating_button_closes_the_ticket(world: sessionmaker) -> None:
    ticket = file_directly(world, TENGFEI["code"], "test:button")
    answer(world, ticket.number)
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"])}
    entities = [
        {"entity": "ticket_number", "value": ticket.number},
        {"entity": "rating_score", "value": "满意"},
    ]
    payload = f'/rate_ticket{{"ticket_number":"{ticket.number}","rating_score":"满意"}}'
    messages, _, _ = await run(
        ActionSubmitRating(), tracker(payload, "rate_ticket", slots=bound, entities=entities)
    )
    assert texts(messages) == f"感谢您的评价！工单 {ticket.number} 已办结。"


async def test_another_enterprise_cannot_rate_a_ticket(world: sessionmaker) -> None:
    ticket = file_directly(world, TENGFEI["code"], "test:foreign")
    answer(world, ticket.number)
    other = {"enterprise_id": enterprise_id(world, WANXIANG["code"]), "rating_ticket": ticket.number}
    messages, _, _ = await run(ActionSubmitRating(), tracker("满意", "rate_ticket", slots=other))
    assert texts(messages) == f"没有找到工单 {ticket.number}。"
    with transaction(world) as session:
        still = get_ticket(session, ticket.number)
    assert still is not None and still.status == "answered"


async def test_the_pushed_answer_asks_for_a_rating(world: sessionmaker) -> None:
    ticket = file_directly(world, TENGFEI["code"], "test:push")
    answer(world, ticket.number)
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"])}
    entities = [{"entity": "ticket_number", "value": ticket.number}]
    messages, slots, _ = await run(
        ActionAskRating(), tracker("", "EXTERNAL_ticket_answered", slots=bound, entities=entities)
    )
    assert "是否满意" in messages[0]["text"] and slots == {"rating_ticket": ticket.number}

    elsewhere = {"enterprise_id": enterprise_id(world, WANXIANG["code"])}
    messages, slots, _ = await run(
        ActionAskRating(), tracker("", "EXTERNAL_ticket_answered", slots=elsewhere, entities=entities)
    )
    assert messages == [] and slots == {}


# -- reading what people type ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "describes"),
    [
        ("我要提诉求", False),
        ("想反映个问题", False),
        ("我要登记一个企业诉求", False),
        ("企业遇到困难想找政府帮忙", False),
        ("我们厂停电三天了没人管", True),
        ("用地指标下不来", True),
        ("政府项目欠我们工程款一直不给", True),
    ],
)
def test_a_description_is_told_apart_from_a_bare_request(text: str, describes: bool) -> None:
    assert describes_problem(text) is describes


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("满意", "满意", ""),
        ("基本满意，就是慢了点", "基本满意", "就是慢了点"),
        ("很不满意，问题没解决", "不满意", "问题没解决"),
        ("还行", "基本满意", ""),
        ("你好", None, ""),
    ],
)
def test_scores_and_comments_are_read_from_the_text(text: str, score: str | None, comment: str) -> None:
    assert score_in(text) == (score, comment)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("查一下GD202611230001", "GD202611230001"),
        ("gd 2026 1123 0001 到哪了", "GD202611230001"),
        ("我的诉求", None),
    ],
)
def test_ticket_numbers_are_found_in_the_text(text: str, number: str | None) -> None:
    assert ticket_number_in(text) == number


async def test_typing_a_credit_code_does_not_reveal_another_users_appeals(world: sessionmaker) -> None:
    filed = file_directly(world, TENGFEI["code"], "test:privacy")  # filed from wx-openid-appeal

    stranger = await run(
        ActionTicketStatus(),
        tracker(f"查询诉求 {TENGFEI['code']}", "ticket_status", sender_id="wx-openid-stranger"),
    )
    assert filed.number not in texts(stranger[0])
    asked = await run(
        ActionTicketStatus(),
        tracker(
            f"查询工单 {filed.number}",
            "ticket_status",
            sender_id="wx-openid-stranger",
            slots={"enterprise_id": enterprise_id(world, TENGFEI["code"])},
        ),
    )
    assert texts(asked[0]) == f"没有找到贵企业的工单 {filed.number}，请核对工单号。"

    # a colleague logged in to the mini-program as this enterprise sees it
    colleague = await run(
        ActionTicketStatus(),
        tracker(
            "我的诉求怎么样了",
            "ticket_status",
            sender_id="wx-openid-colleague",
            metadata=signed(world, TENGFEI["code"], sender="wx-openid-colleague"),
        ),
    )
    assert filed.number in texts(colleague[0])


@pytest.mark.parametrize(
    "forged",
    [
        {"credit_code": TENGFEI["code"]},
        {"enterprise_id": 1, "credit_code": TENGFEI["code"]},
        "bad-signature",
        "another-sender",
        "stale",
    ],
)
async def test_an_unverified_identity_sees_only_its_own_tickets(world: sessionmaker, forged: Any) -> None:
    filed = file_directly(world, TENGFEI["code"], "test:forged")  # filed from wx-openid-appeal
    sender = "wx-openid-forger"
    if forged == "bad-signature":
        metadata = signed(world, TENGFEI["code"], sender=sender, signature="ab" * 32)
    elif forged == "another-sender":
        metadata = signed(world, TENGFEI["code"], sender="wx-openid-appeal")
    elif forged == "stale":
        identity = sign_identity(
            SECRET, sender, enterprise_id(world, TENGFEI["code"]), int(time.time()) - 3600
        )
        metadata = {"identity": identity}
    else:
        metadata = forged
    for typed in ("我的诉求怎么样了", f"查询工单 {filed.number}", f"查询诉求 {TENGFEI['code']}"):
        messages, _, _ = await run(
            ActionTicketStatus(), tracker(typed, "ticket_status", sender_id=sender, metadata=metadata)
        )
        said = json.dumps(messages, ensure_ascii=False)
        assert filed.number not in said and TENGFEI_BUTLER[1] not in said and "用地" not in said
