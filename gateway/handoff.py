"""Hand-off between the assistant and the butlers, used by the chat path and the console views alike.

Each move is one transaction (the ``conversations`` use case, the audit entry and the
system message the enterprise will read), then the effects outside the database, in
order, under the conversation's lock: mirror it into Rasa (``pause`` when the assistant
stops answering, ``resume`` when it answers again, butler turns as ``bot`` events with
``metadata.butler`` so Rasa's transcript holds every turn), tell the enterprise (a
``state`` frame and the stored system frame), and notify the consoles in scope.

A mirror call Rasa refuses is kept and sent before the conversation's next message
reaches Rasa, so the tracker never misses a pause.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from accounts.service import actor_for, record_audit
from accounts.views import UserPublic
from appeals.deadlines import load_calendar
from conversations import service as conversations
from conversations.errors import ConversationNotFound
from conversations.views import SYSTEM_ACTOR, Actor, ConversationPublic, MessagePublic, scope_for
from gateway import live
from gateway.db import naive, now_utc, run_db
from gateway.frames import local_moment_text, message_frame, state_frame
from gateway.rasa_client import RasaUnavailable
from gateway.typedefs import HUB_KEY, RASA_BACKLOG_KEY, RASA_KEY, SETTINGS_KEY

log = logging.getLogger(__name__)

ENTERPRISE_ACTOR = "企业"

REASON_ASKED = "企业请求人工服务"
REASON_BUTTON = "企业点击“联系管家”"
REASON_URGENT = "紧急诉求"
REASON_UNANSWERED = "智能助手连续{count}次未能回答"

WAITING_TEXT = "正在为您转接企业管家，请稍候，管家接入后会在这里回复您"
OFF_HOURS_TEXT = "现在是非工作时间，管家将于{when}后回复您，您的会话已在排队中"
STILL_WAITING_TEXT = "您的会话已在排队中，管家接入后会在这里回复您"
TAKEN_OVER_TEXT = "企业管家{name}已接入，为您服务"
TRANSFERRED_TEXT = "您的会话已转交企业管家{name}，为您继续服务"
HANDED_BACK_TEXT = "已转回智能助手，您可以继续提问"
IDLE_TEXT = "管家暂时离开，已转回智能助手，您可以继续提问；如需人工服务，请点“联系管家”"

HAND_BACK_REASONS = ("butler", "idle")


@dataclass(frozen=True)
class HandoffResult:
    """The conversation after the move; ``changed`` is false for a repeat (a double click)."""

    conversation: ConversationPublic
    changed: bool
    message: MessagePublic | None = None


# -- helpers ------------------------------------------------------------------------------


def as_actor(user: UserPublic | Actor) -> Actor:
    """The ``conversations`` actor for a console user (``accounts`` ``UserPublic``) or an actor."""
    return user if isinstance(user, Actor) else actor_for(user)


def _audit(session: Session, user: UserPublic | Actor | str, action: str, target: str, detail: str) -> None:
    """One audit line; a console user is recorded with their id and department (heads read them)."""
    who = user.label if isinstance(user, Actor) else user
    record_audit(session, who, action, target, detail)


def _target(conversation: ConversationPublic) -> str:
    return f"conversation:{conversation.id}:{conversation.sender}"


def _waiting_text(session: Session, app: web.Application, now: datetime) -> str:
    """The standard wait message, or when a butler will reply if the office is closed now."""
    settings = app[SETTINGS_KEY].appeals_settings
    calendar = load_calendar(session, settings)
    if calendar.is_working_moment(now):
        return WAITING_TEXT
    opens = calendar.next_working_moment(now)
    return OFF_HOURS_TEXT.format(when=local_moment_text(opens, settings.tz))


async def mirror(app: web.Application, sender: str, events: list[dict[str, Any]]) -> bool:
    """Append ``events`` to Rasa's tracker after any earlier ones it refused; ``False`` if kept for later."""
    backlog = app[RASA_BACKLOG_KEY]
    pending = backlog.pop(sender, []) + events
    if not pending:
        return True
    try:
        await app[RASA_KEY].append_events(sender, pending)
    except RasaUnavailable as exc:
        backlog[sender] = pending
        log.warning("gateway.mirror_deferred events=%d reason=%s", len(pending), exc.reason)
        return False
    return True


async def _tell(
    app: web.Application, sender: str, state: str, butler: str | None, message: MessagePublic
) -> None:
    hub = app[HUB_KEY]
    tz = app[SETTINGS_KEY].appeals_settings.tz
    await hub.to_chat(sender, state_frame(state, butler, message.text))
    await hub.to_chat(sender, message_frame(message, tz))


