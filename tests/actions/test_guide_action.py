from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.guide import ActionAnswerGuide
from tests.actions.conftest import make_tracker

pytestmark = pytest.mark.usefixtures("action_services")


async def run(tracker) -> tuple[CollectingDispatcher, list[dict]]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerGuide().run(dispatcher, tracker, {})
    return dispatcher, events


async def test_answer_sends_text_and_card_and_remembers_the_item() -> None:
    dispatcher, events = await run(make_tracker("食品经营许可证要什么材料", "ask_materials"))
    text, card = dispatcher.messages
    assert text["text"].startswith("【食品经营许可证核发】申请材料")
    assert card["custom"]["kind"] == "guide" and card["custom"]["aspect"] == "materials"
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["guide_name"] == "食品经营许可证核发" and slots["aspect"] == "materials"
    assert slots["guide_id"] == card["custom"]["guide_id"]


async def test_follow_up_uses_the_slots() -> None:
    _, events = await run(make_tracker("食品经营许可证要什么材料", "ask_materials"))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    dispatcher, events = await run(make_tracker("那要多久？", "ask_time_limit", slots=slots))
    assert dispatcher.messages[1]["custom"]["guide_id"] == slots["guide_id"]
    assert dispatcher.messages[1]["custom"]["aspect"] == "time_limit"
    # the item stays what it was: only the aspect changes in the conversation's state
    assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [("aspect", "time_limit")]


async def test_choice_payload_answers_the_chosen_item() -> None:
    dispatcher, _ = await run(make_tracker("消防怎么办", "ask_overview"))
    assert dispatcher.messages[1]["custom"]["kind"] == "choose_guide"
    button = dispatcher.messages[0]["buttons"][1]
    chosen_id = dispatcher.messages[1]["custom"]["candidates"][1]["guide_id"]
    tracker = make_tracker(
        button["payload"],
        "choose_guide",
        entities=[{"entity": "guide_id", "value": chosen_id}, {"entity": "aspect", "value": "overview"}],
    )
    dispatcher, events = await run(tracker)
    assert dispatcher.messages[1]["custom"]["guide_id"] == chosen_id
    assert any(e["event"] == "slot" and e["name"] == "guide_id" and e["value"] == chosen_id for e in events)


async def test_unknown_question_gets_no_answer_and_keeps_slots() -> None:
    dispatcher, events = await run(make_tracker("帮我写个请假条，明天家里有事", "nlu_fallback", 0.3))
    assert dispatcher.messages[1]["custom"] == {"kind": "no_answer"}
    assert events == []


async def test_a_guess_offers_the_guide_and_the_butler_and_keeps_slots() -> None:
    """A paraphrase the assistant is not sure of: the likeliest guide and 转人工, nothing remembered yet."""
    dispatcher, events = await run(
        make_tracker("我们想建个仓库，听说要先在发改委挂个号", "ask_overview", 0.6)
    )
    text, card = dispatcher.messages
    assert card["custom"]["kind"] == "choose_guide" and card["custom"]["suggested"] is True
    titles = [b["title"] for b in text["buttons"]]
    assert "企业投资项目备案" in titles and titles[-1] == "转人工"
    assert text["buttons"][-1]["payload"] == "/request_human"
    assert events == []  # the item is only remembered once the user picks it
