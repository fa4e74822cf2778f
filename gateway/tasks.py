"""Background work of the gateway: deliver the appeals outbox, hand back idle conversations, run watchers.

Each loop survives its own failures (logged, retried at the next tick) and stops when the
app shuts down (``cleanup_ctx`` cancels it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from appeals.notices import NoticePublic, mark_delivered, pending_notices
from conversations import service as conversations
from conversations.views import MessagePublic
from gateway import handoff, live
from gateway.chat import merge_replies, ticket_shown_before
from gateway.db import naive, now_utc, run_db
from gateway.frames import message_frame
from gateway.rasa_client import RasaUnavailable
from gateway.typedefs import HUB_KEY, RASA_KEY, SETTINGS_KEY, WATCHERS_KEY, Watcher
from gateway.wechat.notify import notify_ticket

log = logging.getLogger(__name__)

ANSWERED_INTENT = "EXTERNAL_ticket_answered"
RETRY_FAILED_AFTER = 60.0  # seconds before a notice that failed is tried again
WATCH_SECONDS = 60.0


class NoticePump:
    """Delivers pending notices in id order; a notice that failed waits a minute before the next try."""

    def __init__(self) -> None:
        self._failed_at: dict[int, float] = {}

    async def run_once(self, app: web.Application) -> int:
        """Deliver what is pending now; returns how many notices were delivered."""
        notices = await run_db(app, lambda s: pending_notices(s, 0, 100))
        delivered = 0
        for notice in notices:
            failed = self._failed_at.get(notice.id)
            if failed is not None and time.monotonic() - failed < RETRY_FAILED_AFTER:
                continue
            try:
                done = await deliver_notice(app, notice)
                if done:
                    notify_ticket(app, notice)  # a WeChat user also hears it by subscribe message
                delivered += int(done)
            except RasaUnavailable as exc:
                log.warning("gateway.notice.rasa_unavailable notice=%s reason=%s", notice.id, exc.reason)
                return delivered  # the others would fail the same way; try again next tick
            except Exception:
                log.exception("gateway.notice.failed notice=%s kind=%s", notice.id, notice.kind)
                self._failed_at[notice.id] = time.monotonic()
                continue
            self._failed_at.pop(notice.id, None)
        return delivered


async def deliver_notice(app: web.Application, notice: NoticePublic) -> bool:
    """Store the notice's frames and mark it delivered in one transaction, then publish them.

    Storing and marking commit together, so a crash leaves either both or neither; the
    ``answered`` notice asks Rasa for the rating question first (a crash in between asks
    again once). ``False`` when another process delivered it meanwhile.
    """
    sender = notice.sender_id
    if not sender:  # filed by a butler for the enterprise: no chat to tell
        await run_db(app, lambda s: mark_delivered(s, [notice.id]))
        if notice.kind == "routed":
            await live.ticket_event(app, notice.ticket_number, "new")
        return True
    async with app[HUB_KEY].lock(sender):
        exists = await run_db(app, lambda s: conversations.conversation_for_sender(s, sender) is not None)
        replies: list[dict[str, Any]] = []
        if exists and notice.kind == "answered":
            await handoff.mirror(app, sender, [])
            replies = await app[RASA_KEY].trigger_intent(
                sender, ANSWERED_INTENT, {"ticket_number": notice.ticket_number}
            )
        now = naive(now_utc(app))

        def store(session: Session) -> list[MessagePublic] | None:
            if mark_delivered(session, [notice.id], now) == 0:
                return None
            if not exists:
                return []
            if notice.kind == "answered":
                merged = merge_replies(replies)
                if merged:
                    return [
                        conversations.record_reply(
                            session, sender, "bot", r.text, r.custom, r.buttons, now=now
                        )
                        for r in merged
                    ]
            if not notice.text:
                return []
            if notice.kind == "routed" and ticket_shown_before(session, sender, notice.ticket_number):
                return []  # filed in this chat: the assistant's reply already carried the receipt
            return [conversations.record_reply(session, sender, "system", notice.text, now=now)]

        stored = await run_db(app, store)
        if stored is None:
            return False
        if not exists:
            log.info("gateway.notice.no_conversation notice=%s kind=%s", notice.id, notice.kind)
        tz = app[SETTINGS_KEY].appeals_settings.tz
        for message in stored:
            await app[HUB_KEY].to_chat(sender, message_frame(message, tz))
        if exists and notice.kind == "routed" and notice.urgent:
            await handoff.request_handoff_locked(app, sender, handoff.REASON_URGENT)
    log.info("gateway.notice.delivered notice=%s kind=%s frames=%d", notice.id, notice.kind, len(stored))
    if notice.kind == "routed":
        await live.ticket_event(app, notice.ticket_number, "new")
    return True


# -- the loops -----------------------------------------------------------------------------------


async def _every(seconds: float, name: str, work: Callable[[], Awaitable[Any]]) -> None:
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("gateway.task_failed task=%s", name)
        await asyncio.sleep(seconds)


async def _run_watchers(app: web.Application) -> None:
    watchers: list[Watcher] = app[WATCHERS_KEY]
    for watcher in list(watchers):
        try:
            await watcher(app)
        except Exception:
            log.exception("gateway.watcher_failed watcher=%s", getattr(watcher, "__name__", watcher))


def start_tasks(app: web.Application) -> list[asyncio.Task[None]]:
    """The outbox pump, the idle hand-back and the watchers (the console's light watcher)."""
    settings = app[SETTINGS_KEY]
    pump = NoticePump()
    return [
        asyncio.create_task(_every(settings.notice_poll_seconds, "notices", lambda: pump.run_once(app))),
        asyncio.create_task(_every(settings.idle_check_seconds, "idle", lambda: handoff.hand_back_idle(app))),
        asyncio.create_task(_every(WATCH_SECONDS, "watchers", lambda: _run_watchers(app))),
    ]
