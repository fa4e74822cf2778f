"""The one path every enterprise channel uses (web chat now, WeChat next).

``handle_enterprise_message`` stores the turn once per client message id, echoes it, and
then either asks the assistant (state ``bot``: Rasa with the signed identity, every reply
stored as a frame with its ``seq`` and published) or passes it to the butlers (``waiting``
or ``butler``: Rasa is paused and only records it, the consoles in scope hear it). The
assistant's replies are watched for the hand-off triggers: a ``handoff`` turn, too many
``no_answer`` turns in a row, an urgent ticket just filed.

Turns of one conversation are processed one at a time (the hub's per-sender lock), so
frames are published in ``seq`` order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from appeals.identity import sign_identity
from conversations import service as conversations
from conversations.views import MessagePublic
from gateway import handoff, live
from gateway.db import naive, now_utc, run_turn_db
from gateway.frames import message_frame
from gateway.rasa_client import RasaUnavailable
from gateway.typedefs import HUB_KEY, RASA_KEY, SETTINGS_KEY

log = logging.getLogger(__name__)

HANDOFF_BUTTON_TEXT = "联系管家"
URGENT = "紧急"

Reply = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class AssistantReply:
    """One reply as the enterprise sees it: Rasa sends text and ``custom`` as separate messages."""

    text: str
    custom: dict[str, Any] | None = None
    buttons: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ChatOutcome:
    """What one client message produced: the ack for its sender and the conversation frames."""

    ack: dict[str, Any]
    frames: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False
    first_seq: int = 0


# -- Rasa's replies -------------------------------------------------------------------------


def _buttons(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list):
        return None
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", b.get("title", "")))}
        for b in raw
        if isinstance(b, dict) and (b.get("title") or b.get("payload"))
    ]
    return buttons or None


def merge_replies(replies: list[dict[str, Any]]) -> list[AssistantReply]:
    """Rasa's REST messages as frames: a ``custom``-only message joins the text just before it."""
    merged: list[AssistantReply] = []
    for raw in replies:
        text = raw.get("text") if isinstance(raw.get("text"), str) else ""
        custom = raw.get("custom") if isinstance(raw.get("custom"), dict) else None
        buttons = _buttons(raw.get("buttons"))
        if not text and custom is not None and not buttons and merged and merged[-1].custom is None:
            previous = merged.pop()
            merged.append(AssistantReply(previous.text, custom, previous.buttons))
            continue
        if not text and custom is None and not buttons:
            continue  # images and attachments: nothing the protocol carries
        merged.append(AssistantReply(text or "", custom, buttons))
    return merged


def _kind(reply: AssistantReply) -> str | None:
    return reply.custom.get("kind") if reply.custom else None


def _unanswered(reply: AssistantReply) -> bool:
    """No guide given: "no guide", or only a guess at which guide was meant ("did you mean")."""
    return _kind(reply) == "no_answer" or bool(reply.custom and reply.custom.get("suggested"))


def _urgent_ticket_numbers(replies: list[AssistantReply]) -> list[str]:
    return [
        str(r.custom.get("number") or r.custom.get("ticket_number") or "")
        for r in replies
        if r.custom is not None and _kind(r) == "ticket" and r.custom.get("urgency") == URGENT
    ]


def ticket_shown_before(
    session: conversations.Executor, sender: str, number: str, before_seq: int | None = None
) -> bool:
    """Whether an earlier frame showed this ticket: only the first showing (its filing) hands off."""
    for message in conversations.messages_after(session, sender, 0, limit=1000):
        if before_seq is not None and message.seq >= before_seq:
            break
        custom = message.custom or {}
        if (
            custom.get("kind") == "ticket"
            and number
            and number in (custom.get("number"), custom.get("ticket_number"))
        ):
            return True
    return False


# -- the path -----------------------------------------------------------------------------------


def _identity(app: web.Application, sender: str, enterprise_id: int | None) -> dict[str, Any]:
    """Rasa's metadata: only the identity the gateway signs; nothing a client sent."""
    secret = app[SETTINGS_KEY].identity_secret
    if not secret:
        return {}
    issued_at = int(now_utc(app).timestamp())
    return {"identity": sign_identity(secret, sender, enterprise_id, issued_at)}


async def _noop(_frame: dict[str, Any]) -> None:
    return None


async def handle_enterprise_message(
    app: web.Application,
    sender: str,
    client_message_id: str,
    text: str,
    *,
    reply: Reply | None = None,
) -> ChatOutcome:
    """Store, echo and answer one enterprise message; a known client id is acknowledged only.

    ``reply`` sends a frame to the requesting connection only (the ack); every conversation
    frame goes to all of the sender's open tabs through the hub.
    """
    async with app[HUB_KEY].lock(sender):
        return await _handle_locked(app, sender, client_message_id, text, reply or _noop, button=False)


async def handle_handoff_button(
    app: web.Application, sender: str, client_message_id: str, *, reply: Reply | None = None
) -> ChatOutcome:
    """The 联系管家 button: stored as the enterprise's turn, then handed to a person without Rasa."""
    async with app[HUB_KEY].lock(sender):
        return await _handle_locked(
            app, sender, client_message_id, HANDOFF_BUTTON_TEXT, reply or _noop, button=True
        )


