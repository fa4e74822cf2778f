"""Who may see which tickets: one rule for the console, the chat and the command line.

A ``TicketScope`` says what a caller is; a ticket is in scope when any of the
scope's grants matches it:

- ``everything``: an administrator sees all tickets;
- ``department_id``: a department head sees tickets routed to the department and
  tickets held by a butler of the department;
- ``butler_id``: a butler sees tickets assigned or transferred to them and tickets
  of the enterprises assigned to them;
- ``enterprise_id``: a chat with a *verified* identity sees its enterprise's tickets;
- ``sender_id``: any chat sees the tickets filed from its own conversation.

An empty scope sees nothing. The filters narrow what the scope allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from appeals.categories import validate_category
from appeals.deadlines import LIGHTS, load_calendar
from appeals.errors import InvalidInput
from appeals.models import Assignment, Butler, Enterprise, Ticket
from appeals.queries import (
    normalize_number,
    office_now,
    settings_or_default,
    status_condition,
    ticket_public,
    with_history,
)
from appeals.settings import AppealsSettings
from appeals.views import TicketPublic

_BATCH = 200  # tickets read per round while a light filter looks for ``limit`` matches
MAX_LIMIT = 1000


@dataclass(frozen=True)
class TicketScope:
    """What a caller is allowed to see; see the module docstring for each grant."""

    everything: bool = False
    department_id: int | None = None
    butler_id: int | None = None
    enterprise_id: int | None = None
    sender_id: str | None = None

    @property
    def empty(self) -> bool:
        """True when the scope grants nothing."""
        return not self.everything and all(
            value is None or value == ""
            for value in (self.department_id, self.butler_id, self.enterprise_id, self.sender_id)
        )


def scope_condition(scope: TicketScope) -> Any:
    """A SQL condition on ``Ticket`` true exactly for the tickets in ``scope``."""
    if scope.everything:
        return None
    grants: list[Any] = []
    if scope.butler_id is not None:
        assigned = select(Assignment.enterprise_id).where(Assignment.butler_id == scope.butler_id)
        grants += [Ticket.butler_id == scope.butler_id, Ticket.enterprise_id.in_(assigned)]
    if scope.department_id is not None:
        members = select(Butler.id).where(Butler.department_id == scope.department_id)
        grants += [Ticket.department_id == scope.department_id, Ticket.butler_id.in_(members)]
    if scope.enterprise_id is not None:
        grants.append(Ticket.enterprise_id == scope.enterprise_id)
    if scope.sender_id:
        grants.append(Ticket.sender_id == scope.sender_id)
    return or_(*grants) if grants else false()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    scope: TicketScope,
    status: str | None,
    category: str | None,
    enterprise: str | None,
    enterprise_id: int | None,
) -> Any:
    query = select(Ticket)
    condition = scope_condition(scope)
    if condition is not None:
        query = query.where(condition)
    if status:
        query = query.where(status_condition(status))
    if category:
        query = query.where(Ticket.category == validate_category(category))
    needle = (enterprise or "").strip()
    if needle:
        pattern = f"%{_escape_like(needle)}%"
        matching = select(Enterprise.id).where(
            or_(
                Enterprise.name.like(pattern, escape="\\"),
                Enterprise.credit_code.like(pattern.upper(), escape="\\"),
            )
        )
        query = query.where(Ticket.enterprise_id.in_(matching))
    if enterprise_id is not None:
        query = query.where(Ticket.enterprise_id == enterprise_id)
    return query


def list_tickets_in_scope(
    session: Session,
    scope: TicketScope,
    *,
    status: str | None = None,
    category: str | None = None,
    light: str | None = None,
    enterprise: str | None = None,
    enterprise_id: int | None = None,
    limit: int = 200,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """The tickets ``scope`` may see, newest first, narrowed by the filters.

    ``status``: ``open`` or a status; ``category``: one of CATEGORIES; ``light``:
    green/yellow/red of the current deadline (tickets waiting for a rating or
    closed have none); ``enterprise``: part of the name or the credit code;
    ``enterprise_id``: that enterprise only (the chat's bound enterprise).
    Unknown filter values raise ``InvalidInput``.
    """
    if light is not None and light not in LIGHTS:
        raise InvalidInput(f"时限灯「{light}」无法识别，可选：{'、'.join(LIGHTS)}")
    if limit < 1:
        raise InvalidInput("数量上限应为正整数")
    limit = min(limit, MAX_LIMIT)
    if scope.empty:
        return []
    cfg = settings_or_default(settings)
    moment = office_now(now, cfg)
    query = _filtered(scope, status, category, enterprise, enterprise_id).order_by(Ticket.id.desc())
    calendar = load_calendar(session, cfg)
    if light is None:
        rows = session.execute(query.limit(limit).options(*with_history())).scalars()
        return [ticket_public(ticket, moment, cfg, calendar) for ticket in rows]
    # lights depend on working time, so they are computed here, a batch at a time
    found: list[TicketPublic] = []
    offset = 0
    while len(found) < limit:
        batch = list(session.execute(query.offset(offset).limit(_BATCH).options(*with_history())).scalars())
        for ticket in batch:
            public = ticket_public(ticket, moment, cfg, calendar)
            if public.current_deadline is not None and public.current_deadline.light == light:
                found.append(public)
                if len(found) == limit:
                    break
        if len(batch) < _BATCH:
            break
        offset += _BATCH
    return found


def get_ticket_in_scope(
    session: Session,
    scope: TicketScope,
    number: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic | None:
    """One ticket with history if ``scope`` may see it; ``None`` for absent and forbidden alike."""
    value = normalize_number(number)
    if scope.empty:
        return None
    query = select(Ticket).where(Ticket.number == value)
    condition = scope_condition(scope)
    if condition is not None:
        query = query.where(condition)
    ticket = session.execute(query.options(*with_history())).scalar_one_or_none()
    if ticket is None:
        return None
    cfg = settings_or_default(settings)
    return ticket_public(ticket, office_now(now, cfg), cfg, load_calendar(session, cfg))
