"""One question in, one reply out: the contract the chat and ``butler ask`` share."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select

from knowledge.answering import Context, answer_question
from knowledge.assistant import GuideAssistant
from knowledge.live_index import LiveIndex
from knowledge.models import UnansweredQuestion
from knowledge.records import GuideRecord
from knowledge.service import get_guide, import_records, list_unanswered


def test_materials_answer_is_a_numbered_list_with_its_source(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("食品经营许可证要什么材料", intent="ask_materials", intent_confidence=0.99)
    assert reply.kind == "guide" and reply.guide_name == "食品经营许可证核发" and reply.aspect == "materials"
    assert reply.text.startswith("【食品经营许可证核发】申请材料")
    assert re.search(r"^1\. .+（(原件|复印件|原件和复印件|电子件)\d+份", reply.text, re.M)
    assert "来源：《食品经营许可证核发》办事指南，更新于2026-" in reply.text
    assert "示例数据，以当地政务服务网公布为准" in reply.text
    assert reply.custom == {
        "kind": "guide",
        "guide_id": reply.guide_id,
        "guide_name": "食品经营许可证核发",
        "aspect": "materials",
        "version": "1",
        "has_guide": True,
    }


def test_time_limit_answer_gives_units(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("排污许可证要多久", intent="ask_time_limit", intent_confidence=0.99)
    assert "法定办结时限" in reply.text and "承诺办结时限" in reply.text
    assert re.search(r"\d+个(工作日|自然日)", reply.text)


def test_answers_come_from_the_stored_fields(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    reply = guide_assistant.reply("取水许可咨询电话", intent="ask_contact", intent_confidence=0.99)
    with demo_kb() as session:
        guide = get_guide(session=session, guide_id=reply.guide_id)
    assert guide is not None and guide.phone in reply.text and guide.department in reply.text


def test_where_to_file_a_guide_done_only_online_is_answered_with_the_way_in(
    guide_assistant: GuideAssistant,
) -> None:
    # the annual report's place is the web ("网上办理；现场咨询：…"): the entry link, and the desk for questions
    reply = guide_assistant.reply("企业年度报告公示在哪里办", intent="ask_location", intent_confidence=0.99)
    assert reply.guide_name == "企业年度报告公示" and reply.aspect == "online"
    assert "办理入口：http" in reply.text and "现场咨询" in reply.text
    # a guide with a desk keeps the place
    desk = guide_assistant.reply("排污许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    assert desk.aspect == "location" and "办理地点" in desk.text


def test_follow_up_keeps_the_item(guide_assistant: GuideAssistant) -> None:
    first = guide_assistant.reply("食品经营许可证要什么材料", intent="ask_materials", intent_confidence=0.99)
    follow = guide_assistant.reply(
        "那要多久？",
        intent="ask_time_limit",
        intent_confidence=0.99,
        context=Context(first.guide_id, first.aspect),
    )
    assert follow.kind == "guide" and follow.guide_id == first.guide_id and follow.aspect == "time_limit"
    # `butler ask --jsonl` says what decided the item: the name's words, then the conversation
    assert (first.basis, follow.basis) == ("words", "context")
    assert first.to_json("食品经营许可证要什么材料")["basis"] == "words"


def test_naming_another_item_switches_item_and_keeps_the_aspect(guide_assistant: GuideAssistant) -> None:
    first = guide_assistant.reply("食品经营许可证要什么材料", intent="ask_materials", intent_confidence=0.99)
    switched = guide_assistant.reply(
        "那排污许可呢？",
        intent="inform_guide",
        intent_confidence=0.95,
        context=Context(first.guide_id, first.aspect),
    )
    assert switched.guide_name == "排污许可证核发" and switched.aspect == "materials"


def test_elliptical_follow_up_replaces_part_of_the_name(guide_assistant: GuideAssistant) -> None:
    first = guide_assistant.reply("企业投资项目备案怎么办", intent="ask_overview", intent_confidence=0.99)
    assert first.guide_name == "企业投资项目备案"
    switched = guide_assistant.reply(
        "那核准呢？",
        intent="inform_guide",
        intent_confidence=0.95,
        context=Context(first.guide_id, first.aspect),
    )
    assert switched.guide_name == "企业投资项目核准" and switched.basis == "words"


def test_keywords_correct_an_unsure_intent(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("公章刻制备案收费吗", intent="ask_overview", intent_confidence=0.55)
    assert reply.aspect == "fee"


def test_follow_up_without_context_asks_which_item(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("那要多久？", intent="ask_time_limit", intent_confidence=0.99)
    assert reply.kind == "no_answer" and "哪个事项" in reply.text and not reply.unanswered


def test_ambiguous_question_offers_choices_as_buttons(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply("规划许可怎么办", intent="ask_overview", intent_confidence=0.99)
    assert reply.kind == "choose_guide"
    names = {c["guide_name"] for c in reply.custom["candidates"]}
    assert {"建设用地规划许可证核发", "建设工程规划许可证核发"} <= names
    voltage = guide_assistant.reply("用电报装要什么材料", intent="ask_materials", intent_confidence=0.99)
    assert {c["guide_name"] for c in voltage.custom["candidates"]} >= {"高压用电报装", "低压小微企业用电报装"}
    assert 2 <= len(reply.buttons) <= 4
    assert all(b["payload"].startswith("/choose_guide{") for b in reply.buttons)


def test_chosen_item_is_answered(guide_assistant: GuideAssistant) -> None:
    choice = guide_assistant.reply("消防怎么办", intent="ask_materials", intent_confidence=0.99)
    picked = choice.custom["candidates"][0]
    reply = guide_assistant.reply_chosen(picked["guide_id"], "materials")
    assert reply is not None and reply.guide_name == picked["guide_name"] and reply.aspect == "materials"
    assert reply.basis == "chosen"
    assert guide_assistant.reply_chosen("NO-SUCH-ID", "materials") is None


def test_unanswerable_question_is_honest_and_logged(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    reply = guide_assistant.reply(
        "帮我查一下明天的天气", intent="out_of_scope", intent_confidence=0.6, sender_id="u-77"
    )
    assert reply.kind == "no_answer" and reply.custom == {"kind": "no_answer"}
    assert "转人工" in reply.text and reply.guide_id is None
    with demo_kb() as session:
        logged = list_unanswered(session=session, limit=10)
    assert any(q.text == "帮我查一下明天的天气" and q.sender_id == "u-77" for q in logged)


def test_a_guess_is_logged_with_the_guide_it_offered_first(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    question = "我们想建个仓库，听说要先在发改委挂个号"
    reply = guide_assistant.reply(question, sender_id="u-79")
    assert reply.custom.get("suggested") and reply.basis == "meaning"
    with demo_kb() as session:
        row = session.execute(
            select(UnansweredQuestion).where(UnansweredQuestion.sender_id == "u-79")
        ).scalar_one()
    assert row.text == question and row.best_guess == reply.custom["candidates"][0]["guide_name"]
    # the meaning's probability: above the floor for offers, short of what answers without the words
    assert 0.25 <= float(row.confidence) < 0.86


def test_bad_input_gets_a_polite_reply(guide_assistant: GuideAssistant) -> None:
    for text in ["", "   ", "😂😂😂", "\x00\x01\x02", "？？？"]:
        reply = guide_assistant.reply(text)
        assert reply.kind == "no_answer" and reply.text, text
    long_reply = guide_assistant.reply("食品经营许可证要什么材料" + "啊" * 5000, intent="ask_materials")
    assert long_reply.kind in {"guide", "no_answer", "choose_guide"} and len(long_reply.text) < 5000
    mixed = guide_assistant.reply(
        "VAT 一般纳税人 register 要多久", intent="ask_time_limit", intent_confidence=0.9
    )
    assert mixed.guide_name == "增值税一般纳税人登记"


def test_knowledge_edits_take_effect_without_retraining(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import build_demo_kb

    factory = build_demo_kb(f"sqlite:///{tmp_path / 'kb.db'}")
    live = LiveIndex(factory, check_interval=0)
    assistant = GuideAssistant(factory, live)
    before = assistant.reply("公章刻制备案咨询电话", intent="ask_contact", intent_confidence=0.99)
    with factory.begin() as session:
        guide = get_guide(session=session, guide_id=before.guide_id)
        assert guide is not None
        record = GuideRecord.from_item(guide)
    changed = dataclasses.replace(record, phone="0000-99990000", aliases=(*record.aliases, "刻公章子"))
    with factory.begin() as session:
        import_records(session=session, records=[changed], source="admin edit")
    # the new index is built in the background while the old one keeps answering (test_live_index.py)
    live.wait_until_current(timeout=60)
    after = assistant.reply("刻公章子电话多少", intent="ask_contact", intent_confidence=0.99)
    assert after.guide_id == before.guide_id and "0000-99990000" in after.text
    assert after.custom["version"] == "2"


def test_unanswered_log_keeps_the_time(guide_assistant: GuideAssistant, demo_kb) -> None:  # type: ignore[no-untyped-def]
    guide_assistant.reply(
        "孩子上学怎么申请学位", intent="ask_process", intent_confidence=0.9, sender_id="u-78"
    )
    with demo_kb() as session:
        row = session.execute(
            select(UnansweredQuestion).where(UnansweredQuestion.sender_id == "u-78")
        ).scalar_one()
    assert row.asked_at is not None


def test_opening_a_small_restaurant_needs_the_food_licence(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply(
        "开个小饭馆要准备哪些材料？", intent="ask_materials", intent_confidence=0.99
    )
    assert reply.guide_name == "食品经营许可证核发"


def test_a_new_topic_with_several_items_is_offered_not_assumed(guide_assistant: GuideAssistant) -> None:
    first = guide_assistant.reply("排污许可证收费吗", intent="ask_fee", intent_confidence=0.99)
    context = Context(first.guide_id, first.aspect)
    topic = guide_assistant.reply(
        "消防怎么办", intent="ask_overview", intent_confidence=0.99, context=context
    )
    assert topic.kind == "choose_guide"
    assert {c["guide_name"] for c in topic.custom["candidates"]} >= {
        "建设工程消防设计审查",
        "建设工程消防验收",
    }
    # an aspect question with a generic leftover word is still a follow-up on the item
    follow = guide_assistant.reply(
        "多久出批复", intent="ask_time_limit", intent_confidence=0.99, context=context
    )
    assert follow.guide_id == first.guide_id and follow.aspect == "time_limit"


def test_the_word_only_one_item_has_settles_a_close_call(guide_assistant: GuideAssistant) -> None:
    reply = guide_assistant.reply(
        "店里要接低压电，用电报装怎么弄", intent="ask_process", intent_confidence=0.99
    )
    assert reply.kind == "guide" and reply.guide_name == "低压小微企业用电报装"


def test_a_guide_tied_with_catalogue_entries_answers_and_offers_them(
    catalogue_live_index: LiveIndex,
) -> None:
    snapshot = catalogue_live_index.current()
    reply = answer_question(
        snapshot.index, snapshot.guides, "员工参保登记怎么办", intent="ask_overview", intent_confidence=0.99
    )
    assert reply.kind == "guide" and reply.guide_name == "单位社会保险参保登记"
    assert "申请材料" in reply.text and "知识库暂未收录它们的详细办事指南" in reply.text
    offered = {b["title"] for b in reply.buttons}
    assert "职工参保登记" in offered and "单位社会保险参保登记" not in offered
    assert all(b["payload"].startswith("/choose_guide{") for b in reply.buttons)
    assert {a["guide_name"] for a in reply.custom["alternatives"]} == offered


def test_follow_ups_stay_on_the_guide_the_catalogue_did_not_displace(
    catalogue_live_index: LiveIndex,
) -> None:
    snapshot = catalogue_live_index.current()
    context = Context()
    for question, intent in [
        ("公司法人变更要多久", "ask_time_limit"),
        ("需要带哪些材料", "ask_materials"),
        ("打哪个电话能问到", "ask_contact"),
    ]:
        reply = answer_question(
            snapshot.index, snapshot.guides, question, intent=intent, intent_confidence=0.99, context=context
        )
        assert reply.kind == "guide" and reply.guide_name == "企业变更登记", question
        assert reply.aspect == intent.removeprefix("ask_")
        context = Context(reply.guide_id, reply.aspect)


def test_a_long_message_is_answered_for_what_its_asking_sentence_asks(
    guide_assistant: GuideAssistant,
) -> None:
    """The model, sure of the story's aspect, is overruled by the aspect named where the user asks."""
    message = "我们是做餐饮的，上个月在网上把营业执照办下来了。现在办食品经营许可证，要准备哪些材料？"
    reply = guide_assistant.reply(message, intent="ask_online", intent_confidence=0.99)
    assert (reply.guide_name, reply.aspect) == ("食品经营许可证核发", "materials")
    assert reply.text.startswith("【食品经营许可证核发】申请材料")
    # one sentence of two questions: the clause that ends it is what is asked
    single = guide_assistant.reply(
        "食品经营许可证要什么材料，网上能办吗", intent="ask_online", intent_confidence=0.99
    )
    assert single.aspect == "online"
    reversed_order = guide_assistant.reply(
        "食品经营许可证网上能办吗，要什么材料", intent="ask_online", intent_confidence=0.99
    )
    assert reversed_order.aspect == "materials"
