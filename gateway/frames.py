"""Stored turns and conversations as the JSON the chat clients and the console receive.

One serializer for every path (live push, resume, HTTP fallback, console events), so a
frame a client gets live is byte-for-byte the frame it gets again after a reconnect.
Shapes: docs/chat-protocol.md (frames) and docs/console-api.md (``Conversation``).
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from appeals.clock import from_db
from conversations.views import ConversationPublic, MessagePublic

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def iso(moment: datetime | None, tz: tzinfo) -> str | None:
    """A stored naive-UTC moment as office-local ISO 8601 with its offset."""
    local = from_db(moment, tz)
    return None if local is None else local.isoformat(timespec="seconds")


def message_frame(message: MessagePublic, tz: tzinfo, reply_to: str | None = None) -> dict[str, Any]:
    """One ``{"type": "message", "seq", "from", "text", …}`` frame.

    ``custom`` and ``buttons`` appear only when the turn has them; ``author`` on butler
    turns (and notes, which only the console sees); ``reply_to`` is the client message id
    an echo or a reply answers.
    """
    frame: dict[str, Any] = {
        "type": "message",
        "seq": message.seq,
        "from": message.role,
        "text": message.text,
    }
    if message.custom:
        frame["custom"] = message.custom
    if message.buttons:
        frame["buttons"] = message.buttons
    if message.role in ("butler", "note") and message.author:
        frame["author"] = message.author
    answered = message.client_message_id if message.role == "enterprise" else reply_to
    if answered:
        frame["reply_to"] = answered
    frame["at"] = iso(message.created_at, tz)
    return frame


def enterprise_frames(messages: list[MessagePublic], tz: tzinfo) -> list[dict[str, Any]]:
    """Frames for the enterprise, in order: internal notes never leave the console.

    A bot or system turn carries the id of the enterprise message it followed, as it did live.
    """
    frames = []
    last_client_id: str | None = None
    for message in messages:
        if message.role == "note":
            continue
        if message.role == "enterprise":
            last_client_id = message.client_message_id
        reply_to = last_client_id if message.role == "bot" else None
        frames.append(message_frame(message, tz, reply_to))
    return frames


def conversation_json(
    conversation: ConversationPublic, tz: tzinfo, now: datetime | None = None
) -> dict[str, Any]:
    """The console's ``Conversation`` object (docs/console-api.md)."""
    moment = now if now is not None else datetime.now(timezone.utc)
    naive_now = moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    return {
        "id": conversation.id,
        "sender": conversation.sender,
        "channel": conversation.channel,
        "state": conversation.state,
        "enterprise_name": conversation.enterprise_name or None,
        "handoff_reason": conversation.handoff_reason or None,
        "waiting_since": iso(conversation.waiting_since, tz),
        "wait_seconds": conversation.wait_seconds(naive_now),
        "butler_name": conversation.butler_name or None,
        "last_messages": [message_frame(m, tz) for m in conversation.last_messages],
        "updated_at": iso(conversation.updated_at, tz),
    }


def state_frame(state: str, butler: str | None, text: str) -> dict[str, Any]:
    """``{"type": "state", …}``: the hand-off state changed (not stored, no ``seq``)."""
    return {"type": "state", "state": state, "butler": butler or None, "text": text}


def local_moment_text(moment: datetime, tz: tzinfo) -> str:
    """``12月1日（周二）09:00``: how a date and time reads in a Chinese sentence."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）{local:%H:%M}"
