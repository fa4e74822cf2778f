"""Rating an answered appeal in the chat."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from appeals.service import get_ticket
from bot.actions.ratings import ActionAskRating, ActionSubmitRating
from bot.actions.ticket_status import ActionTicketStatus
from storage.transaction import transaction
from tests.actions.appeal_world import (
    TENGFEI,
    WANXIANG,
    answer,
    enterprise_id,
    file_directly,
    run,
    texts,
    tracker,
)


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
    assert ask["custom"] == {"kind": "rating", "ticket_number": ticket.number}  # the chat's rating card
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
    assert messages[0]["custom"] == {"kind": "rating", "ticket_number": ticket.number}

    elsewhere = {"enterprise_id": enterprise_id(world, WANXIANG["code"])}
    messages, slots, _ = await run(
        ActionAskRating(), tracker("", "EXTERNAL_ticket_answered", slots=elsewhere, entities=entities)
    )
    assert messages == [] and slots == {}


async def test_with_several_answers_waiting_the_oldest_is_asked_first_and_then_the_next(
    world: sessionmaker,
) -> None:
    first = file_directly(world, TENGFEI["code"], "test:first")
    second = file_directly(world, TENGFEI["code"], "test:second")
    answer(world, second.number, "已协调银行放款")  # answered first, though filed later
    answer(world, first.number)
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"]), "enterprise_name": TENGFEI["name"]}

    messages, slots, _ = await run(
        ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status", slots=bound)
    )
    assert (
        messages[-1]["custom"]["ticket_number"] == second.number and "已协调银行放款" in messages[-1]["text"]
    )

    # a score with no ticket named: which one?
    messages, slots, _ = await run(ActionSubmitRating(), tracker("满意", "rate_ticket", slots=bound))
    assert messages[0]["text"] == "贵企业有2件待评价的工单，请选择您要评价「满意」的是哪一件："
    assert [b["title"] for b in messages[0]["buttons"]] == [
        f"{second.number}（用地）",
        f"{first.number}（用地）",
    ]
    assert slots == {}

    entities = [
        {"entity": "ticket_number", "value": second.number},
        {"entity": "rating_score", "value": "满意"},
    ]
    messages, slots, _ = await run(
        ActionSubmitRating(),
        tracker(messages[0]["buttons"][0]["payload"], "rate_ticket", slots=bound, entities=entities),
    )
    assert messages[0]["text"] == f"感谢您的评价！工单 {second.number} 已办结。"
    assert first.number in messages[1]["text"] and "是否满意" in messages[1]["text"]
    assert slots["rating_ticket"] == first.number


async def test_with_nothing_to_rate_the_enterprise_is_told_so(world: sessionmaker) -> None:
    file_directly(world, TENGFEI["code"], "test:open")  # filed, not answered yet
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"])}
    messages, slots, _ = await run(ActionSubmitRating(), tracker("满意", "rate_ticket", slots=bound))
    assert texts(messages) == "贵企业目前没有待评价的工单。" and slots == {}


async def test_an_unbound_conversation_is_asked_to_look_up_its_tickets_first(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionSubmitRating(), tracker("满意", "rate_ticket"))
    assert texts(messages) == "请先查询您的诉求工单（发送“查询诉求”），再进行评价。" and slots == {}
