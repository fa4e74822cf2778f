"""Domain snapshots as the console's JSON: ``Ticket``, ``TicketDetail``, ``User`` and audit entries.

Conversations and frames come from ``gateway.frames`` (one serializer for the chat
and the console); tickets from ``appeals.views.TicketPublic``. The shapes are the
schemas of ``gateway.console.openapi``: a key added here must be added there.
Every text a user typed is passed through untouched as a JSON string; the page
renders it as text.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from accounts.views import AuditEntryPublic, UserPublic
from appeals.clock import from_db
from appeals.views import DeadlineView, TicketPublic
from conversations.views import ButlerChoice, CannedReplyPublic


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _light(view: DeadlineView) -> str:
    return "done" if view.done_at is not None else view.light


def ticket_json(ticket: TicketPublic) -> dict[str, Any]:
    """The ``Ticket`` of the queue: the three 2110 lights and the deadline that matters now."""
    lights = {view.key: _light(view) for view in ticket.deadlines}
    current = ticket.current_deadline
    return {
        "number": ticket.number,
        "enterprise_name": ticket.enterprise_name,
        "category": ticket.category,
        "status": ticket.status,
        "status_label": ticket.status_label,
        "urgency": ticket.urgency,
        "butler_name": ticket.butler_name,
        "created_at": _iso(ticket.created_at),
        "lights": {key: lights.get(key, "green") for key in ("contact", "answer", "resolve")},
        "current_deadline": (
            None
            if current is None
            else {"label": current.label, "due": _iso(current.due), "light": current.light}
        ),
        "awaiting_rating": ticket.awaiting_rating,
        "reopen_count": ticket.reopen_count,
    }


def ticket_detail_json(ticket: TicketPublic) -> dict[str, Any]:
    """``TicketDetail``: the queue entry plus the appeal, its history, its ratings and what may be done."""
    return {
        **ticket_json(ticket),
        "description": ticket.description,
        "contact_name": ticket.contact_name,
        "contact_phone": ticket.contact_phone,
        "department_name": ticket.department_name,
        "escalation_label": ticket.escalation_label,
        "allowed_actions": list(ticket.allowed_actions),
        "events": [
            {
                "kind": event.kind,
                "kind_label": event.kind_label,
                "actor": event.actor,
                "note": event.note,
                "at": _iso(event.at),
                "from_status": event.from_status,
                "to_status": event.to_status,
            }
            for event in ticket.events
        ],
        "ratings": [
            {"score": rating.score, "comment": rating.comment, "round": rating.round, "at": _iso(rating.at)}
            for rating in ticket.ratings
        ],
    }


def user_json(user: UserPublic) -> dict[str, Any]:
    """``User``: what the page shows in its header; no ids the page has no use for."""
    return {"username": user.username, "display_name": user.display_name or user.username, "role": user.role}


def canned_reply_json(reply: CannedReplyPublic) -> dict[str, Any]:
    """``CannedReply``: a 常用语 the page inserts into the reply box."""
    return {"id": reply.id, "title": reply.title, "text": reply.text}


def butler_json(butler: ButlerChoice) -> dict[str, Any]:
    """``ButlerOption``: a transfer target; ``department`` is null for a butler without one."""
    return {"id": butler.id, "name": butler.name, "department": butler.department or None}


def audit_json(entry: AuditEntryPublic, tz: tzinfo) -> dict[str, Any]:
    """An audit line with its time in the office's zone (stored as naive UTC)."""
    at = from_db(entry.created_at, tz) if entry.created_at.tzinfo is None else entry.created_at.astimezone(tz)
    assert at is not None
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "at": _iso(at),
    }