async def _handle_locked(
    app: web.Application, sender: str, client_message_id: str, text: str, reply: Reply, *, button: bool
) -> ChatOutcome:
    """One transaction stores the turn and reads the state it was stored in; then route it.

    Rasa is asked only after the turn is committed: the unique client message id decides
    what is a repeat, so a message sent twice reaches the assistant once.
    """
    hub = app[HUB_KEY]
    tz = app[SETTINGS_KEY].appeals_settings.tz
    now = naive(now_utc(app))
    turn = await run_turn_db(
        app,
        lambda session: conversations.record_enterprise_turn(
            session, sender, client_message_id, text, now=now
        ),
    )
    message = turn.message
    ack = {"type": "ack", "id": client_message_id, "seq": message.seq, "duplicate": turn.duplicate}
    if turn.duplicate:
        await reply(ack)
        log.info("gateway.chat.duplicate conversation=%s seq=%s", message.conversation_id, message.seq)
        return ChatOutcome(ack=ack, duplicate=True, first_seq=message.seq)
    asking: asyncio.Task[_Answer] | None = None
    if not button and turn.state == "bot":
        # the request leaves before the ack and the echo are written: they are not on Rasa's path
        asking = asyncio.create_task(_assistant_replies(app, sender, turn))
        await asyncio.sleep(0)
    try:
        await reply(ack)
        echo = message_frame(message, tz)
        await hub.to_chat(sender, echo)
    except BaseException:
        if asking is not None:
            asking.cancel()
        raise
    frames = [echo]
    if button:
        result = await handoff.request_handoff_locked(app, sender, handoff.REASON_BUTTON, remind=True)
        if result.message is not None:
            frames.append(message_frame(result.message, tz))
    elif asking is not None:
        frames += await _publish_answer(app, sender, client_message_id, await asking)
    else:
        await _record_for_butler(app, sender, turn)
    return ChatOutcome(ack=ack, frames=frames, first_seq=message.seq)


async def _record_for_butler(app: web.Application, sender: str, turn: conversations.EnterpriseTurn) -> None:
    """A person handles the conversation: the consoles hear it; Rasa (paused) only records it."""
    conversation_id = turn.message.conversation_id
    await live.message_event(app, turn.message)
    if not await handoff.mirror(app, sender, []):
        return  # the pause has not reached Rasa: do not let the assistant answer
    try:
        replies = await app[RASA_KEY].send(
            sender, turn.message.text, _identity(app, sender, turn.enterprise_id)
        )
    except RasaUnavailable as exc:
        log.warning(
            "gateway.chat.paused_record_failed conversation=%s reason=%s", conversation_id, exc.reason
        )
        return
    if replies:  # Rasa answered, so it was not paused (a pause lost in a restart): pause it now
        log.warning("gateway.chat.rasa_not_paused conversation=%s", conversation_id)
        await handoff.mirror(app, sender, [{"event": "pause"}])


@dataclass(frozen=True)
class _Answer:
    """What the assistant said to one message: its replies, or why it could not answer."""

    replies: list[AssistantReply]
    unavailable: str = ""


async def _assistant_replies(
    app: web.Application, sender: str, turn: conversations.EnterpriseTurn
) -> _Answer:
    """Forward the stored message to Rasa with the signed identity; Rasa's failures become ``unavailable``."""
    rasa = app[RASA_KEY]
    conversation_id = turn.message.conversation_id
    text = turn.message.text
    try:
        if not await handoff.mirror(app, sender, []):
            raise RasaUnavailable("tracker events pending")
        replies = merge_replies(await rasa.send(sender, text, _identity(app, sender, turn.enterprise_id)))
        if not replies and await rasa.is_paused(sender):
            # a resume lost in a restart: the assistant is ours again, so it answers this message
            log.warning("gateway.chat.rasa_still_paused conversation=%s", conversation_id)
            await rasa.append_events(sender, [{"event": "resume"}])
            replies = merge_replies(await rasa.send(sender, text, _identity(app, sender, turn.enterprise_id)))
    except RasaUnavailable as exc:
        log.warning("gateway.chat.rasa_unavailable conversation=%s reason=%s", conversation_id, exc.reason)
        return _Answer([], str(exc))
    return _Answer(replies)


async def _publish_answer(
    app: web.Application, sender: str, client_message_id: str, answer: _Answer
) -> list[dict[str, Any]]:
    """Store the answer's frames in one transaction, publish them, and hand off when they call for a person."""
    settings = app[SETTINGS_KEY]
    tz = settings.appeals_settings.tz
    replies = answer.replies
    if answer.unavailable:
        drafts = [conversations.ReplyDraft("system", answer.unavailable)]
    else:
        drafts = [conversations.ReplyDraft("bot", r.text, r.custom, r.buttons) for r in replies]
    if not drafts:
        return []
    kinds = [_kind(r) for r in replies]
    urgent = _urgent_ticket_numbers(replies)
    now = naive(now_utc(app))

    def store(session: conversations.Executor) -> tuple[list[MessagePublic], str]:
        stored, streak = conversations.record_replies(
            session,
            sender,
            drafts,
            answered=not any(_unanswered(r) for r in replies) if replies else None,
            now=now,
        )
        reason = ""
        if "handoff" in kinds:
            reason = handoff.REASON_ASKED
        elif any(not ticket_shown_before(session, sender, number, stored[0].seq) for number in urgent):
            reason = handoff.REASON_URGENT
        if replies and not reason and streak >= settings.unanswered_handoff:
            reason = handoff.REASON_UNANSWERED.format(count=streak)
        return stored, reason

    stored, reason = await run_turn_db(app, store)
    frames = [message_frame(m, tz, reply_to=client_message_id if m.role == "bot" else None) for m in stored]
    for frame in frames:
        await app[HUB_KEY].to_chat(sender, frame)
    if reason:
        result = await handoff.request_handoff_locked(app, sender, reason)
        if result.message is not None:
            frames.append(message_frame(result.message, tz))
    return frames
