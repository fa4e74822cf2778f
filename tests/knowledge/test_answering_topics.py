"""Which card a question gets: the steps for "X怎么办", a new topic is not a follow-up, paraphrases find their item."""

from __future__ import annotations

import pytest

from knowledge.answering import Context
from knowledge.assistant import GuideAssistant


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("海关备案怎么办", "海关进出口货物收发货人备案"),
        ("个体户执照咋弄", "个体工商户设立登记"),
        ("排污许可证怎么申请", "排污许可证核发"),
        ("公章刻制备案如何办理", "公章刻制备案"),
    ],
)
def test_how_to_do_x_gets_the_steps(guide_assistant: GuideAssistant, question: str, item: str) -> None:
    reply = guide_assistant.reply(question)
    assert reply.kind == "guide" and reply.guide_name == item and reply.aspect == "process", question
    assert reply.text.startswith(f"【{item}】办理流程")
    assert "\n1. " in reply.text


def test_a_steps_card_carries_a_short_materials_list(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    from knowledge.service import get_guide

    reply = guide_assistant.reply("公章刻制备案怎么办")
    assert reply.guide_id is not None
    with demo_kb() as session:
        guide = get_guide(session=session, guide_id=reply.guide_id)
    assert guide is not None and 0 < len(guide.materials) <= 6
    steps, _, materials = reply.text.partition("申请材料：")
    assert materials, "the materials are in the same card"
    assert guide.materials[0]["name"] in materials and guide.steps[0]["name"] in steps


def test_a_long_materials_list_stays_in_its_own_card(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    from knowledge.service import get_guide

    reply = guide_assistant.reply("企业开办一件事怎么办")
    assert reply.guide_id is not None
    with demo_kb() as session:
        guide = get_guide(session=session, guide_id=reply.guide_id)
    assert guide is not None and len(guide.materials) > 6
    assert reply.aspect == "process" and "申请材料：" not in reply.text


def test_which_licence_questions_still_get_the_overview(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("开饭店要办什么证")
    assert reply.guide_name == "食品经营许可证核发" and reply.aspect == "overview"
    assert "实施机关" in reply.text and "承诺办结时限" in reply.text


def test_a_new_topic_right_after_a_guide_answer_is_a_new_question(guide_assistant: GuideAssistant) -> None:
    first = guide_assistant.reply("食品经营许可证要什么材料", intent="ask_materials", intent_confidence=0.99)
    assert first.guide_name == "食品经营许可证核发"
    context = Context(first.guide_id, first.aspect)
    reply = guide_assistant.reply("厂房租赁补贴去哪里申请", context=context, record_unanswered=False)
    assert reply.guide_name != "食品经营许可证核发"
    assert not (reply.kind == "guide" and reply.guide_id == first.guide_id)


@pytest.mark.parametrize(
    ("opening", "follow_up", "aspect"),
    [
        ("有限责任公司设立登记要多久", "注册资本要实缴吗？有没有最低要求", "conditions"),
        ("食品生产许可证要什么材料", "申请有啥条件？对厂房面积有要求没", "conditions"),
        ("企业年度报告公示怎么报", "截止日期是几号，过了会咋样", "time_limit"),
    ],
)
def test_a_follow_up_with_its_own_details_keeps_the_item(
    guide_assistant: GuideAssistant, opening: str, follow_up: str, aspect: str
) -> None:
    first = guide_assistant.reply(opening)
    assert first.kind == "guide"
    intent = f"ask_{aspect}"
    reply = guide_assistant.reply(
        follow_up, intent=intent, intent_confidence=0.95, context=Context(first.guide_id, first.aspect)
    )
    assert reply.kind == "guide" and reply.guide_id == first.guide_id, follow_up


@pytest.mark.parametrize(
    ("question", "item"),
    [
        ("拆房的渣土运走", "城市建筑垃圾处置核准"),
        ("新来的工人要交五险", "单位社会保险参保登记"),
        ("接管子要挖开马路，找谁审批", "占用挖掘城市道路审批"),
    ],
)
def test_plain_words_find_the_item(guide_assistant: GuideAssistant, question: str, item: str) -> None:
    reply = guide_assistant.reply(question)
    assert reply.kind == "guide" and reply.guide_name == item, question
