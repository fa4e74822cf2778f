"""The mini-program's log-in (wx.login code → the chat session) and binding to an enterprise with a butler's code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.models import AuditEntry
from appeals.models import BindingCode
from conversations.models import Conversation
from tests.gateway.conftest import HEJIE_PHONE, ZHU_PHONE, Clock, quiet, say, start_gateway
from tests.gateway.console.conftest import Console, log_in
from tests.gateway.fake_rasa import FakeRasa
from tests.gateway.wechat.conftest import TENGFEI, TENGFEI_CODE, WxWorld
from tests.wechat.fake_api import JSCODE2SESSION, fake_openid

WANXIANG_CODE = "919901031WTF2731AM"


async def _butler(wx: WxWorld, username: str = "hejie", phone: str = HEJIE_PHONE) -> Console:
    wx.gateway.user(username, phone)
    return await log_in(wx.gateway, username)


async def _issue(butler: Console, enterprise_id: int) -> dict[str, Any]:
    response = await butler.post(f"/api/console/enterprises/{enterprise_id}/binding-code", {})
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def _bind(wx: WxWorld, token: str, credit_code: str, code: str) -> tuple[int, dict[str, Any]]:
    response = await wx.gateway.client.post(
        "/api/miniprogram/bind",
        json={"credit_code": credit_code, "code": code},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status, await response.json()


# -- log-in ----------------------------------------------------------------------------------------


async def test_login_answers_like_a_chat_session_and_keeps_the_session_key(wx: WxWorld) -> None:
    web = await (await wx.gateway.client.post("/api/chat/session")).json()
    response = await wx.gateway.client.post("/api/miniprogram/login", json={"code": "code-1"})
    text = await response.text()
    body = await response.json()
    assert response.status == 200
    assert set(body) == set(web) == {"token", "sender"}
    assert len(body["token"]) == len(web["token"])
    session_key = wx.wechat.requests_to(JSCODE2SESSION)[0]
    assert session_key.query["js_code"] == "code-1"
    assert "session_key" not in text and fake_openid("code-1") not in text
    # the token opens the chat socket, with resume, like the web chat's
    ws = await wx.gateway.connect(body["token"])
    await ws.send_json({"type": "message", "id": "m1", "text": "开饭馆要什么材料"})
    frames = await quiet(ws)
    assert frames[0]["type"] == "ack" and frames[-1]["text"] == "答复：开饭馆要什么材料"
    assert wx.fake_rasa.messages(body["sender"])[0]["message"] == "开饭馆要什么材料"


async def test_the_same_openid_gets_the_same_conversation_on_every_login(wx: WxWorld) -> None:
    same = {"openid": "oSameUser-123", "session_key": "k1"}
    wx.wechat.script(JSCODE2SESSION, same, {**same, "session_key": "k2"})
    first = await wx.mini_login("code-a")
    second = await wx.mini_login("code-b")
    assert first["sender"] == second["sender"] and first["token"] != second["token"]
    other = await wx.mini_login("code-c")
    assert other["sender"] != first["sender"]
    with wx.gateway.factory() as session:
        senders = session.execute(select(Conversation.sender)).scalars().all()
    assert senders.count(first["sender"]) == 1
    assert not any("oSameUser" in sender for sender in senders)


async def test_a_bad_expired_or_reused_code_is_refused_in_chinese(wx: WxWorld) -> None:
    await wx.mini_login("once")
    for body, status in (({"code": "once"}, 400), ({"code": ""}, 422), ({}, 422), ({"code": 7}, 422)):
        response = await wx.gateway.client.post("/api/miniprogram/login", json=body)
        answer = await response.json()
        assert response.status == status, answer
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["message"])
    wx.wechat.script(JSCODE2SESSION, {"errcode": 45011, "errmsg": "api minute-quota reach limit"})
    response = await wx.gateway.client.post("/api/miniprogram/login", json={"code": "fresh"})
    assert response.status == 429 and "频繁" in (await response.json())["message"]
    response = await wx.gateway.client.post("/api/miniprogram/login", data=b"{not json")
    assert response.status == 400


async def test_without_wechat_settings_the_endpoints_say_so(world_url: str, clock: Clock) -> None:
    async with start_gateway(world_url, FakeRasa(), clock) as gateway:
        response = await gateway.client.post("/api/miniprogram/login", json={"code": "x"})
        body = await response.json()
        assert response.status == 503 and body["error"] == "wechat_not_configured"
        assert "微信" in body["message"]
        push = await gateway.client.get("/wechat/push", params={"echostr": "1"})
        assert push.status == 404
        assert (await gateway.client.post("/api/chat/session")).status == 200  # the rest works


# -- binding ---------------------------------------------------------------------------------------


async def test_a_butler_issues_a_code_and_the_user_binds_with_it(wx: WxWorld) -> None:
    hejie = await _butler(wx)
    enterprise_id = wx.enterprise_id()
    issued = await _issue(hejie, enterprise_id)
    assert len(issued["code"]) == 6 and issued["code"].isdigit()
    assert issued["enterprise_name"] == TENGFEI
    with wx.gateway.factory() as session:
        stored = session.execute(select(BindingCode)).scalar_one()
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "binding_code")).scalar_one()
    assert issued["code"] not in (stored.code_hash, stored.salt)  # hashed at rest
    assert audit.target == f"enterprise:{enterprise_id}"

    user = await wx.mini_login("bind-user")
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, issued["code"])
    assert (status, body["bound"], body["enterprise_name"]) == (200, True, TENGFEI)
    check = await wx.gateway.client.get(
        "/api/miniprogram/binding", headers={"Authorization": f"Bearer {user['token']}"}
    )
    assert (await check.json()) == {"bound": True, "enterprise_name": TENGFEI}

    # the conversation now speaks for 腾飞: the identity signed into Rasa's metadata names it
    ws = await wx.gateway.connect(user["token"])
    await say(ws, "q1", "我的诉求怎么样了")
    (sent,) = wx.fake_rasa.messages(user["sender"])
    assert sent["metadata"]["identity"]["enterprise_id"] == enterprise_id
    # and a new log-in of the same openid keeps it
    wx.wechat.script(JSCODE2SESSION, {"openid": fake_openid("bind-user"), "session_key": "k"})
    again = await wx.mini_login("bind-user-again")
    assert again["sender"] == user["sender"]

    # the code was single use: another user cannot spend it again
    other = await wx.mini_login("other-user")
    status, body = await _bind(wx, other["token"], TENGFEI_CODE, issued["code"])
    assert status == 400 and "已被使用" in body["message"]


async def test_wrong_expired_and_foreign_codes_bind_nothing(wx: WxWorld) -> None:
    hejie = await _butler(wx)
    issued = await _issue(hejie, wx.enterprise_id())
    user = await wx.mini_login("u1")
    wrong = "000000" if issued["code"] != "000000" else "111111"
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, wrong)
    assert status == 400 and "不正确" in body["message"]
    # the right code for another enterprise's credit code binds nothing
    status, body = await _bind(wx, user["token"], WANXIANG_CODE, issued["code"])
    assert status == 400 and "不正确" in body["message"]
    status, body = await _bind(wx, user["token"], "91990102A5NNL98XU", issued["code"])
    assert status == 422 and "18位" in body["message"]
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, "12ab")
    assert status == 422
    wx.gateway.clock.advance(31 * 60)
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, issued["code"])
    assert status == 400 and "已过期" in body["message"]
    check = await wx.gateway.client.get(
        "/api/miniprogram/binding", headers={"Authorization": f"Bearer {user['token']}"}
    )
    assert (await check.json())["bound"] is False
    # a web visitor's token is not a mini-program user
    web = await (await wx.gateway.client.post("/api/chat/session")).json()
    status, body = await _bind(wx, web["token"], TENGFEI_CODE, issued["code"])
    assert status == 403
    status, _ = await _bind(wx, "forged-token", TENGFEI_CODE, issued["code"])
    assert status == 401


async def test_attempts_are_rate_limited_per_user_and_per_enterprise(wx: WxWorld) -> None:
    hejie = await _butler(wx)
    issued = await _issue(hejie, wx.enterprise_id())
    wrong = "000000" if issued["code"] != "000000" else "111111"
    user = await wx.mini_login("guesser")
    for _ in range(5):
        status, _ = await _bind(wx, user["token"], TENGFEI_CODE, wrong)
        assert status == 400
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, issued["code"])
    assert status == 429 and "分钟后再试" in body["message"]  # even the right code, for now
    # other users guessing at the same enterprise are stopped too
    helper = await wx.mini_login("helper")
    status, _ = await _bind(wx, helper["token"], TENGFEI_CODE, issued["code"])
    assert status == 429
    wx.gateway.clock.advance(16 * 60)
    status, body = await _bind(wx, user["token"], TENGFEI_CODE, issued["code"])
    assert status == 200 and body["bound"] is True


async def test_a_butler_issues_codes_only_for_their_own_enterprises(wx: WxWorld) -> None:
    zhu = await _butler(wx, "zhu", ZHU_PHONE)
    response = await zhu.post(f"/api/console/enterprises/{wx.enterprise_id()}/binding-code", {})
    assert response.status == 404
    mine = await zhu.get("/api/console/enterprises")
    names = [e["name"] for e in (await mine.json())["enterprises"]]
    assert TENGFEI not in names and "示例市万象精密模具有限公司" in names
    issued = await _issue(zhu, wx.enterprise_id("示例市万象精密模具有限公司"))
    assert issued["enterprise_name"] == "示例市万象精密模具有限公司"
    for bad in ("0", "abc", "99999999999"):
        response = await zhu.post(f"/api/console/enterprises/{bad}/binding-code", {})
        assert response.status == 404
