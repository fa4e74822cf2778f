"""The conversation inbox and hand-off through the console API, as a butler uses them."""

from __future__ import annotations

import json

from sqlalchemy import select

from accounts.models import AuditEntry
from accounts.service import create_user
from gateway import handoff
from storage.transaction import transaction
from tests.gateway.conftest import PASSWORD, next_frame, quiet
from tests.gateway.console.conftest import TENGFEI_SENDER, World, log_in

XSS = "<script>alert(1)</script>"


def _audit_actions(world: World, action: str) -> list[AuditEntry]:
    with world.gateway.factory() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


async def test_inbox_lists_waiting_conversations_with_sender_wait_and_last_messages(world: World) -> None:
    hejie = await world.as_("hejie")
    world.gateway.clock.advance(90)
    body = await hejie.json("GET", "/api/console/conversations?state=waiting")
    (conversation,) = [c for c in body["conversations"] if c["id"] == world.conversation_id]
    assert conversation["sender"] == TENGFEI_SENDER
    assert conversation["state"] == "waiting"
    assert conversation["enterprise_name"] == "示例市腾飞生物医药有限公司"
    assert conversation["handoff_reason"] == "企业请求人工服务"
    assert conversation["wait_seconds"] >= 90
    assert conversation["last_messages"][-1]["text"] == "我要找人工"
    # the default list (waiting and held) has it too; "mine" does not until he takes it
    assert world.conversation_id in {
        c["id"] for c in (await hejie.json("GET", "/api/console/conversations"))["conversations"]
    }
    assert (await hejie.json("GET", "/api/console/conversations?state=mine"))["conversations"] == []
    await hejie.json("POST", f"/api/console/conversations/{world.conversation_id}/take-over")
    mine = await hejie.json("GET", "/api/console/conversations?state=mine")
    assert [c["id"] for c in mine["conversations"]] == [world.conversation_id]


async def test_an_unknown_state_filter_is_refused_in_chinese(world: World) -> None:
    hejie = await world.as_("hejie")
    body = await hejie.json("GET", "/api/console/conversations?state=everything", status=422)
    assert body["error"] == "invalid"
    assert "会话状态" in body["message"] and "waiting" in body["message"]


async def test_double_click_on_take_over_answers_the_same_and_records_it_once(world: World) -> None:
    hejie = await world.as_("hejie")
    live = await hejie.ws()
    url = f"/api/console/conversations/{world.conversation_id}/take-over"
    first = await hejie.json("POST", url)
    second = await hejie.json("POST", url)
    assert first["conversation"]["state"] == second["conversation"]["state"] == "butler"
    assert first["conversation"]["butler_name"] == second["conversation"]["butler_name"] == "何杰"
    assert first["conversation"]["id"] == second["conversation"]["id"]
    assert len(_audit_actions(world, "take_over")) == 1
    events = await quiet(live)
    states = [e for e in events if e["type"] == "conversation_state"]
    assert len(states) == 1 and states[0]["conversation"]["butler_name"] == "何杰"
    # the enterprise heard about it once too, and Rasa was paused once
    transcript = await hejie.json("GET", f"/api/console/conversations/{world.conversation_id}/transcript")
    assert [m["text"] for m in transcript["messages"]].count("企业管家何杰已接入，为您服务") == 1
    assert [e["event"] for e in world.gateway.fake.events(TENGFEI_SENDER)].count("pause") == 1


async def test_another_butler_taking_a_held_conversation_gets_409_naming_the_holder(world: World) -> None:
    hejie = await world.as_("hejie")
    await hejie.json("POST", f"/api/console/conversations/{world.conversation_id}/take-over")
    # 吴晓东 is 腾飞's backup butler, so he sees the conversation, but 何杰 holds it

    with transaction(world.gateway.factory) as session:
        create_user(session, "wu", PASSWORD, "butler", butler_phone="13800000031")
    wu = await log_in(world.gateway, "wu")
    body = await wu.json("POST", f"/api/console/conversations/{world.conversation_id}/take-over", status=409)
    assert body == {"error": "conflict", "message": "该会话已由管家何杰接管"}
    # nor may he write in it: only the holder replies
    refused = await wu.json(
        "POST", f"/api/console/conversations/{world.conversation_id}/messages", {"text": "您好"}, status=403
    )
    assert "接管" in refused["message"]


async def test_script_tags_come_back_as_plain_json_text(world: World) -> None:
    hejie = await world.as_("hejie")
    gateway = world.gateway
    token, sender = await gateway.open_session()
    enterprise = await gateway.connect(token)
    await enterprise.send_json({"type": "handoff", "id": "h1"})
    await quiet(enterprise)
    await enterprise.send_json({"type": "message", "id": "x1", "text": XSS})
    await quiet(enterprise)
    waiting = await hejie.json("GET", "/api/console/conversations?state=waiting")
    (conversation,) = [c for c in waiting["conversations"] if c["sender"] == sender]
    response = await hejie.get(f"/api/console/conversations/{conversation['id']}/transcript")
    assert response.content_type == "application/json"
    raw = await response.text()
    messages = json.loads(raw)["messages"]
    assert XSS in [m["text"] for m in messages if m["from"] == "enterprise"]
    # the butler's own text is stored and echoed as text too
    await hejie.json("POST", f"/api/console/conversations/{conversation['id']}/take-over")
    sent = await hejie.json(
        "POST", f"/api/console/conversations/{conversation['id']}/messages", {"text": XSS}
    )
    assert sent["message"]["text"] == XSS
    frames = await quiet(enterprise)
    assert XSS in [f.get("text") for f in frames if f["type"] == "message" and f["from"] == "butler"]


