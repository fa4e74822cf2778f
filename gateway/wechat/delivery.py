"""The push conversation's frames out through ``custom/send``: each once, in order, within the quota.

The deliverer hears from the hub that a frame was stored for a ``wx-`` conversation
(the assistant's answer, a butler's reply, a notice), waits for the conversation's
turn to finish (the hub's lock), and reads the frames after the last one delivered
(``wechat_user.last_delivered_seq``): nothing is sent from memory, so nothing is lost
or sent twice across a restart. The frames are merged into as few messages as the
user's allowance takes (``connectors.wechat.render.plan_messages``: 5 per user message
within 48 hours by default); frames that do not fit wait for the user's next message.
While no message is allowed (the window closed, or WeChat says 45015/45047), a frame
from a butler or the system is announced once by a subscribe message instead.
Buttons become numbered options; the frames they came from are remembered, so the
user's ``2`` is read as the second button's payload (``numbered_choice``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from weakref import WeakValueDictionary

from aiohttp import web
from sqlalchemy.orm import Session

from connectors.wechat.api import (
    NotSubscribed,
    QuotaExceeded,
    WeChatApi,
    WeChatApiError,
    WeChatUnavailable,
    openid_tag,
)
from connectors.wechat.render import (
    SHOWN_FROM,
    ButtonMemory,
    OutgoingMessage,
    numbered_options,
    plan_messages,
)
from conversations import service as conversations
from conversations.views import MessagePublic
from gateway.db import naive, now_utc, run_db
from gateway.frames import enterprise_frames
from gateway.typedefs import HUB_KEY, SETTINGS_KEY
from gateway.wechat import store
from gateway.wechat.background import spawn
from gateway.wechat.keys import WECHAT_API_KEY

log = logging.getLogger(__name__)

PAGE = 200
NOTIFY_FROM = ("butler", "system")  # what must reach the user even when no message is allowed
REPLY_PHRASE = "管家回复"
REPLY_HINT = "您有新的回复，请进入客服会话查看"
CHAT_PAGE = "pages/chat/index"
TOO_LONG_NOTE = "（内容较长，完整内容请在小程序的聊天页查看）"

_LOCKS_KEY: web.AppKey[WeakValueDictionary[str, asyncio.Lock]] = web.AppKey("wechat_delivery_locks")


def install(app: web.Application) -> None:
    """Listen to the hub: every stored frame of a push conversation wakes its deliverer."""
    app[_LOCKS_KEY] = WeakValueDictionary()

    def heard(sender: str, _frame: dict[str, Any]) -> None:
        key = store.key_of_sender(sender)
        if key is not None and sender.startswith(store.PUSH_PREFIX) and WECHAT_API_KEY in app:
            spawn(app, deliver(app, key), f"wechat-deliver-{key[:8]}")

    app[HUB_KEY].add_listener(heard)


def _lock(app: web.Application, key: str) -> asyncio.Lock:
    locks = app[_LOCKS_KEY]
    lock = locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        locks[key] = lock
    return lock


def _read(
    session: Session, key: str, now: datetime
) -> tuple[store.DeliveryState | None, list[MessagePublic]]:
    state = store.delivery_state(session, key, now)
    if state is None:
        return None, []
    return state, conversations.messages_after(
        session, store.push_sender(key), state.last_delivered_seq, PAGE
    )


async def deliver(app: web.Application, key: str) -> None:
    """Send what the openid's push conversation holds beyond the last delivered frame (one run at a time)."""
    api = app.get(WECHAT_API_KEY)
    if api is None:
        return
    sender = store.push_sender(key)
    tz = app[SETTINGS_KEY].appeals_settings.tz
    async with _lock(app, key):
        now = naive(now_utc(app))
        async with app[HUB_KEY].lock(sender):  # a turn under way finishes (and stores its replies) first
            state, stored = await run_db(app, lambda s: _read(s, key, now))
        if state is None or not stored:
            return
        frames = [f for f in enterprise_frames(stored, tz) if f.get("from") in SHOWN_FROM]
        last_seq = stored[-1].seq
        if not frames:
            await run_db(app, lambda s: store.record_delivery(s, key, now, up_to_seq=last_seq))
            return
        await _send_frames(app, api, key, state, frames, last_seq, now)


def _fitting(frames: Sequence[Mapping[str, Any]], budget: int) -> tuple[int, list[OutgoingMessage]]:
    """The most frames, from the first, whose messages fit ``budget``; at least the first one."""
    for count in range(len(frames), 0, -1):
        plan = plan_messages(frames[:count], budget)
        if count == 1 or not any(m.deferred for m in plan):
            return count, plan
    return 0, []


