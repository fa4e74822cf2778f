"""The appeals outbox reaches the enterprise's live chat: receipts, butler replies, the rating question."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from appeals.access import TicketScope
from appeals.chat import AppealForm, answer_ticket, submit_appeal
from appeals.lifecycle import mark_contacted
from appeals.models import Enterprise
from appeals.notices import pending_notices
from appeals.views import TicketPublic
from gateway.tasks import deliver_notice
from storage.transaction import transaction
from tests.gateway.conftest import Gateway, frames_until, of_type, quiet

TENGFEI = "示例市腾飞生物医药有限公司"
RATING_REPLY = {
    "text": "您的诉求工单已由管家反馈办理结果。请问您对处理结果是否满意？",
    "buttons": [
        {"title": "满意", "payload": '/rate_ticket{"rating_score": "满意"}'},
        {"title": "不满意", "payload": '/rate_ticket{"rating_score": "不满意"}'},
    ],
}


def file_ticket(gw: Gateway, sender: str, urgency: str = "普通") -> TicketPublic:
    with transaction(gw.factory) as session:
        enterprise_id = session.execute(select(Enterprise.id).where(Enterprise.name == TENGFEI)).scalar_one()
    form = AppealForm(
        enterprise_id=enterprise_id,
        category="用电用水用气",
        description="厂区停电三天，影响生产",
        contact_name="杨刚",
        contact_phone="13900000001",
        urgency=urgency,
    )
    return submit_appeal(
        gw.factory,
        form,
        sender=sender,
        appeal_id=f"appeal-{urgency}",
        channel="web",
        sender_id=sender,
        now=gw.clock.now,
        settings=gw.settings.appeals_settings,
    )


def answer(gw: Gateway, number: str) -> None:
    """The butler calls the enterprise, then reports the appeal handled (the enterprise is asked to rate)."""
    settings = gw.settings.appeals_settings
    with transaction(gw.factory) as session:
        mark_contacted(session, number, "何杰", "已电话联系", now=gw.clock.now, settings=settings)
    with transaction(gw.factory) as session:
        answer_ticket(
            session,
            TicketScope(everything=True),
            number,
            "何杰",
            "已协调供电公司恢复供电",
            now=gw.clock.now,
            settings=settings,
        )


def pending(gw: Gateway) -> list[int]:
    with transaction(gw.factory) as session:
        return [n.id for n in pending_notices(session)]


async def test_the_receipt_of_a_routed_ticket_reaches_the_chat(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    ticket = file_ticket(gw, sender)

    frames = await frames_until(ws, lambda f: f.get("from") == "system")
    assert ticket.number in frames[-1]["text"] and frames[-1]["seq"] == 1
    assert not of_type(frames, "state")  # an ordinary appeal is no hand-off
    assert pending(gw) == []


async def test_an_urgent_appeal_hands_the_conversation_to_a_person(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    file_ticket(gw, sender, urgency="紧急")

    frames = await frames_until(ws, lambda f: f["type"] == "state")
    assert frames[-1]["state"] == "waiting"
    assert gw.fake.events(sender) == [{"event": "pause"}]


async def test_an_answered_ticket_asks_for_the_rating_through_rasa(gw: Gateway) -> None:
    gw.fake.trigger_script["EXTERNAL_ticket_answered"] = [RATING_REPLY]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    ticket = file_ticket(gw, sender)
    await frames_until(ws, lambda f: f.get("from") == "system")

    answer(gw, ticket.number)

    frames = await frames_until(ws, lambda f: f.get("from") == "bot")
    rating = frames[-1]
    assert [b["title"] for b in rating["buttons"]] == ["满意", "不满意"]
    assert rating["text"].endswith("请问您对处理结果是否满意？")
    assert gw.fake.triggers(sender) == [
        {"name": "EXTERNAL_ticket_answered", "entities": {"ticket_number": ticket.number}}
    ]
    assert pending(gw) == []
    assert await quiet(ws) == []  # delivered once


async def test_a_notice_delivered_twice_is_stored_once(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    file_ticket(gw, sender)
    with transaction(gw.factory) as session:
        (notice,) = pending_notices(session)

    # the pump and a second gateway process race for the same notice: one of them stores it
    results = [await deliver_notice(gw.app, notice), await deliver_notice(gw.app, notice)]
    auth = {"Authorization": f"Bearer {token}"}
    polled = await (await gw.client.get("/api/chat/messages?after_seq=0", headers=auth)).json()

    assert results.count(True) <= 1
    assert len([f for f in polled["frames"] if notice.ticket_number in f["text"]]) == 1


async def test_a_notice_waits_while_rasa_is_down_and_arrives_later(gw: Gateway) -> None:
    gw.fake.trigger_script["EXTERNAL_ticket_answered"] = [RATING_REPLY]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    ticket = file_ticket(gw, sender)
    await frames_until(ws, lambda f: f.get("from") == "system")
    gw.fake.down = True
    answer(gw, ticket.number)
    for _ in range(100):  # the pump tried and failed
        if gw.fake.triggers(sender):
            break
        await asyncio.sleep(0.05)
    assert gw.fake.triggers(sender) and len(pending(gw)) == 1
    assert await quiet(ws) == []

    gw.fake.down = False
    frames = await frames_until(ws, lambda f: f.get("from") == "bot")
    assert frames[-1]["buttons"][0]["title"] == "满意"
    assert pending(gw) == []