async def test_bad_message_input_gets_clear_chinese_answers(world: World) -> None:
    hejie = await world.as_("hejie")
    c = f"/api/console/conversations/{world.conversation_id}"
    await hejie.json("POST", f"{c}/take-over")
    broken = await hejie.post(f"{c}/messages", data="{text: hi", headers={"Content-Type": "application/json"})
    assert broken.status == 400
    assert await broken.json() == {"error": "bad_json", "message": "请求体不是有效的JSON"}
    for body, reason in (
        ({}, "请填写消息内容"),
        ({"text": 5}, "请填写消息内容"),
        ({"text": "   "}, "消息内容不能为空"),
        ({"text": "长" * 2001}, "消息内容太长"),
    ):
        refused = await hejie.json("POST", f"{c}/messages", body, status=422)
        assert refused["error"] == "invalid" and reason in refused["message"], refused
    assert (await hejie.json("POST", f"{c}/messages", {"text": "好" * 2000}))["message"][
        "text"
    ] == "好" * 2000
    for bad in ({"butler_id": "2"}, {"butler_id": True}, {"butler_id": 0}, {"butler_id": 10**12}):
        assert (await hejie.json("POST", f"{c}/transfer", bad, status=422))["error"] == "invalid"
    unknown = await hejie.json("POST", f"{c}/transfer", {"butler_id": 999999}, status=422)
    assert "不存在" in unknown["message"]


async def test_unknown_or_malformed_conversation_ids_are_404(world: World) -> None:
    hejie = await world.as_("hejie")
    for cid in ("999999", "abc", "-1", "0", "99999999999999999999", "１"):
        response = await hejie.get(f"/api/console/conversations/{cid}/transcript")
        assert response.status == 404, cid
        assert (await response.json())["message"] == "会话不存在或您无权查看"
        taken = await hejie.post(f"/api/console/conversations/{cid}/take-over")
        assert taken.status == 404, cid


async def test_a_retried_send_with_the_same_id_is_stored_once(world: World) -> None:
    hejie = await world.as_("hejie")
    c = f"/api/console/conversations/{world.conversation_id}"
    await hejie.json("POST", f"{c}/take-over")
    first = await hejie.json("POST", f"{c}/messages", {"text": "稍等，我查一下", "id": "b-1"})
    again = await hejie.json("POST", f"{c}/messages", {"text": "稍等，我查一下", "id": "b-1"})
    assert first["message"]["seq"] == again["message"]["seq"]
    transcript = await hejie.json("GET", f"{c}/transcript")
    assert [m["text"] for m in transcript["messages"]].count("稍等，我查一下") == 1


async def test_admin_without_a_butler_identity_is_told_why_they_cannot_take_over(world: World) -> None:

    with transaction(world.gateway.factory) as session:
        create_user(session, "root", PASSWORD, "admin")
    root = await log_in(world.gateway, "root")
    body = await root.json(
        "POST", f"/api/console/conversations/{world.conversation_id}/take-over", status=422
    )
    assert body["message"] == "您的账号未关联企业管家，不能接管或接待会话"
    # but they may still hand it to a butler
    moved = await root.json(
        "POST",
        f"/api/console/conversations/{world.conversation_id}/transfer",
        {"butler_id": world.butler_ids["hejie"]},
    )
    assert moved["conversation"]["butler_name"] == "何杰"


async def test_live_socket_tells_the_right_butler_of_a_hand_off_and_not_the_wrong_one(world: World) -> None:
    gateway = world.gateway
    hejie, zhu = await world.as_("hejie"), await world.as_("zhu")
    hejie_live, zhu_live = await hejie.ws(), await zhu.ws()
    # 腾飞's conversation asks again after being handed back: only 何杰's console hears
    c = f"/api/console/conversations/{world.conversation_id}"
    await hejie.json("POST", f"{c}/take-over")
    await hejie.json("POST", f"{c}/hand-back")
    await handoff.request_handoff(gateway.app, TENGFEI_SENDER, handoff.REASON_ASKED)
    heard = await quiet(hejie_live)
    assert "handoff" in [e["type"] for e in heard]
    handoffs = [e for e in heard if e["type"] == "handoff"]
    assert handoffs[-1]["conversation"]["sender"] == TENGFEI_SENDER
    assert [
        e for e in await quiet(zhu_live) if e.get("conversation", {}).get("sender") == TENGFEI_SENDER
    ] == []


async def test_live_socket_answers_pings_and_refuses_other_frames_in_chinese(world: World) -> None:
    hejie = await world.as_("hejie")
    live = await hejie.ws()
    await live.send_str("hello")
    error = await next_frame(live)
    assert error["type"] == "error" and error["code"] == "bad_frame" and "ping" in error["text"]
    await live.send_json({"type": "ping"})
    assert await next_frame(live) == {"type": "pong"}


async def test_live_socket_from_another_site_is_refused(world: World) -> None:
    hejie = await world.as_("hejie")
    response = await world.gateway.client.get(
        "/api/console/ws", headers={**hejie.headers(csrf=False), "Origin": "https://evil.example"}
    )
    assert response.status == 403