async def _send_frames(
    app: web.Application,
    api: WeChatApi,
    key: str,
    state: store.DeliveryState,
    frames: list[dict[str, Any]],
    last_seq: int,
    now: datetime,
) -> None:
    sent = 0
    closed = state.remaining <= 0
    count, plan = _fitting(frames, state.remaining) if not closed else (0, [])
    if count == 1 and any(m.deferred for m in plan):
        # the first frame alone needs more messages than are left: sending its head and marking it
        # delivered would lose the rest, so it waits whole for the user's next message (a fresh
        # allowance); only a frame longer than a whole allowance goes out cut, with the note saying so
        full = app[SETTINGS_KEY].wechat.quota_per_message
        if state.remaining < full:
            closed, count, plan = True, 0, []
        else:
            plan = plan_messages(frames[:1], full, overflow_note=TOO_LONG_NOTE)
    for message in plan:
        if message.deferred:
            continue
        try:
            await api.send_custom(state.openid, message)
        except QuotaExceeded:
            closed = True
            break
        except (WeChatApiError, WeChatUnavailable) as exc:
            log.warning("gateway.wechat.send_failed openid=%s error=%s", openid_tag(state.openid), exc)
            break
        sent += 1
    if sent == 0:
        if closed:  # nothing may be sent now: announce it, and wait for the user's next message
            await _announce(app, api, key, state, frames, now)
            await run_db(app, lambda s: store.record_delivery(s, key, now, sent=state.remaining))
        return  # (or WeChat failed: the frames stay pending for the next wake-up)
    used = state.remaining if closed else sent  # 45015/45047 after some sends: the window is used up
    done = frames[:count]
    up_to = last_seq if count == len(frames) else int(frames[count]["seq"]) - 1
    shown = (int(done[0]["seq"]), int(done[-1]["seq"])) if numbered_options(done) else (0, 0)
    await run_db(app, lambda s: store.record_delivery(s, key, now, up_to_seq=up_to, sent=used, choices=shown))
    log.info(
        "gateway.wechat.delivered openid=%s frames=%d messages=%d up_to=%d",
        openid_tag(state.openid),
        count,
        sent,
        up_to,
    )


async def _announce(
    app: web.Application,
    api: WeChatApi,
    key: str,
    state: store.DeliveryState,
    frames: list[dict[str, Any]],
    now: datetime,
) -> None:
    """No message is allowed now: announce a butler's or the system's new frames once by subscribe message."""
    fresh = [f for f in frames if f["seq"] > state.fallback_seq and f.get("from") in NOTIFY_FROM]
    template = app[SETTINGS_KEY].wechat.template_answered
    if not fresh or not template:
        return
    text = str(fresh[-1].get("text") or REPLY_HINT)
    data = {
        "character_string1": "N/A",
        "phrase2": REPLY_PHRASE,
        "thing3": text,
        "time4": now.replace(tzinfo=timezone.utc).astimezone(app[SETTINGS_KEY].appeals_settings.tz),
    }
    try:
        await api.send_subscribe(state.openid, template, data, page=CHAT_PAGE)
    except NotSubscribed:
        log.info("gateway.wechat.no_subscription openid=%s", openid_tag(state.openid))
    except (WeChatApiError, WeChatUnavailable) as exc:
        log.warning("gateway.wechat.subscribe_failed openid=%s error=%s", openid_tag(state.openid), exc)
        return
    last = int(fresh[-1]["seq"])
    await run_db(app, lambda s: store.record_delivery(s, key, now, fallback_seq=last))


async def numbered_choice(app: web.Application, sender: str, text: str) -> str:
    """The payload of the numbered option the user's reply picks, or ``text`` unchanged."""
    key = store.key_of_sender(sender)
    reply = text.strip()
    if key is None or len(reply) > 40:
        return text
    now = naive(now_utc(app))

    def shown(session: Session) -> list[MessagePublic]:
        state = store.delivery_state(session, key, now)
        if state is None or state.choices == (0, 0):
            return []
        first, last = state.choices
        return [m for m in conversations.messages_after(session, sender, first - 1, PAGE) if m.seq <= last]

    messages = await run_db(app, shown)
    if not messages:
        return text
    memory = ButtonMemory()
    memory.remember(sender, enterprise_frames(messages, app[SETTINGS_KEY].appeals_settings.tz))
    return memory.resolve(sender, reply) or text