async def _announce(app: web.Application, sender: str, result: HandoffResult, state: str) -> None:
    """After a change of hands: mirror it into Rasa, tell the enterprise who answers, tell the consoles."""
    if not result.changed:
        return
    assert result.message is not None
    await mirror(app, sender, [{"event": "pause" if state == "butler" else "resume"}])
    butler = result.conversation.butler_name if state == "butler" else None
    await _tell(app, sender, state, butler, result.message)
    await live.conversation_event(app, "conversation_state", result.conversation)


async def _sender_of(app: web.Application, conversation_id: int, actor: Actor) -> str:
    return await run_db(
        app, lambda s: conversations.get_conversation(s, conversation_id, scope_for(actor)).sender
    )


# -- the enterprise asks, or the assistant gives up ------------------------------------------


async def request_handoff(
    app: web.Application, sender: str, reason: str, *, remind: bool = False
) -> HandoffResult:
    """``bot`` → ``waiting``; already waiting or held: unchanged (``remind`` re-sends the state frame)."""
    async with app[HUB_KEY].lock(sender):
        return await request_handoff_locked(app, sender, reason, remind=remind)


async def request_handoff_locked(
    app: web.Application, sender: str, reason: str, *, remind: bool = False
) -> HandoffResult:
    """``request_handoff`` for a caller that already holds the conversation's lock (the chat path)."""
    now = now_utc(app)

    def work(session: Session) -> HandoffResult:
        before = conversations.conversation_for_sender(session, sender)
        if before is None:
            before = conversations.get_or_open(session, sender, "", now=naive(now))
        if before.state != "bot":
            return HandoffResult(before, changed=False)
        after = conversations.request_handoff(session, sender, reason, naive(now))
        _audit(session, ENTERPRISE_ACTOR, "handoff", _target(after), after.handoff_reason)
        message = conversations.record_reply(
            session, sender, "system", _waiting_text(session, app, now), now=naive(now)
        )
        return HandoffResult(after, changed=True, message=message)

    result = await run_db(app, work)
    if not result.changed:
        if not remind:
            return result
        state = result.conversation.state
        text = (
            STILL_WAITING_TEXT
            if state == "waiting"
            else TAKEN_OVER_TEXT.format(name=result.conversation.butler_name)
        )
        await app[HUB_KEY].to_chat(sender, state_frame(state, result.conversation.butler_name, text))
        return result
    log.info("gateway.handoff conversation=%s reason=%s", result.conversation.id, reason)
    await mirror(app, sender, [{"event": "pause"}])
    assert result.message is not None
    await _tell(app, sender, "waiting", None, result.message)
    await live.conversation_event(app, "handoff", result.conversation)
    return result


# -- the console ------------------------------------------------------------------------------


async def take_over(app: web.Application, conversation_id: int, user: UserPublic | Actor) -> HandoffResult:
    """A butler takes the conversation (from ``waiting`` or straight from ``bot``); Rasa is paused."""
    actor = as_actor(user)
    try:
        sender = await _sender_of(app, conversation_id, actor)
    except ConversationNotFound:
        # a duty-queue conversation leaves the others' scope the moment one butler takes it:
        # the domain tells the late click "already taken by X" (or "not found" when it is not so)
        await run_db(app, lambda s: conversations.take_over(s, conversation_id, actor, naive(now_utc(app))))
        raise
    async with app[HUB_KEY].lock(sender):
        now = now_utc(app)

        def work(session: Session) -> HandoffResult:
            before = conversations.get_conversation(session, conversation_id, scope_for(actor))
            after = conversations.take_over(session, conversation_id, actor, naive(now))
            if before.state == "butler" and before.butler_id == after.butler_id:
                return HandoffResult(after, changed=False)
            _audit(session, user, "take_over", _target(after), before.state)
            text = TAKEN_OVER_TEXT.format(name=after.butler_name)
            message = conversations.record_reply(session, after.sender, "system", text, now=naive(now))
            return HandoffResult(after, changed=True, message=message)

        result = await run_db(app, work)
        await _announce(app, sender, result, "butler")
        return result


