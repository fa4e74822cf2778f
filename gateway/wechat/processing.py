"""What happens to an accepted push, in the background: the same path as the web chat, then delivery.

Each openid is one enterprise conversation (``wx-<key>``, channel ``wechat``), bound
to its enterprise when the openid was bound with a butler's code; nothing in a push
(``SessionFrom`` included) is identity. A user message opens the customer-service
window (5 messages within 48 hours by default), shows the typing indicator and goes
through ``gateway.chat.handle_enterprise_message`` with its dedupe key as the client
message id, so hand-off, the console and the butler's replies work exactly as on the
web, and a message WeChat sends three times reaches the assistant once. A reply of
``1``/``2``… picks the numbered button of the last choice the user was shown. The
replies go out through ``gateway.wechat.delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import timedelta

from aiohttp import web
from sqlalchemy.orm import Session

from appeals.bindings import binding_for
from connectors.wechat.api import WeChatApi, WeChatApiError, WeChatUnavailable, openid_tag
from connectors.wechat.messages import (
    ImageMessage,
    MiniProgramPageMessage,
    PushMessage,
    TextMessage,
    Unsupported,
    UserEnterTempSession,
)
from conversations import service as conversations
from gateway import chat
from gateway.db import naive, now_utc, run_db
from gateway.frames import message_frame
from gateway.typedefs import HUB_KEY, SETTINGS_KEY
from gateway.wechat import store
from gateway.wechat.delivery import deliver, numbered_choice
from gateway.wechat.keys import WECHAT_API_KEY

log = logging.getLogger(__name__)

ENTER_LIMIT = 2  # messages WeChat allows after the user enters the session…
ENTER_WINDOW = timedelta(minutes=1)  # …within one minute
WELCOME_TEXT = "您好，我是企业管家智能助手，可以为您解答办事指南、提交和查询诉求。请直接输入您的问题，需要人工服务请发送“转人工”。"
TICKET_CONTEXT_TEXT = "您是从工单 {number} 进入的，可以直接发送“查询工单 {number}”了解办理进度。"
IMAGE_TEXT = "[图片]"
PAGE_TEXT = "[小程序页面] {title}"
UNSUPPORTED_TEXT = "暂时只能识别文字、图片和小程序页面，请用文字描述您的问题。"
UNSAFE_TEXT = "您发送的内容未通过安全检查，未能提交，请修改后重新发送。"
MAX_TEXT_CHARS = 2000
TYPING_REFRESH_SECONDS = 10.0  # WeChat shows the indicator for a while only: renew it
_TICKET = re.compile(r"GD\d{12}")


async def process_push(app: web.Application, message: PushMessage, key: str) -> None:
    """Handle one accepted push (a task of ``gateway.wechat.spawn``)."""
    sender = store.push_sender(key)
    settings = app[SETTINGS_KEY].wechat
    entering = isinstance(message, UserEnterTempSession)
    if isinstance(message, Unsupported) and message.msg_type == "event":
        log.info("gateway.wechat.event_ignored event=%s", message.event[:40])
        return  # other events (debug_demo…) open no conversation and no allowance
    now = naive(now_utc(app))
    if entering:
        limit, until = ENTER_LIMIT, now + ENTER_WINDOW
    else:
        limit, until = settings.quota_per_message, now + timedelta(seconds=settings.quota_window_seconds)

    def open_conversation(session: Session) -> str:
        binding = binding_for(session, store.binding_subject(key))
        conversation = conversations.get_or_open(
            session, sender, store.PUSH_CHANNEL, binding.enterprise_id if binding else None, now=now
        )
        store.open_window(session, key, limit, until, now)
        return conversation.state

    state = await run_db(app, open_conversation)
    if entering:
        assert isinstance(message, UserEnterTempSession)
        await _welcome(app, sender, message.session_from)
    elif isinstance(message, Unsupported):  # voice, video, location…: say what works
        await _system_reply(app, sender, UNSUPPORTED_TEXT)
    else:
        text = _text_of(message)
        if text:
            await _answer(app, message, sender, text, state)
    await deliver(app, key)


def _text_of(message: PushMessage) -> str:
    """What the enterprise said, as the chat stores it; ``""`` for pushes that say nothing."""
    if isinstance(message, TextMessage):
        return message.content.strip()[:MAX_TEXT_CHARS]
    if isinstance(message, ImageMessage):
        return IMAGE_TEXT
    if isinstance(message, MiniProgramPageMessage):
        return PAGE_TEXT.format(title=message.title.strip()[:100]).strip()
    return ""


async def _answer(app: web.Application, message: PushMessage, sender: str, text: str, state: str) -> None:
    """The user's turn through the common chat path, with the typing indicator while the assistant works."""
    api = app[WECHAT_API_KEY]
    if isinstance(message, TextMessage):
        if app[SETTINGS_KEY].wechat.msg_sec_check and not await _passes_check(app, message.openid, text):
            await _system_reply(app, sender, UNSAFE_TEXT)
            return
        text = await numbered_choice(app, sender, text)
    typing = asyncio.create_task(_typing(api, message.openid)) if state == "bot" else None
    try:
        await chat.handle_enterprise_message(app, sender, message.dedupe_key, text)
    finally:
        if typing is not None:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing


async def _typing(api: WeChatApi, openid: str) -> None:
    """Keep the typing indicator on until cancelled (best effort: WeChat may decline it)."""
    while True:
        try:
            await api.typing(openid, True)
        except (WeChatApiError, WeChatUnavailable) as exc:
            log.info(
                "gateway.wechat.typing_failed openid=%s error=%s", openid_tag(openid), type(exc).__name__
            )
            return
        await asyncio.sleep(TYPING_REFRESH_SECONDS)


async def _passes_check(app: web.Application, openid: str, text: str) -> bool:
    """msg_sec_check v2: only ``risky`` is refused; when WeChat cannot say, the text goes through."""
    try:
        verdict = await app[WECHAT_API_KEY].msg_sec_check(openid, text)
    except (WeChatApiError, WeChatUnavailable) as exc:
        log.warning("gateway.wechat.sec_check_unavailable error=%s", type(exc).__name__)
        return True
    return not verdict.risky


async def _welcome(app: web.Application, sender: str, session_from: str) -> None:
    """The user opened the customer-service session: greet them; ``SessionFrom`` is context, never identity."""
    texts = [WELCOME_TEXT]
    ticket = _TICKET.search(session_from or "")
    if ticket is not None:
        texts.append(TICKET_CONTEXT_TEXT.format(number=ticket.group(0)))
    await _system_reply(app, sender, "\n".join(texts))


async def _system_reply(app: web.Application, sender: str, text: str) -> None:
    """Store a system frame in the conversation and publish it (the deliverer sends it on)."""
    tz = app[SETTINGS_KEY].appeals_settings.tz
    now = naive(now_utc(app))
    hub = app[HUB_KEY]
    async with hub.lock(sender):
        stored = await run_db(app, lambda s: conversations.record_reply(s, sender, "system", text, now=now))
        await hub.to_chat(sender, message_frame(stored, tz))
