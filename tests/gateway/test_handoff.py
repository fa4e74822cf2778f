"""Hand-off: when the conversation goes to a person, what the enterprise and Rasa see, and back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from accounts.service import list_audit
from appeals.identity import verify_identity
from appeals.models import Butler, Enterprise
from conversations import service as conversations
from gateway import handoff
from storage.transaction import transaction
from tests.gateway.conftest import (
    HEJIE_PHONE,
    OFFICE,
    SECRET,
    ZHU_PHONE,
    Clock,
    FakeRasa,
    Gateway,
    of_type,
    quiet,
    say,
    start_gateway,
)

HANDOFF_REPLY = {
    "text": "好的，正在为您转接企业管家，请稍候。",
    "custom": {"kind": "handoff", "reason": "asked_for_person"},
}
TENGFEI = "示例市腾飞生物医药有限公司"  # served by 何杰
NO_ANSWER = {
    "text": "抱歉，我没有理解您的意思。",
    "custom": {"kind": "no_answer", "reason": "not_understood"},
}
GUESS = {  # a "did you mean" offer: a guess, not an answer
    "text": "您问的是不是以下事项？",
    "custom": {"kind": "choose_guide", "suggested": True, "candidates": []},
}


def state_of(gw: Gateway, sender: str) -> str:
    with transaction(gw.factory) as session:
        conversation = conversations.conversation_for_sender(session, sender)
        assert conversation is not None
        return conversation.state


def bind_to_hejies_enterprise(gw: Gateway, sender: str) -> int:
    """What a verified log-in (the mini-program) does: the conversation belongs to an enterprise."""
    with transaction(gw.factory) as session:
        enterprise = session.execute(select(Enterprise).where(Enterprise.name == TENGFEI)).scalar_one()
        conversations.get_or_open(session, sender, "web", enterprise.id)
        return int(enterprise.id)


def conversation_id(gw: Gateway, sender: str) -> int:
    with transaction(gw.factory) as session:
        conversation = conversations.conversation_for_sender(session, sender)
        assert conversation is not None
        return conversation.id


async def test_asking_for_a_person_hands_off_and_pauses_rasa(gw: Gateway) -> None:
    gw.fake.script["转人工"] = [HANDOFF_REPLY]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    frames = await say(ws, "m1", "转人工")

    assert frames[2]["custom"]["kind"] == "handoff"
    (state,) = of_type(frames, "state")
    assert state["state"] == "waiting" and state["butler"] is None
    system = [f for f in frames if f.get("from") == "system"]
    assert system[0]["text"].startswith("正在为您转接企业管家")
    assert state_of(gw, sender) == "waiting"
    assert gw.fake.events(sender) == [{"event": "pause"}]

    # while waiting, Rasa only records what the enterprise writes; no assistant frame comes back
    waiting = await say(ws, "m2", "我们厂停电了")
    assert [(f["type"], f.get("from")) for f in waiting] == [("ack", None), ("message", "enterprise")]
    assert gw.fake.messages(sender)[-1]["message"] == "我们厂停电了"


async def test_two_unanswered_turns_in_a_row_hand_off(gw: Gateway) -> None:
    for text in ("啊啊啊", "哦哦哦", "嗯嗯嗯"):
        gw.fake.script[text] = [NO_ANSWER]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    assert not of_type(await say(ws, "m1", "啊啊啊"), "state")
    assert not of_type(await say(ws, "m2", "你好"), "state")  # an answer resets the count
    assert not of_type(await say(ws, "m3", "哦哦哦"), "state")
    frames = await say(ws, "m4", "嗯嗯嗯")

    assert of_type(frames, "state")[0]["state"] == "waiting"
    assert state_of(gw, sender) == "waiting"
    with transaction(gw.factory) as session:
        conversation = conversations.conversation_for_sender(session, sender)
        assert conversation is not None and "连续2次未能回答" in conversation.handoff_reason


async def test_a_guess_at_the_guide_counts_as_unanswered(gw: Gateway) -> None:
    gw.fake.script["啊啊啊"] = [NO_ANSWER]
    gw.fake.script["养狗要办狗证吗"] = [GUESS]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    assert not of_type(await say(ws, "m1", "啊啊啊"), "state")
    frames = await say(ws, "m2", "养狗要办狗证吗")

    assert of_type(frames, "state")[0]["state"] == "waiting"
    assert state_of(gw, sender) == "waiting"


async def test_the_contact_button_hands_off_without_asking_rasa(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    await ws.send_json({"type": "handoff", "id": "b1"})
    frames = await quiet(ws)

    assert frames[0] == {"type": "ack", "id": "b1", "seq": 1, "duplicate": False}
    assert frames[1]["from"] == "enterprise" and frames[1]["text"] == "联系管家"
    assert of_type(frames, "state")[0]["state"] == "waiting"
    assert gw.fake.messages(sender) == []
    assert gw.fake.events(sender) == [{"event": "pause"}]

    # pressed again: no second request, the state is repeated so the page stays right
    await ws.send_json({"type": "handoff", "id": "b2"})
    again = await quiet(ws)
    assert of_type(again, "state")[0]["state"] == "waiting"
    assert not [f for f in again if f.get("from") == "system"]
    assert gw.fake.events(sender) == [{"event": "pause"}]


async def test_an_urgent_ticket_just_filed_hands_off_once(gw: Gateway) -> None:
    card = {
        "text": "您的诉求已受理，工单号 GD202611300001。",
        "custom": {"kind": "ticket", "number": "GD202611300001", "urgency": "紧急", "status": "routed"},
    }
    gw.fake.script["确认提交"] = [card]
    gw.fake.script["我的诉求怎么样了"] = [card]
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    frames = await say(ws, "m1", "确认提交")
    assert of_type(frames, "state")[0]["state"] == "waiting"
    with transaction(gw.factory) as session:
        conversation = conversations.conversation_for_sender(session, sender)
        assert conversation is not None and conversation.handoff_reason == "紧急诉求"

    hejie = gw.user("hejie", HEJIE_PHONE)
    await handoff.take_over(gw.app, conversation_id(gw, sender), hejie)
    await handoff.hand_back(gw.app, conversation_id(gw, sender), hejie)
    await quiet(ws)
    # the same card shown again when the enterprise checks its appeals is no new emergency
    assert not of_type(await say(ws, "m2", "我的诉求怎么样了"), "state")
    assert state_of(gw, sender) == "bot"


async def test_take_over_reply_and_hand_back(gw: Gateway) -> None:
    gw.fake.script["排污许可证怎么办"] = [{"text": "【排污许可证核发】办理流程", "custom": {"kind": "guide"}}]
    hejie = gw.user("hejie", HEJIE_PHONE)
    token, sender = await gw.open_session()
    enterprise_id = bind_to_hejies_enterprise(gw, sender)
    ws = await gw.connect(token)
    await say(ws, "m1", "你好")
    identity = gw.fake.messages(sender)[0]["metadata"]["identity"]
    verified = verify_identity(SECRET, identity, sender, int(gw.clock().timestamp()))
    assert verified is not None and verified.enterprise_id == enterprise_id
    cid = conversation_id(gw, sender)

    # the butler of the enterprise takes over straight from the assistant
    taken = await handoff.take_over(gw.app, cid, hejie)
    assert taken.changed and taken.conversation.state == "butler"
    frames = await quiet(ws)
    assert of_type(frames, "state") == [
        {"type": "state", "state": "butler", "butler": "何杰", "text": "企业管家何杰已接入，为您服务"}
    ]
    assert frames[-1]["from"] == "system" and frames[-1]["text"] == "企业管家何杰已接入，为您服务"
    assert gw.fake.events(sender) == [{"event": "pause"}]

    again = await handoff.take_over(gw.app, cid, hejie)  # a double click changes nothing
    assert not again.changed and await quiet(ws) == []

    await handoff.send_butler_message(gw.app, cid, hejie, "您好，我是何杰，请问有什么困难？")
    (reply,) = await quiet(ws)
    assert reply["from"] == "butler" and reply["author"] == "何杰"
    assert reply["text"] == "您好，我是何杰，请问有什么困难？"
    butler_event = gw.fake.events(sender)[-1]
    assert butler_event["event"] == "bot" and butler_event["text"] == "您好，我是何杰，请问有什么困难？"
    assert butler_event["metadata"] == {"butler": "何杰"}

    note = await handoff.add_note(gw.app, cid, hejie, "企业情绪激动，注意安抚")
    assert note.role == "note" and await quiet(ws) == []  # notes never reach the enterprise

    await handoff.hand_back(gw.app, cid, hejie)
    frames = await quiet(ws)
    assert of_type(frames, "state")[0]["state"] == "bot"
    assert frames[-1]["text"] == "已转回智能助手，您可以继续提问"
    assert gw.fake.events(sender)[-1] == {"event": "resume"}

    answer = await say(ws, "m2", "排污许可证怎么办")
    assert answer[-1]["from"] == "bot" and answer[-1]["custom"]["kind"] == "guide"

    with transaction(gw.factory) as session:
        actions = [(e.action, e.actor) for e in list_audit(session, target=f"conversation:{cid}:{sender}")]
    assert ("take_over", "何杰（hejie）") in actions and ("hand_back", "何杰（hejie）") in actions


async def test_transfer_tells_the_enterprise_who_serves_it_now(gw: Gateway) -> None:
    hejie = gw.user("hejie", HEJIE_PHONE)
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    await ws.send_json({"type": "handoff", "id": "b1"})
    await quiet(ws)
    cid = conversation_id(gw, sender)
    await handoff.take_over(gw.app, cid, hejie)
    await quiet(ws)
    with transaction(gw.factory) as session:
        zhu = session.execute(select(Butler).where(Butler.phone == ZHU_PHONE)).scalar_one()

    result = await handoff.transfer(gw.app, cid, hejie, zhu.id)

    assert result.conversation.butler_name == zhu.name
    frames = await quiet(ws)
    assert of_type(frames, "state")[0]["butler"] == zhu.name
    assert frames[-1]["text"] == f"您的会话已转交企业管家{zhu.name}，为您继续服务"


async def test_a_silent_butler_hands_the_conversation_back(gw: Gateway) -> None:
    hejie = gw.user("hejie", HEJIE_PHONE)
    token, sender = await gw.open_session()
    bind_to_hejies_enterprise(gw, sender)
    ws = await gw.connect(token)
    cid = conversation_id(gw, sender)
    await handoff.take_over(gw.app, cid, hejie)
    await quiet(ws)

    gw.clock.advance(gw.settings.butler_idle_seconds - 60)
    assert await handoff.hand_back_idle(gw.app) == 0
    gw.clock.advance(120)
    assert await handoff.hand_back_idle(gw.app) == 1

    frames = await quiet(ws)
    assert of_type(frames, "state")[0]["state"] == "bot"
    assert "管家暂时离开，已转回智能助手" in frames[-1]["text"]
    assert gw.fake.events(sender)[-1] == {"event": "resume"}
    assert state_of(gw, sender) == "bot"


async def test_outside_office_hours_the_enterprise_is_told_when_a_butler_replies(
    world_url: str,
) -> None:
    saturday_night = Clock(datetime(2026, 11, 28, 20, 0, tzinfo=OFFICE))
    async with start_gateway(world_url, FakeRasa(), saturday_night) as gw:
        token, _ = await gw.open_session()
        ws = await gw.connect(token)
        await ws.send_json({"type": "handoff", "id": "b1"})
        frames = await quiet(ws)

    expected = "现在是非工作时间，管家将于11月30日（周一）09:00后回复您，您的会话已在排队中"
    assert of_type(frames, "state")[0]["text"] == expected
    assert frames[-1]["from"] == "system" and frames[-1]["text"] == expected


async def test_a_restart_keeps_the_hand_off_and_every_frame(world_url: str, clock: Clock) -> None:
    fake = FakeRasa()
    async with start_gateway(world_url, fake, clock) as gw:
        hejie = gw.user("hejie", HEJIE_PHONE)
        token, sender = await gw.open_session()
        bind_to_hejies_enterprise(gw, sender)
        ws = await gw.connect(token)
        await say(ws, "m1", "你好")
        cid = conversation_id(gw, sender)
        await handoff.take_over(gw.app, cid, hejie)
        await handoff.send_butler_message(gw.app, cid, hejie, "您好")
        before = await quiet(ws)

    async with start_gateway(world_url, fake, clock) as again:
        ws = await again.connect(token)
        greeting = await quiet(ws)
        assert greeting == [
            {"type": "state", "state": "butler", "butler": "何杰", "text": "企业管家何杰已接入，为您服务"}
        ]
        await ws.send_json({"type": "resume", "after_seq": 0})
        resumed = await quiet(ws)
        assert [f["seq"] for f in resumed] == [1, 2, 3, 4]
        assert resumed[2:] == [f for f in before if f["type"] == "message"]
        await handoff.send_butler_message(again.app, cid, hejie, "还在吗？")
        (reply,) = await quiet(ws)
        assert reply["seq"] == 5 and reply["author"] == "何杰"


async def test_a_resume_that_never_reached_rasa_is_repaired_at_the_next_question(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    gw.fake.paused.add(sender)  # Rasa still paused, as after a gateway restart that lost the resume

    frames = await say(ws, "m1", "你好")

    assert frames[-1]["from"] == "bot" and frames[-1]["text"] == "答复：你好"
    assert gw.fake.events(sender) == [{"event": "resume"}]


async def test_a_pause_that_never_reached_rasa_is_repaired_at_the_next_message(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    await ws.send_json({"type": "handoff", "id": "b1"})
    await quiet(ws)
    gw.fake.paused.discard(sender)  # the pause was lost

    frames = await say(ws, "m2", "有人吗")

    assert [f.get("from") for f in frames if f["type"] == "message"] == ["enterprise"]
    assert gw.fake.events(sender) == [{"event": "pause"}, {"event": "pause"}]
    assert sender in gw.fake.paused
