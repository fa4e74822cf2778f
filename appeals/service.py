"""Public API of appeals (诉求工单) for the chat actions, the butler console and the CLI.

Every function raises a subclass of ``appeals.errors.AppealError`` whose text is
a complete Chinese sentence for the user; anything else is a bug. Functions that
take ``session`` flush but never commit: the caller owns the transaction, best
with ``storage.transaction.transaction(session_factory)``, which also turns
database failures into ``storage.errors.StorageUnavailable``/``ConcurrentUpdate``
after rolling back (catch ``StorageError`` next to ``AppealError``). Datetimes
passed in may be aware or naive office-local time; returned ones are aware.

Lookup
    find_enterprise(session, text) -> EnterprisePublic | None
        exact credit code (validated: a mistyped code raises InvalidInput), else
        exact name, else a unique name containing ``text``; several → AmbiguousEnterprise.
    get_ticket(session, number, enterprise_id=None, *, now=None, settings=None) -> TicketPublic | None
        ``None`` also when the ticket belongs to another enterprise than ``enterprise_id``.
    tickets_for_enterprise(session, enterprise_id, *, include_closed=True, limit=20, now=None, settings=None)
    tickets_awaiting_rating(session, enterprise_id, *, now=None, settings=None) -> list[TicketPublic]
    list_tickets(session, *, status=None, butler_phone=None, enterprise_id=None, overdue_only=False,
                 limit=200, now=None, settings=None) -> list[TicketPublic]

Filing (owns its transactions; safe under concurrency and retries)
    create_ticket(session_factory, data: TicketCreate, *, now=None, settings=None) -> TicketPublic
        the same ``idempotency_key`` returns the first ticket instead of a second one.

The 2110 loop (see ``appeals.states`` for the table; refused moves raise TransitionRefused)
    mark_contacted(session, number, actor, note="", *, now=None, settings=None) -> TicketPublic
    record_butler_reply(session, number, actor, text, *, now=None, settings=None) -> TicketPublic
    mark_answered(session, number, actor, text, *, now=None, settings=None) -> TicketPublic
    rate_ticket(session, number, score, comment, actor, *, enterprise_id=None, now=None,
                settings=None) -> RatingOutcome
        满意/基本满意 close it; 不满意 re-opens it to the same butler with new deadlines and,
        from the ``escalate_after_reopens``-th time (2), escalates to the department head.
    assign_ticket(session, number, butler_phone, actor, reason="", *, now=None, settings=None)
    close_ticket(session, number, actor, reason, *, now=None, settings=None)
    add_note(session, number, actor, text, *, now=None, settings=None)

The outbox (``appeals.notices``): filing and the loop queue what the enterprise must hear
    (routed, butler_reply, answered, reopened) in the same transaction.
    pending_notices(session, after_id=0, limit=100) -> list[NoticePublic]
    mark_delivered(session, ids, now=None) -> int

Who sees what: ``appeals.access`` (TicketScope, list_tickets_in_scope, get_ticket_in_scope);
the chat's use cases: ``appeals.chat``; signed identity: ``appeals.identity``.

Input helpers for the chat forms
    validate_mobile(text) -> str, validate_contact_phone(text) -> str,
    validate_category(text) -> str, infer_category(text) -> str | None, CATEGORIES, SCORES.

A call repeated with the same actor and text (a retried request) does not add a
second event: the ticket is returned as it is.

Callers import from here only; the work is done in ``queries`` (reading),
``filing`` (creating) and ``lifecycle`` (the loop).
"""

from __future__ import annotations

from appeals.categories import CATEGORIES, infer_category, validate_category
from appeals.filing import URGENCIES, create_ticket
from appeals.lifecycle import (
    SCORES,
    add_note,
    assign_ticket,
    close_ticket,
    mark_answered,
    mark_contacted,
    rate_ticket,
    record_butler_reply,
)
from appeals.notices import NoticePublic, mark_delivered, pending_notices
from appeals.phones import mask_phone, validate_contact_phone, validate_mobile
from appeals.queries import (
    find_enterprise,
    get_ticket,
    list_tickets,
    tickets_awaiting_rating,
    tickets_for_enterprise,
)
from appeals.views import RatingOutcome, TicketCreate, TicketPublic, receipt_text, status_text

__all__ = [
    "CATEGORIES",
    "SCORES",
    "URGENCIES",
    "NoticePublic",
    "RatingOutcome",
    "TicketCreate",
    "TicketPublic",
    "add_note",
    "assign_ticket",
    "close_ticket",
    "create_ticket",
    "find_enterprise",
    "get_ticket",
    "infer_category",
    "list_tickets",
    "mark_answered",
    "mark_contacted",
    "mark_delivered",
    "mask_phone",
    "pending_notices",
    "rate_ticket",
    "receipt_text",
    "record_butler_reply",
    "status_text",
    "tickets_awaiting_rating",
    "tickets_for_enterprise",
    "validate_category",
    "validate_contact_phone",
    "validate_mobile",
]
