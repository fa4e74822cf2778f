"""Guide answers in the chat: the enterprise's district answers, the visitor picks one, a complaint is offered a filing.

Runs the real action against a copy of the demo world with two district copies
of 食品经营许可证核发 added, as an administrator would import them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy.orm import sessionmaker

from bot.actions.appeal_form import ActionStartAppeal
from bot.actions.guide import ActionAnswerGuide
from knowledge.importers import load_records
from knowledge.service import import_records
from tests.actions.appeal_world import TENGFEI, WANXIANG, run, signed, texts, tracker
from tests.conftest import DEMO_GUIDES

FOOD = "食品经营许可证核发"
EAST_OFFICE = "城东区政务服务中心一楼3号窗口"
WEST_OFFICE = "城西区政务服务中心A区"
MIXED = "食品经营许可证到底要什么材料？跑了三趟窗口每次都说缺东西，开业一拖再拖。"


@pytest.fixture
def regional_world(world: sessionmaker) -> sessionmaker:
    """The demo world plus the city item's copies for 城东区 (腾飞's district) and 城西区 (万象's)."""
    city = next(record for record in load_records([DEMO_GUIDES]) if record.name == FOOD)
    copies = [
        dataclasses.replace(
            city,
            id=f"{city.id}-{suffix}",
            level="县区",
            region=f"示例市{district}",
            department=f"示例市{district}市场监督管理局",
            location=office,
        )
        for suffix, district, office in (("E", "城东区", EAST_OFFICE), ("W", "城西区", WEST_OFFICE))
    ]
    with world.begin() as session:
        import_records(session=session, records=copies, source="test")
    return world


async def test_a_logged_in_enterprise_gets_its_own_districts_office(regional_world: sessionmaker) -> None:
    metadata = signed(regional_world, TENGFEI["code"])
    messages, _, _ = await run(
        ActionAnswerGuide(), tracker("食品经营许可证在哪里办", "ask_location", metadata=metadata)
    )
    assert EAST_OFFICE in texts(messages) and WEST_OFFICE not in texts(messages)
    assert messages[1]["custom"]["kind"] == "guide"

    metadata = signed(regional_world, WANXIANG["code"])
    messages, _, _ = await run(
        ActionAnswerGuide(), tracker("食品经营许可证在哪里办", "ask_location", metadata=metadata)
    )
    assert WEST_OFFICE in texts(messages)


async def test_an_unsigned_claim_of_an_enterprise_does_not_choose_the_district(
    regional_world: sessionmaker,
) -> None:
    forged = signed(regional_world, TENGFEI["code"], signature="0" * 64)
    messages, _, _ = await run(
        ActionAnswerGuide(), tracker("食品经营许可证在哪里办", "ask_location", metadata=forged)
    )
    assert messages[1]["custom"]["kind"] == "choose_region"


async def test_a_visitor_is_asked_the_district_and_the_tap_answers_from_it(
    regional_world: sessionmaker,
) -> None:
    messages, slots, _ = await run(ActionAnswerGuide(), tracker("食品经营许可证在哪里办", "ask_location"))
    assert messages[1]["custom"]["kind"] == "choose_region" and "哪个区县" in messages[0]["text"]
    west = next(b for b in messages[0]["buttons"] if b["title"] == "城西区")
    region = json.loads(west["payload"].removeprefix("/choose_region"))["region"]
    assert slots["guide_name"] == FOOD and slots["aspect"] == "location"

    tap = tracker(
        west["payload"],
        "choose_region",
        slots={**slots, "region": region},
        entities=[{"entity": "region", "value": region}],
    )
    messages, _, _ = await run(ActionAnswerGuide(), tap)
    assert WEST_OFFICE in texts(messages) and messages[1]["custom"]["kind"] == "guide"

    # the chosen district keeps answering the conversation's later questions
    later = tracker("那食品经营许可证在哪办理", "ask_location", slots={**slots, "region": region})
    messages, _, _ = await run(ActionAnswerGuide(), later)
    assert WEST_OFFICE in texts(messages)


async def test_a_district_tapped_with_no_item_under_discussion_asks_for_the_item(
    regional_world: sessionmaker,
) -> None:
    tap = tracker(
        '/choose_region{"region": "示例市城东区"}',
        "choose_region",
        entities=[{"entity": "region", "value": "示例市城东区"}],
    )
    messages, _, _ = await run(ActionAnswerGuide(), tap)
    assert messages[0]["text"].startswith("好的，已记下您选择的区县：示例市城东区。请问您想咨询哪个事项？")


async def test_a_question_that_complains_gets_the_answer_and_an_offer_to_file(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionAnswerGuide(), tracker(MIXED, "ask_materials"))
    assert messages[0]["text"].startswith(f"【{FOOD}】申请材料")
    offer = messages[-1]
    assert "登记为诉求" in offer["text"]
    assert offer["buttons"] == [{"title": "反映问题", "payload": "/file_appeal"}]
    assert slots["offered_description"] == MIXED

    # the button files the complaint itself: the form does not ask what happened
    button = tracker("/file_appeal", "file_appeal", slots=slots)
    messages, started, _ = await run(ActionStartAppeal(), button)
    assert started["appeal_description"] == MIXED and started["offered_description"] is None
    assert started["appeal_category_guess"] == "审批服务"
    assert "登记这条诉求" in texts(messages)


async def test_a_plain_question_gets_no_offer_and_forgets_an_earlier_one(world: sessionmaker) -> None:
    question = "我们刚租了门面准备开餐馆，食品经营许可证要准备哪些材料？"
    messages, slots, _ = await run(ActionAnswerGuide(), tracker(question, "ask_materials"))
    assert len(messages) == 2 and "offered_description" not in slots
    assert not any(b["payload"] == "/file_appeal" for m in messages for b in m.get("buttons") or [])

    _, slots, _ = await run(
        ActionAnswerGuide(), tracker(question, "ask_materials", slots={"offered_description": MIXED})
    )
    assert slots["offered_description"] is None