async def send_butler_message(
    app: web.Application,
    conversation_id: int,
    user: UserPublic | Actor,
    text: str,
    client_message_id: str | None = None,
) -> MessagePublic:
    """The holder's reply: stored, pushed to the enterprise, recorded in Rasa's tracker."""
    actor = as_actor(user)
    sender = await _sender_of(app, conversation_id, actor)
    async with app[HUB_KEY].lock(sender):
        now = now_utc(app)
        message = await run_db(
            app,
            lambda s: conversations.send_butler_message(
                s, conversation_id, actor, text, naive(now), client_message_id
            ),
        )
        event = {
            "event": "bot",
            "text": message.text,
            "metadata": {"butler": message.author},
            "timestamp": now.timestamp(),
        }
        await mirror(app, sender, [event])
        tz = app[SETTINGS_KEY].appeals_settings.tz
        await app[HUB_KEY].to_chat(sender, message_frame(message, tz))
        await live.message_event(app, message)
        return message


async def add_note(
    app: web.Application, conversation_id: int, user: UserPublic | Actor, text: str
) -> MessagePublic:
    """An internal note: stored in the transcript, shown to the consoles, never to the enterprise."""
    actor = as_actor(user)
    now = now_utc(app)
    message = await run_db(app, lambda s: conversations.add_note(s, conversation_id, actor, text, naive(now)))
    await live.message_event(app, message)
    return message


async def transfer(
    app: web.Application, conversation_id: int, user: UserPublic | Actor, to_butler_id: int
) -> HandoffResult:
    """Give a waiting or held conversation to another butler; the enterprise is told who serves it now."""
    actor = as_actor(user)
    sender = await _sender_of(app, conversation_id, actor)
    async with app[HUB_KEY].lock(sender):
        now = now_utc(app)

        def work(session: Session) -> HandoffResult:
            before = conversations.get_conversation(session, conversation_id, scope_for(actor))
            after = conversations.transfer(session, conversation_id, actor, to_butler_id, naive(now))
            if before.state == "butler" and before.butler_id == after.butler_id:
                return HandoffResult(after, changed=False)
            detail = f"{before.butler_name or '待接入'} → {after.butler_name}"
            _audit(session, user, "transfer", _target(after), detail)
            text = TRANSFERRED_TEXT.format(name=after.butler_name)
            message = conversations.record_reply(session, after.sender, "system", text, now=naive(now))
            return HandoffResult(after, changed=True, message=message)

        result = await run_db(app, work)
        await _announce(app, sender, result, "butler")
        return result


async def hand_back(
    app: web.Application,
    conversation_id: int,
    user: UserPublic | Actor,
    reason: str = "butler",
    *,
    idle_before: datetime | None = None,
) -> HandoffResult:
    """Back to the assistant, which resumes with the slots it had; ``reason`` ``butler`` or ``idle``.

    ``idle_before`` (naive UTC, the idle timer) leaves the conversation alone if its butler
    wrote since the timer looked.
    """
    if reason not in HAND_BACK_REASONS:
        raise ValueError(f"unknown hand-back reason {reason!r}")
    actor = as_actor(user)
    sender = await _sender_of(app, conversation_id, actor)
    async with app[HUB_KEY].lock(sender):
        now = now_utc(app)

        def work(session: Session) -> HandoffResult:
            before = conversations.get_conversation(session, conversation_id, scope_for(actor))
            last = before.last_butler_activity_at or before.updated_at
            if idle_before is not None and (before.state != "butler" or last >= idle_before):
                return HandoffResult(before, changed=False)
            after = conversations.hand_back(session, conversation_id, actor, naive(now))
            if before.state == "bot":
                return HandoffResult(before, changed=False)
            who = before.butler_name or ""
            detail = "管家长时间未回复，自动交还" if reason == "idle" else f"{who}交还智能助手"
            _audit(session, user, "hand_back", _target(after), detail)
            text = IDLE_TEXT if reason == "idle" else HANDED_BACK_TEXT
            message = conversations.record_reply(session, after.sender, "system", text, now=naive(now))
            return HandoffResult(after, changed=True, message=message)

        result = await run_db(app, work)
        await _announce(app, sender, result, "bot")
        return result


async def hand_back_idle(app: web.Application) -> int:
    """Hand back every conversation whose butler has been silent too long; returns how many."""
    settings = app[SETTINGS_KEY]
    older_than = naive(now_utc(app)) - timedelta(seconds=settings.butler_idle_seconds)
    idle = await run_db(app, lambda s: conversations.idle_butler_conversations(s, older_than))
    count = 0
    for conversation in idle:
        try:
            result = await hand_back(
                app, conversation.id, SYSTEM_ACTOR, reason="idle", idle_before=older_than
            )
        except Exception:
            log.exception("gateway.idle_hand_back_failed conversation=%s", conversation.id)
            continue
        count += int(result.changed)
    if count:
        log.info("gateway.idle_hand_back count=%d", count)
    return count
