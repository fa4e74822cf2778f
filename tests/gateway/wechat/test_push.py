"""``/wechat/push``: verification, every refusal, retries answered once, the 5-second rule, the quota, numbers."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from connectors.wechat.crypto import WeChatCrypto, msg_signature
from conversations.models import Conversation, ConversationMessage
from gateway.wechat.models import WeChatPush
from tests.gateway.conftest import HEJIE_PHONE, Clock, start_gateway
from tests.gateway.console.conftest import log_in
from tests.gateway.fake_rasa import FakeRasa
from tests.gateway.wechat.conftest import AES_KEY, APPID, OPENID, TOKEN, WxWorld, eventually, wechat_settings
from tests.wechat.fake_api import CUSTOM_SEND, MSG_SEC_CHECK, SUBSCRIBE_SEND, TYPING, FakeWeChat


def _counts(wx: WxWorld) -> tuple[int, int, int]:
    with wx.gateway.factory() as session:
        return (
            session.execute(select(func.count()).select_from(WeChatPush)).scalar_one(),
            session.execute(select(func.count()).select_from(Conversation)).scalar_one(),
            session.execute(select(func.count()).select_from(ConversationMessage)).scalar_one(),
        )


async def test_url_verification_answers_echostr_only_when_signed(wx: WxWorld) -> None:
    query = wx.signed_query()
    response = await wx.gateway.client.get("/wechat/push", params={**query, "echostr": "4375120948345356249"})
    assert response.status == 200 and await response.text() == "4375120948345356249"
    forged = {**query, "signature": "0" * 40, "echostr": "1"}
    assert (await wx.gateway.client.get("/wechat/push", params=forged)).status == 403
    stale = wx.signed_query(timestamp=wx.now() - 3600)
    assert (await wx.gateway.client.get("/wechat/push", params={**stale, "echostr": "1"})).status == 403


async def test_the_official_vector_verifies_with_the_window_off(world_url: str, clock: Clock) -> None:
    wechat = FakeWeChat(appid=APPID)
    async with wechat.serve() as base:
        settings = wechat_settings(base, token="AAAAA", timestamp_window=0)
        async with start_gateway(world_url, FakeRasa(), clock, wechat=settings) as gateway:
            query = {
                "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
                "timestamp": "1714036504",
                "nonce": "1514711492",
                "echostr": "4375120948345356249",
            }
            response = await gateway.client.get("/wechat/push", params=query)
            assert await response.text() == "4375120948345356249"


def _text_fields(wx: WxWorld, content: str, msg_id: int, openid: str = OPENID) -> dict[str, Any]:
    return {
        "ToUserName": "gh_test",
        "FromUserName": openid,
        "CreateTime": wx.now(),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


def _secure(
    wx: WxWorld, fields: dict[str, Any], crypto: WeChatCrypto | None = None
) -> tuple[bytes, dict[str, str]]:
    encrypt = (crypto or wx.crypto).encrypt(json.dumps(fields, ensure_ascii=False).encode())
    query = wx.signed_query()
    query["encrypt_type"] = "aes"
    query["msg_signature"] = msg_signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
    return json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt}).encode(), query


async def test_every_forged_or_broken_push_is_refused_and_never_processed(wx: WxWorld) -> None:
    before = _counts(wx)
    fields = _text_fields(wx, "开饭馆要什么材料", 1)
    plain = json.dumps(fields, ensure_ascii=False).encode()
    cases: list[tuple[str, bytes, dict[str, str], dict[str, str] | None, int]] = []
    # plaintext with a bad signature
    cases.append(("bad signature", plain, {**wx.signed_query(), "signature": "f" * 40}, None, 403))
    # secure mode with a bad msg_signature
    body, query = _secure(wx, fields)
    cases.append(("bad msg_signature", body, {**query, "msg_signature": "0" * 40}, None, 403))
    # a tampered ciphertext: its msg_signature no longer matches
    encrypt = json.loads(body)["Encrypt"]
    raw = bytearray(base64.b64decode(encrypt))
    raw[-17] ^= 0x5A  # the last byte of the next-to-last block: the padding comes out wrong
    flipped = base64.b64encode(bytes(raw)).decode()
    tampered = json.dumps({"Encrypt": flipped}).encode()
    cases.append(("tampered", tampered, query, None, 403))
    # …and even re-signed (someone who knows the token), the broken padding is refused
    resigned = wx.signed_query()
    resigned.update(
        encrypt_type="aes",
        msg_signature=msg_signature(TOKEN, resigned["timestamp"], resigned["nonce"], flipped),
    )
    cases.append(("tampered and re-signed", tampered, resigned, None, 400))
    # encrypted for another mini-program
    other_body, other_query = _secure(wx, fields, WeChatCrypto(TOKEN, AES_KEY, "wx-another-app"))
    cases.append(("other appid", other_body, other_query, None, 403))
    # signed correctly, but replayed an hour later
    stale = wx.signed_query(timestamp=wx.now() - 3600)
    cases.append(("stale", plain, stale, None, 403))
    # too big, by its declared length and without one
    big = json.dumps({**fields, "Content": "很长" * 40000}, ensure_ascii=False).encode()
    cases.append(("oversized", big, wx.signed_query(), None, 413))
    for name, payload, params, headers, status in cases:
        try:
            response = await wx.post_push(payload, params, headers)
        except aiohttp.ClientOSError:
            # the gateway refuses by the declared length without reading the body; a client still
            # writing it may see the connection reset before the 413 (it does on uvloop)
            assert name == "oversized"
            continue
        assert response.status == status, name
        assert await response.text() != "success", name

    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 1024

    try:  # no declared length: the gateway stops reading past the limit (413, or a reset as above)
        response = await wx.gateway.client.post("/wechat/push", params=wx.signed_query(), data=chunks())
        assert response.status == 413
    except aiohttp.ClientOSError:
        pass
    await asyncio.sleep(0.1)
    assert _counts(wx) == before
    assert wx.fake_rasa.messages() == []
    assert wx.wechat.requests_to(CUSTOM_SEND) == []


@pytest.mark.parametrize(("secure", "fmt"), [(False, "xml"), (False, "json"), (True, "json"), (True, "xml")])
async def test_a_message_in_every_mode_is_answered_through_custom_send(
    wx: WxWorld, secure: bool, fmt: str
) -> None:
    wx.fake_rasa.script["开饭馆要什么材料"] = [{"text": "【食品经营许可证核发】申请材料：申请书、营业执照"}]
    started = time.monotonic()
    response = await wx.text("开饭馆要什么材料", 42, secure=secure, fmt=fmt)
    assert (response.status, await response.text()) == (200, "success")
    assert time.monotonic() - started < 1.0
    texts = await eventually(lambda: wx.wechat.sent_texts(OPENID))
    assert texts == ["【食品经营许可证核发】申请材料：申请书、营业执照"]
    (sent,) = wx.fake_rasa.messages()
    assert sent["sender"].startswith("wx-") and OPENID not in sent["sender"]
    assert "identity" in sent["metadata"]  # signed by the gateway, no enterprise: not bound
    assert sent["metadata"]["identity"]["enterprise_id"] is None


async def test_a_message_sent_three_times_reaches_rasa_once_even_after_a_restart(
    wx: WxWorld, world_url: str, clock: Clock
) -> None:
    body, query = _secure(wx, _text_fields(wx, "排污许可怎么办", 7001))
    answers = await asyncio.gather(*(wx.post_push(body, query) for _ in range(3)))
    assert [await a.text() for a in answers] == ["success"] * 3
    await eventually(lambda: wx.wechat.sent_texts(OPENID))
    await asyncio.sleep(0.2)
    assert [m["message"] for m in wx.fake_rasa.messages()] == ["排污许可怎么办"]
    assert len(wx.wechat.sent_texts(OPENID)) == 1
    # another gateway process on the same database: WeChat's fourth try is still a repeat
    rasa = FakeRasa()
    async with start_gateway(world_url, rasa, clock, wechat=wx.gateway.settings.wechat) as again:
        response = await again.client.post("/wechat/push", params=query, data=body)
        assert await response.text() == "success"
        await asyncio.sleep(0.2)
        assert rasa.messages() == []


class SlowRasa(FakeRasa):
    """Rasa that takes ``delay`` seconds over every answer."""

    delay: float = 10.0

    async def _webhook(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        return await super()._webhook(request)


async def test_rasa_taking_ten_seconds_still_gets_success_within_a_second(
    world_url: str, clock: Clock
) -> None:
    wechat = FakeWeChat(appid=APPID)
    async with wechat.serve() as base:
        rasa = SlowRasa()
        async with start_gateway(
            world_url, rasa, clock, wechat=wechat_settings(base), rasa_timeout=20.0
        ) as gateway:
            wx = WxWorld(gateway, wechat, WeChatCrypto(TOKEN, AES_KEY, APPID))
            started = time.monotonic()
            response = await wx.text("开饭馆要什么材料", 9001)
            assert await response.text() == "success"
            assert time.monotonic() - started < 1.0
            typing = await eventually(lambda: wechat.bodies(TYPING))
            assert typing[0] == {"touser": OPENID, "command": "Typing"}
            assert wechat.requests_to(CUSTOM_SEND) == []  # the answer is still on its way


async def test_seven_replies_are_merged_into_at_most_five_messages(wx: WxWorld) -> None:
    wx.fake_rasa.script["材料清单"] = [{"text": f"第{i}段：" + "材料说明" * 50} for i in range(1, 8)]
    await wx.text("材料清单", 5001)
    texts = await eventually(lambda: wx.wechat.sent_texts(OPENID))
    await asyncio.sleep(0.3)
    texts = wx.wechat.sent_texts(OPENID)
    assert 1 <= len(texts) <= 5
    joined = "".join(texts)
    assert all(f"第{i}段" in joined for i in range(1, 8))  # nothing cut off by the quota
    assert all(len(t.encode()) <= 2048 for t in texts)


async def test_what_does_not_fit_the_quota_arrives_after_the_next_message(wx: WxWorld) -> None:
    wx.fake_rasa.script["全部材料"] = [{"text": f"第{i}段：" + "材料说明" * 120} for i in range(1, 8)]
    await wx.text("全部材料", 5101)
    await eventually(lambda: wx.wechat.sent_texts(OPENID))
    await asyncio.sleep(0.3)
    first = wx.wechat.sent_texts(OPENID)
    assert len(first) == 5
    assert "第1段" in first[0] and "第7段" not in "".join(first)
    await wx.text("继续", 5102)
    await eventually(lambda: "答复：继续" in "".join(wx.wechat.sent_texts(OPENID)))
    everything = "".join(wx.wechat.sent_texts(OPENID))
    assert all(everything.count(f"第{i}段") == 1 for i in range(1, 8))  # each once, none lost


async def test_a_long_reply_that_no_longer_fits_waits_whole_for_the_next_message(wx: WxWorld) -> None:
    """Four full messages leave one: the long fifth reply is not sent cut and marked delivered."""
    replies = [{"text": f"第{i}段：" + "材料说明" * 155} for i in range(1, 5)]
    replies.append({"text": "第5段：" + "办理流程" * 400 + "第5段完"})
    wx.fake_rasa.script["详细说明"] = replies
    await wx.text("详细说明", 5201)
    await eventually(lambda: wx.wechat.sent_texts(OPENID))
    await asyncio.sleep(0.5)  # every stored frame wakes the deliverer; the later wakes find one message left
    first = "".join(wx.wechat.sent_texts(OPENID))
    assert "第4段" in first and "第5段" not in first
    await wx.text("继续", 5202)
    await eventually(lambda: "答复：继续" in "".join(wx.wechat.sent_texts(OPENID)))
    everything = "".join(wx.wechat.sent_texts(OPENID))
    assert all(everything.count(f"第{i}段") == 1 for i in range(1, 5))
    assert "第5段完" in everything and everything.count("办理流程") == 400  # the long reply arrived whole


async def test_a_numbered_reply_picks_the_button(wx: WxWorld) -> None:
    buttons = [
        {"title": "建设工程消防验收", "payload": '/choose_guide{"guide_id":"DEMO-001"}'},
        {
            "title": "公众聚集场所投入使用营业前消防安全检查",
            "payload": '/choose_guide{"guide_id":"DEMO-002"}',
        },
    ]
    wx.fake_rasa.script["消防怎么办"] = [{"text": "您问的可能是以下事项，请点选一项：", "buttons": buttons}]
    await wx.text("消防怎么办", 6001)
    (shown,) = await eventually(lambda: wx.wechat.sent_texts(OPENID))
    assert "1. 建设工程消防验收" in shown and "2. 公众聚集场所" in shown
    await wx.text("2", 6002)
    await eventually(lambda: len(wx.fake_rasa.messages()) == 2)
    assert wx.fake_rasa.messages()[1]["message"] == '/choose_guide{"guide_id":"DEMO-002"}'
    await wx.text("3", 6003)  # no third option: read as text
    await eventually(lambda: len(wx.fake_rasa.messages()) == 3)
    assert wx.fake_rasa.messages()[2]["message"] == "3"


async def test_entering_the_session_greets_with_context_but_no_identity(wx: WxWorld) -> None:
    fields = {
        "ToUserName": "gh_test",
        "FromUserName": OPENID,
        "CreateTime": wx.now(),
        "MsgType": "event",
        "Event": "user_enter_tempsession",
        "SessionFrom": "ticket:GD202611300001;credit_code:91990102A5NNL98XUY",
    }
    assert await (await wx.push(fields)).text() == "success"
    texts = await eventually(lambda: wx.wechat.sent_texts(OPENID))
    assert len(texts) <= 2 and "GD202611300001" in texts[0]
    with wx.gateway.factory() as session:
        conversation = session.execute(select(Conversation)).scalar_one()
    assert conversation.enterprise_id is None  # a credit code in SessionFrom binds nothing
    assert wx.fake_rasa.messages() == []


async def test_after_the_window_a_butler_reply_falls_back_to_a_subscribe_message(wx: WxWorld) -> None:
    wx.fake_rasa.script["转人工"] = [{"text": "正在为您转接", "custom": {"kind": "handoff"}}]
    await wx.text("转人工", 8001)
    await eventually(lambda: wx.wechat.sent_texts(OPENID))
    wx.gateway.user("hejie", HEJIE_PHONE)
    hejie = await log_in(wx.gateway, "hejie")
    with wx.gateway.factory() as session:
        conversation_id = session.execute(select(Conversation.id)).scalar_one()
    path = f"/api/console/conversations/{conversation_id}"
    assert (await hejie.post(f"{path}/take-over")).status == 200
    assert (await hejie.post(f"{path}/messages", {"text": "您好，我是何杰，马上为您处理"})).status == 200
    await eventually(lambda: any("马上为您处理" in t for t in wx.wechat.sent_texts(OPENID)))
    # two days later the window is closed: the next reply is announced by a subscribe message
    wx.gateway.clock.advance(49 * 3600)
    hejie = await log_in(wx.gateway, "hejie")  # a console log-in lasts 12 hours
    sends_before = len(wx.wechat.requests_to(CUSTOM_SEND))
    assert (await hejie.post(f"{path}/messages", {"text": "问题已经协调好了"})).status == 200
    (notice,) = await eventually(lambda: wx.wechat.bodies(SUBSCRIBE_SEND))
    assert notice["touser"] == OPENID and notice["data"]["thing3"]["value"].startswith("问题已经协调好了")
    assert len(wx.wechat.requests_to(CUSTOM_SEND)) == sends_before
    # when the user writes again, the pending reply goes out with the answer
    await wx.text("好的谢谢", 8002)
    await eventually(lambda: any("问题已经协调好了" in t for t in wx.wechat.sent_texts(OPENID)))


async def test_other_events_are_acknowledged_and_a_voice_message_gets_a_note(wx: WxWorld) -> None:
    debug = {
        "ToUserName": "gh_97417a04a28d",
        "FromUserName": OPENID,
        "CreateTime": wx.now(),
        "MsgType": "event",
        "Event": "debug_demo",
        "debug_str": "hello world",
    }
    assert await (await wx.push(debug, secure=False)).text() == "success"
    await asyncio.sleep(0.2)
    assert _counts(wx)[1:] == (0, 0)  # no conversation opened
    voice = {**debug, "MsgType": "voice", "MediaId": "m1", "Format": "amr", "MsgId": 3001}
    del voice["Event"], voice["debug_str"]
    assert await (await wx.push(voice)).text() == "success"
    (note,) = await eventually(lambda: wx.wechat.sent_texts(OPENID))
    assert "文字" in note
    assert wx.fake_rasa.messages() == []


async def test_with_the_security_check_on_risky_text_never_reaches_the_assistant(
    world_url: str, clock: Clock
) -> None:
    wechat = FakeWeChat(appid=APPID, risky_words=("违禁内容",))
    async with wechat.serve() as base:
        settings = wechat_settings(base, msg_sec_check=True)
        async with start_gateway(world_url, FakeRasa(), clock, wechat=settings) as gateway:
            wx = WxWorld(gateway, wechat, WeChatCrypto(TOKEN, AES_KEY, APPID))
            await wx.text("这里有违禁内容", 4001)
            (note,) = await eventually(lambda: wechat.sent_texts(OPENID))
            assert "安全检查" in note
            assert gateway.fake.messages() == []
            await wx.text("开饭馆要什么材料", 4002)
            await eventually(lambda: gateway.fake.messages())
            checked = wechat.bodies(MSG_SEC_CHECK)
            assert [b["content"] for b in checked] == ["这里有违禁内容", "开饭馆要什么材料"]
            assert all(b["version"] == 2 and b["openid"] == OPENID for b in checked)


async def test_compatible_mode_is_answered_from_the_encrypted_part_only(wx: WxWorld) -> None:
    fields = _text_fields(wx, "排污许可证怎么办", 4501)
    body, query = _secure(wx, fields)
    outer = {**fields, "Content": "被篡改的明文", "Encrypt": json.loads(body)["Encrypt"]}
    response = await wx.post_push(json.dumps(outer, ensure_ascii=False).encode(), query)
    assert await response.text() == "success"
    await eventually(lambda: wx.fake_rasa.messages())
    assert [m["message"] for m in wx.fake_rasa.messages()] == ["排污许可证怎么办"]
