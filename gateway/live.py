"""Publishing to the console: each event reaches only the users whose scope covers it.

Scopes are checked in the database (``conversations.service.in_scope``), once per
open console socket, on a worker thread; a console user who may not see a
conversation never hears of it.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from accounts.service import conversation_scope, ticket_scope
from appeals.access import TicketScope, get_ticket_in_scope
from conversations import service as conversations
from conversations.views import ConversationPublic, MessagePublic
from gateway.db import now_utc, run_db
from gateway.frames import conversation_json, message_frame
from gateway.typedefs import HUB_KEY, SETTINGS_KEY

log = logging.getLogger(__name__)


async def to_console_for_conversation(
    app: web.Application, conversation_id: int, event: dict[str, Any]
) -> int:
    """Send ``event`` to every console user who may see the conversation."""
    hub = app[HUB_KEY]
    users = hub.console_users()
    if not users:
        return 0

    def allowed(session: Any) -> set[int]:
        return {
            id(user)
            for user in users
            if conversations.in_scope(session, conversation_id, conversation_scope(user))
        }

    visible = await run_db(app, allowed)
    return await hub.to_console(event, lambda user: id(user) in visible)


async def conversation_event(app: web.Application, kind: str, conversation: ConversationPublic) -> None:
    """``{"type": kind, "conversation": …}`` (``handoff`` or ``conversation_state``)."""
    tz = app[SETTINGS_KEY].appeals_settings.tz
    event = {"type": kind, "conversation": conversation_json(conversation, tz, now_utc(app))}
    await _safely(to_console_for_conversation(app, conversation.id, event), kind)


async def message_event(app: web.Application, message: MessagePublic) -> None:
    """``{"type": "conversation_message", "conversation_id", "message"}`` for a new turn."""
    tz = app[SETTINGS_KEY].appeals_settings.tz
    event = {
        "type": "conversation_message",
        "conversation_id": message.conversation_id,
        "message": message_frame(message, tz),
    }
    await _safely(to_console_for_conversation(app, message.conversation_id, event), "conversation_message")


async def _safely(delivery: Any, kind: str) -> None:
    """A console that cannot be told (database busy) must not undo what was already stored."""
    try:
        await delivery
    except Exception:
        log.exception("gateway.console_event_failed kind=%s", kind)


async def ticket_event(app: web.Application, number: str, kind: str) -> int:
    """``{"type": "ticket", "ticket": Ticket, "event": kind}`` to the users who may see the ticket.

    ``kind`` is ``new``, ``updated`` or ``light``; the ``Ticket`` is the console's own JSON.
    """
    from gateway.console.serializers import ticket_json  # the console owns the Ticket shape

    hub = app[HUB_KEY]
    users = hub.console_users()
    if not users:
        return 0
    settings = app[SETTINGS_KEY].appeals_settings
    now = now_utc(app)

    def load(session: Any) -> tuple[dict[str, Any] | None, set[int]]:
        ticket = get_ticket_in_scope(
            session, TicketScope(everything=True), number, now=now, settings=settings
        )
        if ticket is None:
            return None, set()
        allowed = {
            id(user)
            for user in users
            if get_ticket_in_scope(session, ticket_scope(user), number, now=now, settings=settings)
            is not None
        }
        return ticket_json(ticket), allowed

    try:
        ticket, visible = await run_db(app, load)
    except Exception:
        log.exception("gateway.console_event_failed kind=ticket")
        return 0
    if ticket is None:
        return 0
    return await hub.to_console(
        {"type": "ticket", "ticket": ticket, "event": kind}, lambda u: id(u) in visible
    )
