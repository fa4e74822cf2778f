"""Bad input on the chat endpoints: a Chinese reason or a 4xx with one, never a stack trace, socket kept open."""

from __future__ import annotations

import json

from tests.gateway.conftest import Gateway, next_frame, quiet


async def test_refused_frames_get_chinese_errors_and_the_socket_stays_open(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    ws = await gw.connect(token)

    await ws.send_str("{这不是JSON")
    bad_json = await next_frame(ws)
    assert bad_json["type"] == "error" and bad_json["code"] == "bad_frame"
    assert "格式不正确" in bad_json["text"]

    await ws.send_json({"type": "message", "id": "big", "text": "长" * 5000})  # 15,000 bytes
    too_large = await next_frame(ws)
    assert too_large["code"] == "too_large" and "8192" in too_large["text"]

    # as a browser sends it: UTF-8, 3 bytes per character, so 2,001 characters fit in 8 KiB
    await ws.send_str(json.dumps({"type": "message", "id": "long", "text": "问" * 2001}, ensure_ascii=False))
    too_long = await next_frame(ws)
    assert too_long == {"type": "error", "code": "too_long", "text": too_long["text"], "id": "long"}
    assert "2000" in too_long["text"]

    await ws.send_json({"type": "message", "text": "没有编号"})
    assert "编号" in (await next_frame(ws))["text"]

    await ws.send_json({"type": "upload", "id": "u1"})
    unknown = await next_frame(ws)
    assert unknown["code"] == "bad_frame" and "upload" in unknown["text"] and unknown["id"] == "u1"

    await ws.send_json({"type": "message", "id": "empty", "text": "   "})
    assert (await next_frame(ws))["text"] == "消息内容不能为空"

    await ws.send_json({"type": "resume", "after_seq": -1})
    assert (await next_frame(ws))["code"] == "bad_frame"

    await ws.send_bytes(b"\x00\x01")
    assert (await next_frame(ws))["code"] == "bad_frame"

    # nothing refused reached Rasa or the conversation, and the socket still works
    assert gw.fake.messages(sender) == []
    frames = await quiet(ws)
    assert frames == []
    await ws.send_json({"type": "message", "id": "ok", "text": "你好"})
    assert (await next_frame(ws))["seq"] == 1


async def test_too_many_messages_at_once_are_refused_politely(gw: Gateway) -> None:
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    for number in range(21):
        await ws.send_json({"type": "message", "id": f"m{number}", "text": f"第{number}条"})
    frames = await quiet(ws)
    limited = [f for f in frames if f["type"] == "error"]
    assert limited == [
        {"type": "error", "code": "rate_limited", "text": "发送太频繁了，请稍后再发", "id": "m20"}
    ]


async def test_an_unknown_token_is_refused_before_the_upgrade(gw: Gateway) -> None:
    response = await gw.client.get(
        "/api/chat/ws?token=not-a-token",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "unauthorized" and "会话凭证无效" in body["message"]


async def test_the_http_fallback_refuses_bad_requests_with_reasons(gw: Gateway) -> None:
    token, sender = await gw.open_session()
    auth = {"Authorization": f"Bearer {token}"}
    post = gw.client.post

    no_token = await post("/api/chat/messages", json={"id": "a", "text": "你好"})
    assert no_token.status == 401 and (await no_token.json())["error"] == "unauthorized"
    forged = await gw.client.get("/api/chat/messages", headers={"Authorization": "Bearer forged"})
    assert forged.status == 401

    broken = await post("/api/chat/messages", data=b"{oops", headers=auth)
    assert broken.status == 400 and "JSON" in (await broken.json())["message"]

    body = json.dumps({"id": "l", "text": "问" * 2001}, ensure_ascii=False).encode()
    long = await post("/api/chat/messages", data=body, headers=auth)
    assert long.status == 422 and (await long.json())["error"] == "too_long"

    huge = await post("/api/chat/messages", data=json.dumps({"id": "h", "text": "x" * 9000}), headers=auth)
    assert huge.status == 413 and (await huge.json())["error"] == "too_large"

    no_id = await post("/api/chat/messages", json={"text": "你好"}, headers=auth)
    assert no_id.status == 400 and "编号" in (await no_id.json())["message"]

    bad_seq = await gw.client.get("/api/chat/messages?after_seq=abc", headers=auth)
    assert bad_seq.status == 400 and (await bad_seq.json())["error"] == "bad_frame"

    assert gw.fake.messages(sender) == []


async def test_unknown_api_paths_and_methods_answer_json(gw: Gateway) -> None:
    missing = await gw.client.get("/api/chat/nothing-here")
    assert missing.status == 404 and (await missing.json())["error"] == "not_found"
    wrong = await gw.client.get("/api/chat/session")
    assert wrong.status == 405 and (await wrong.json())["message"] == "不支持该请求方式"


async def test_a_client_body_grants_nothing(gw: Gateway) -> None:
    response = await gw.client.post(
        "/api/chat/session", json={"enterprise_id": 1, "credit_code": "91990102A5NNL98XUY"}
    )
    token = (await response.json())["token"]
    ws = await gw.connect(token)
    await ws.send_json({"type": "message", "id": "m1", "text": "你好"})
    await quiet(ws)
    (posted,) = gw.fake.messages()
    assert posted["metadata"]["identity"]["enterprise_id"] is None


async def test_the_chat_page_and_health_are_served(gw: Gateway) -> None:
    page = await gw.client.get("/chat")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    health = await gw.client.get("/api/health")
    assert await health.json() == {"ok": True}
