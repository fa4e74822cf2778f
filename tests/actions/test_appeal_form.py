"""Filing an appeal in the chat: the form from start to submit, corrections, cancelling."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from appeals.notices import pending_notices
from appeals.service import list_tickets
from bot.actions.appeal_form import (
    ActionAskAppealCategory,
    ActionAskAppealConfirm,
    ActionCancelAppeal,
    ActionCorrectAppeal,
    ActionStartAppeal,
    ActionSubmitAppeal,
    ValidateAppealForm,
)
from storage.transaction import transaction
from tests.actions.appeal_world import (
    DEADLINE,
    DOMAIN,
    TENGFEI,
    TENGFEI_BUTLER,
    answer,
    enterprise_id,
    file_directly,
    full_appeal,
    run,
    signed,
    texts,
    tracker,
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
    card = first[1]["custom"]
    assert card["kind"] == "ticket" and card["number"] == number.group(0)
    assert card["urgency"] == "紧急"  # what makes the gateway hand the conversation to a person
    assert card["butler_name"] == TENGFEI_BUTLER[0] and card["current_deadline"]["light"] == "green"

    with transaction(world) as session:
        tickets = list_tickets(session, enterprise_id=slots["enterprise_id"])
    assert [t.number for t in tickets] == [number.group(0)]
    assert tickets[0].butler_name == TENGFEI_BUTLER[0] and tickets[0].urgency == "紧急"
    assert after["appeal_description"] is None and "enterprise_id" not in after  # binding kept


async def test_an_ordinary_filing_says_so_in_its_card(world: sessionmaker) -> None:
    slots = full_appeal(world, appeal_urgency="普通", appeal_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    messages, _, _ = await run(ActionSubmitAppeal(), tracker("确认", "affirm", slots=slots))
    assert messages[1]["custom"]["kind"] == "ticket" and messages[1]["custom"]["urgency"] == "普通"


async def test_filing_asks_for_a_rating_still_waiting(world: sessionmaker) -> None:
    waiting = file_directly(world, TENGFEI["code"], "test:waiting")
    answer(world, waiting.number)
    messages, slots, _ = await run(ActionSubmitAppeal(), tracker("确认", "affirm", slots=full_appeal(world)))
    assert messages[0]["text"].startswith("您的诉求已受理")
    assert waiting.number in messages[-1]["text"] and "是否满意" in messages[-1]["text"]
    assert slots["rating_ticket"] == waiting.number


async def test_the_form_starts_even_when_the_binding_cannot_be_read(world: sessionmaker) -> None:
    state = tracker("我们厂停电三天了", "file_appeal", metadata=signed(world, TENGFEI["code"]))
    with world.begin() as session:  # the registry is unreadable: the identity cannot bind
        session.execute(text("ALTER TABLE enterprise RENAME TO enterprise_gone"))
    try:
        messages, slots, _ = await run(ActionStartAppeal(), state)
    finally:
        with world.begin() as session:
            session.execute(text("ALTER TABLE enterprise_gone RENAME TO enterprise"))
    assert texts(messages) == "收到，我来帮您登记这条诉求，只需几步。"
    assert slots["appeal_description"] == "我们厂停电三天了" and "enterprise_id" not in slots
    assert re.fullmatch(r"[0-9a-f]{32}", slots["appeal_id"])


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


# -- a long complaint starts the form with everything it already said ------------------------------


async def test_a_long_complaint_is_the_description_and_its_phone_the_contacts(world: sessionmaker) -> None:
    complaint = (
        "我们的用电增容申请报上去两个多月了一直没批，新买的设备只能放着。"
        "供电所说要等线路改造，麻烦帮忙催一下，联系电话13900000005。"
    )
    messages, slots, _ = await run(ActionStartAppeal(), tracker(complaint, "file_appeal"))
    assert slots["appeal_description"] == complaint
    assert slots["contact_phone"] == "13900000005"
    assert slots["appeal_category_guess"] == "用电用水用气"
    assert texts(messages) == "收到，我来帮您登记这条诉求，只需几步。"

    # the form goes on to what the message did not say; the phone passes its validation
    _, filled, _ = await run(
        ValidateAppealForm(), tracker("13900000005", "inform", slots=slots, requested="contact_phone")
    )
    assert filled["contact_phone"] == "13900000005"


async def test_a_complaint_naming_no_category_is_offered_other_to_confirm(world: sessionmaker) -> None:
    complaint = "隔壁工地每天半夜还在施工，我们酒店的客人天天说睡不好，找了好几次都没人处理。"
    _, slots, _ = await run(ActionStartAppeal(), tracker(complaint, "file_appeal"))
    assert slots["appeal_description"] == complaint and slots["appeal_category_guess"] == "其他"
    messages, _, _ = await run(ActionAskAppealCategory(), tracker("", "file_appeal", slots=slots))
    assert messages[0]["text"].startswith("根据您的描述，类别应为「其他」，对吗？")
    assert messages[0]["buttons"][0] == {"title": "对", "payload": "/affirm"}
    _, filled, _ = await run(
        ValidateAppealForm(), tracker("对", "affirm", slots=slots, requested="appeal_category")
    )
    assert filled["appeal_category"] == "其他"
