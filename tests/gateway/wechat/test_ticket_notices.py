"""A ticket filed from a WeChat conversation: its notices also arrive as subscribe messages."""

from __future__ import annotations

import asyncio

from appeals.notices import pending_notices
from storage.transaction import transaction
from tests.gateway.test_notices import RATING_REPLY, answer, file_ticket
from tests.gateway.wechat.conftest import WxWorld, eventually
from tests.wechat.fake_api import SUBSCRIBE_SEND, fake_openid


def _delivered(wx: WxWorld) -> bool:
    with transaction(wx.gateway.factory) as session:
        return not pending_notices(session)


async def test_routed_and_rating_notices_reach_a_mini_program_user_by_subscribe_message(wx: WxWorld) -> None:
    wx.fake_rasa.trigger_script["EXTERNAL_ticket_answered"] = [RATING_REPLY]
    user = await wx.mini_login("notice-user")
    ticket = file_ticket(wx.gateway, user["sender"])
    routed = (await eventually(lambda: wx.wechat.bodies(SUBSCRIBE_SEND)))[0]
    assert routed["touser"] == fake_openid("notice-user")
    assert routed["template_id"] == "tmpl-routed"
    assert routed["data"]["character_string1"]["value"] == ticket.number
    assert routed["data"]["phrase2"]["value"] == "已受理"
    assert len(routed["data"]["thing3"]["value"]) <= 20  # the template's rule for a thing

    answer(wx.gateway, ticket.number)
    rating = (await eventually(lambda: wx.wechat.bodies(SUBSCRIBE_SEND)[1:]))[0]
    assert rating["template_id"] == "tmpl-rating"
    assert rating["data"]["character_string1"]["value"] == ticket.number
    assert "评价" in rating["data"]["thing2"]["value"]


async def test_a_user_without_a_subscription_is_skipped_quietly_and_still_told_in_the_chat(
    wx: WxWorld,
) -> None:
    wx.wechat.script(SUBSCRIBE_SEND, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    user = await wx.mini_login("no-grant-user")
    ws = await wx.gateway.connect(user["token"])
    ticket = file_ticket(wx.gateway, user["sender"])
    await eventually(lambda: wx.wechat.bodies(SUBSCRIBE_SEND))
    await eventually(lambda: _delivered(wx))
    message = await ws.receive_json(timeout=5)
    assert message["from"] == "system" and ticket.number in message["text"]
    await asyncio.sleep(0.1)
    assert len(wx.wechat.bodies(SUBSCRIBE_SEND)) == 1  # not retried


async def test_a_web_visitor_gets_no_subscribe_message(wx: WxWorld) -> None:
    token, sender = await wx.gateway.open_session()
    file_ticket(wx.gateway, sender)
    await eventually(lambda: _delivered(wx))
    await asyncio.sleep(0.1)
    assert wx.wechat.bodies(SUBSCRIBE_SEND) == []
