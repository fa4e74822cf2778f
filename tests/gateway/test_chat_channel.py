"""The enterprise web channel as a client uses it: session, WebSocket frames, resume, HTTP fallback."""

from __future__ import annotations

from appeals.identity import verify_identity
from tests.gateway.conftest import SECRET, Gateway, frames_until, next_frame, of_type, quiet, say

GUIDE_REPLY = {
    "text": "【食品经营许可证核发】申请材料\n1. 食品经营许可申请书",
    "custom": {"kind": "guide", "guide_id": "DEMO-013", "aspect": "materials"},
}


async def test_a_message_gets_its_ack_echo_and_the_assistants_frame_with_seq(gw: Gateway) -> None:
    gw.fake.script["食品经营许可证要什么材料"] = [GUIDE_REPLY]
    token, sender = await gw.open_session()
    assert len(token) == 43 and sender.startswith("web-")
    ws = await gw.connect(token)

    frames = await say(ws, "m1", "食品经营许可证要什么材料")

    ack, echo, guide = frames
    assert ack == {"type": "ack", "id": "m1", "seq": 1, "duplicate": False}
    assert echo["from"] == "enterprise" and echo["seq"] == 1 and echo["reply_to"] == "m1"
    assert echo["text"] == "食品经营许可证要什么材料"
    # Rasa sends the text and the custom payload as two REST messages: the client gets one frame
    assert guide["type"] == "message" and guide["from"] == "bot" and guide["seq"] == 2
    assert guide["text"].startswith("【食品经营许可证核发】申请材料")
    assert guide["custom"]["kind"] == "guide" and guide["reply_to"] == "m1"
    assert guide["at"].endswith("+08:00") and "author" not in guide and "buttons" not in guide


async def test_what_rasa_receives_carries_a_valid_signed_identity_and_nothing_from_the_client(
    gw: Gateway,
) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    await ws.send_json(
        {
            "type": "message",
            "id": "m1",
            "text": "我的诉求怎么样了",
            "metadata": {"credit_code": "91990102A5NNL98XUY", "enterprise_id": 1},
        }
    )
    await quiet(ws)

    (posted,) = gw.fake.messages(sender)
    assert posted["message"] == "我的诉求怎么样了"
    assert set(posted["metadata"]) == {"identity"}
    now = int(gw.clock().timestamp())
    verified = verify_identity(SECRET, posted["metadata"]["identity"], sender, now)
    assert verified is not None and verified.sender == sender
    assert verified.enterprise_id is None  # a web visitor is no enterprise
    assert verify_identity("another-secret", posted["metadata"]["identity"], sender, now) is None


async def test_a_message_id_sent_twice_is_processed_once(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)
    first = await say(ws, "same-id", "你好")
    again = await say(ws, "same-id", "你好")

    assert [f["type"] for f in first] == ["ack", "message", "message"]
    assert again == [{"type": "ack", "id": "same-id", "seq": 1, "duplicate": True}]
    assert len(gw.fake.messages(sender)) == 1


async def test_other_tabs_see_the_echo_and_the_reply(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    tab1 = await gw.connect(token)
    tab2 = await gw.connect(token)
    await say(tab1, "m1", "你好")

    seen = await quiet(tab2)
    assert [(f["from"], f["seq"]) for f in seen] == [("enterprise", 1), ("bot", 2)]
    assert not of_type(seen, "ack")  # the ack belongs to the tab that sent it


async def test_resume_sends_each_missed_frame_once_in_order(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    for number in range(3):
        await say(ws, f"m{number}", f"问题{number}")
    await ws.close()

    again = await gw.connect(token)
    await again.send_json({"type": "resume", "after_seq": 2})
    resumed = await quiet(again)
    assert [f["seq"] for f in resumed] == [3, 4, 5, 6]
    assert [f["from"] for f in resumed] == ["enterprise", "bot", "enterprise", "bot"]
    assert resumed[1]["reply_to"] == "m1"

    await again.send_json({"type": "resume", "after_seq": 6})
    assert await quiet(again) == []


async def test_resume_does_not_repeat_a_frame_already_received_live(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    await say(ws, "m1", "你好")
    await ws.close()

    again = await gw.connect(token)
    other_tab = await gw.connect(token)
    await say(other_tab, "m2", "还有一个问题")  # frames 3 and 4 reach `again` live
    live = await frames_until(again, lambda f: f.get("seq") == 4)
    await again.send_json({"type": "resume", "after_seq": 0})
    resumed = await quiet(again)

    assert [f["seq"] for f in live] == [3, 4]
    assert [f["seq"] for f in resumed] == [1, 2]


async def test_http_fallback_sends_polls_and_retries_without_duplicates(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    auth = {"Authorization": f"Bearer {token}"}

    response = await gw.client.post("/api/chat/messages", json={"id": "h1", "text": "你好"}, headers=auth)
    assert response.status == 200
    body = await response.json()
    assert [(f["from"], f["seq"]) for f in body["frames"]] == [("enterprise", 1), ("bot", 2)]
    assert body["last_seq"] == 2

    retry = await (
        await gw.client.post("/api/chat/messages", json={"id": "h1", "text": "你好"}, headers=auth)
    ).json()
    assert [f["seq"] for f in retry["frames"]] == [1, 2] and retry["ack"]["duplicate"] is True
    assert len(gw.fake.messages(sender)) == 1

    polled = await (await gw.client.get("/api/chat/messages?after_seq=1", headers=auth)).json()
    assert [f["seq"] for f in polled["frames"]] == [2] and polled["last_seq"] == 2
    nothing = await (await gw.client.get("/api/chat/messages?after_seq=2", headers=auth)).json()
    assert nothing["frames"] == [] and nothing["last_seq"] == 2
    assert nothing["state"]["state"] == "bot"


async def test_a_polling_client_learns_who_answers_it(gw: Gateway) -> None:
    """Without a socket there are no state frames: every answer says where the conversation stands."""
    token, _ = await gw.open_session()
    auth = {"Authorization": f"Bearer {token}"}
    handoff = await (
        await gw.client.post("/api/chat/messages", json={"id": "h1", "type": "handoff"}, headers=auth)
    ).json()
    assert handoff["state"]["type"] == "state" and handoff["state"]["state"] == "waiting"
    polled = await (await gw.client.get("/api/chat/messages?after_seq=0", headers=auth)).json()
    assert polled["state"] == {
        "type": "state",
        "state": "waiting",
        "butler": None,
        "text": "您的会话已在排队中，管家接入后会在这里回复您",
    }


async def test_the_socket_and_the_fallback_share_one_conversation(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    auth = {"Authorization": f"Bearer {token}"}
    await gw.client.post("/api/chat/messages", json={"id": "h1", "text": "你好"}, headers=auth)

    pushed = await quiet(ws)
    assert [(f["from"], f["seq"]) for f in pushed] == [("enterprise", 1), ("bot", 2)]


async def test_rasa_down_tells_the_enterprise_in_chinese(gw: Gateway) -> None:
    gw.fake.down = True
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    frames = await say(ws, "m1", "你好")

    system = [f for f in frames if f.get("from") == "system"]
    assert system and system[0]["text"] == "助手暂时无法回答，请稍后再试或点“联系管家”"
    assert system[0]["seq"] == 2


async def test_ping_is_answered_with_pong(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    await ws.send_json({"type": "ping"})
    assert await next_frame(ws) == {"type": "pong"}
