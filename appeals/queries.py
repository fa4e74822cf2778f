"""Reading tickets and enterprises for the chat, the console and the CLI.

Everything returned is a snapshot dataclass from ``appeals.views``; an
enterprise only ever sees its own tickets (``get_ticket(..., enterprise_id)``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from appeals.clock import from_db, local, to_db
from appeals.credit_code import InvalidCreditCode, normalize_credit_code, validate_credit_code
from appeals.deadlines import current_deadline, deadline_views, load_calendar
from appeals.errors import AmbiguousEnterprise, InvalidInput, NotFound
from appeals.models import Assignment, Butler, Enterprise, Ticket
from appeals.phones import validate_mobile
from appeals.settings import AppealsSettings, get_settings
from appeals.states import (
    ACTION_LABELS,
    ANSWERED,
    CLOSED,
    OPEN_STATUSES,
    allowed_actions,
    escalation_label,
    status_label,
)
from appeals.views import EnterprisePublic, EventView, RatingView, TicketCreate, TicketPublic
from appeals.workcalendar import WorkCalendar

EVENT_LABELS: dict[str, str] = {"create": "提交诉求", "route": "系统分派", **ACTION_LABELS}
_CODE_LIKE = re.compile(r"^[0-9A-Z]{15,20}$")
_NUMBER = re.compile(r"^[A-Z]{1,4}\d{8,}$")


def settings_or_default(settings: AppealsSettings | None) -> AppealsSettings:
    """The caller's settings, else the process-wide ones: tests and tools pass their own."""
    return settings if settings is not None else get_settings()


def office_now(now: datetime | None, settings: AppealsSettings) -> datetime:
    """Now in the office's time zone, or ``now`` converted to it; deadlines are counted in local time."""
    return local(now, settings.tz) if now is not None else datetime.now(settings.tz)


# -- enterprises ----------------------------------------------------------------------


def _enterprise_public(session: Session, enterprise: Enterprise) -> EnterprisePublic:
    assignment = session.execute(
        select(Assignment).where(Assignment.enterprise_id == enterprise.id)
    ).scalar_one_or_none()
    butler = assignment.butler if assignment is not None else None
    backup = assignment.backup_butler if assignment is not None else None
    return EnterprisePublic(
        id=enterprise.id,
        name=enterprise.name,
        credit_code=enterprise.credit_code,
        region=enterprise.region,
        grid=enterprise.grid,
        industry=enterprise.industry,
        scale=enterprise.scale,
        butler_name=butler.name if butler is not None else "",
        butler_phone=butler.phone if butler is not None else "",
        backup_butler_name=backup.name if backup is not None else "",
        backup_butler_phone=backup.phone if backup is not None else "",
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_enterprise(session: Session, text: str) -> EnterprisePublic | None:
    """The enterprise a user means by a credit code or a (partial) name, or ``None``."""
    query = (text or "").strip()
    if not query:
        raise InvalidInput("请输入企业名称或统一社会信用代码")
    code = normalize_credit_code(query)
    if _CODE_LIKE.match(code) and any(ch.isdigit() for ch in code):
        try:
            code = validate_credit_code(code)
        except InvalidCreditCode as exc:
            raise InvalidInput(exc.message) from exc
        found = session.execute(select(Enterprise).where(Enterprise.credit_code == code)).scalar_one_or_none()
        return _enterprise_public(session, found) if found is not None else None
    exact = list(session.execute(select(Enterprise).where(Enterprise.name == query).limit(2)).scalars())
    if len(exact) == 1:
        return _enterprise_public(session, exact[0])
    if len(exact) > 1:
        raise AmbiguousEnterprise(f"有多家企业名为「{query}」，请提供统一社会信用代码", [query])
    if len(query) < 2:
        return None
    fuzzy = list(
        session.execute(
            select(Enterprise)
            .where(Enterprise.name.like(f"%{_escape_like(query)}%", escape="\\"))
            .order_by(Enterprise.name)
            .limit(6)
        ).scalars()
    )
    if len(fuzzy) == 1:
        return _enterprise_public(session, fuzzy[0])
    if len(fuzzy) > 1:
        names = [e.name for e in fuzzy[:5]]
        more = "等" if len(fuzzy) > 5 else ""
        raise AmbiguousEnterprise(
            f"找到多家名称包含「{query}」的企业：{'、'.join(names)}{more}，请输入完整名称或统一社会信用代码",
            names,
        )
    return None


def enterprise_for(session: Session, data: TicketCreate) -> Enterprise:
    """The enterprise a submission names by id or credit code; unknown or invalid codes are user errors."""
    if data.enterprise_id is not None:
        enterprise = session.get(Enterprise, data.enterprise_id)
        if enterprise is None:
            raise NotFound("没有找到该企业，请重新确认企业信息")
        return enterprise
    if not data.credit_code:
        raise InvalidInput("请提供企业的统一社会信用代码")
    try:
        code = validate_credit_code(data.credit_code)
    except InvalidCreditCode as exc:
        raise InvalidInput(exc.message) from exc
    enterprise = session.execute(
        select(Enterprise).where(Enterprise.credit_code == code)
    ).scalar_one_or_none()
    if enterprise is None:
        raise NotFound(f"统一社会信用代码 {code} 未登记在企业管家名录中，请联系所在区县营商环境办登记")
    return enterprise


# -- public views ---------------------------------------------------------------------


def ticket_public(
    ticket: Ticket, now: datetime, settings: AppealsSettings, calendar: WorkCalendar
) -> TicketPublic:
    """A complete snapshot of ``ticket`` with deadlines and lights as of ``now``."""
    views = deadline_views(calendar, ticket, now, settings)
    butler, department, enterprise = ticket.butler, ticket.department, ticket.enterprise
    events = [
        EventView(
            kind=e.kind,
            kind_label=EVENT_LABELS.get(e.kind, e.kind),
            from_status=e.from_status,
            to_status=e.to_status,
            actor=e.actor,
            note=e.note,
            at=_aware(e.created_at, settings),
        )
        for e in ticket.events
    ]
    ratings = [
        RatingView(round=r.round, score=r.score, comment=r.comment, at=_aware(r.created_at, settings))
        for r in ticket.ratings
    ]
    return TicketPublic(
        number=ticket.number,
        status=ticket.status,
        status_label=status_label(ticket.status),
        enterprise_id=ticket.enterprise_id,
        enterprise_name=enterprise.name,
        credit_code=enterprise.credit_code,
        category=ticket.category,
        description=ticket.description,
        urgency=ticket.urgency,
        contact_name=ticket.contact_name,
        contact_phone=ticket.contact_phone,
        channel=ticket.channel,
        sender_id=ticket.sender_id,
        butler_name=butler.name if butler is not None else "",
        butler_phone=butler.phone if butler is not None else "",
        department_name=department.name if department is not None else "",
        department_head_name=department.head_name if department is not None else "",
        department_head_phone=department.head_phone if department is not None else "",
        routing_rule=ticket.routing_rule,
        routing_reason=ticket.routing_reason,
        reopen_count=ticket.reopen_count,
        escalation_level=ticket.escalation_level,
        escalation_label=escalation_label(ticket.escalation_level),
        created_at=_aware(ticket.created_at, settings),
        contact_due=views[0].due,
        answer_due=views[1].due,
        resolve_due=views[2].due,
        deadlines=views,
        current_deadline=current_deadline(views, ticket.status),
        events=events,
        ratings=ratings,
        allowed_actions=allowed_actions(ticket.status),
    )


def _aware(value: datetime, settings: AppealsSettings) -> datetime:
    converted = from_db(value, settings.tz)
    assert converted is not None
    return converted


def with_history() -> Sequence[Any]:
    """Eager-load options so listing many tickets costs a few queries, not several per ticket."""
    return (
        selectinload(Ticket.events),
        selectinload(Ticket.ratings),
        selectinload(Ticket.enterprise),
        selectinload(Ticket.butler),
        selectinload(Ticket.department),
    )


def normalize_number(number: str) -> str:
    """GD202611230001 from what a user or a URL gave; a malformed number is a user error."""
    value = normalize_credit_code(number or "")  # same half-width/upper-case/no-space clean-up
    if not _NUMBER.match(value):
        raise InvalidInput(f"工单号「{number}」格式不正确，应形如 GD202611230001")
    return value


def load_ticket(session: Session, number: str) -> Ticket:
    """The ticket by number for a change; an unknown number is a user error, not ``None``."""
    value = normalize_number(number)
    ticket = session.execute(select(Ticket).where(Ticket.number == value)).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"没有找到工单 {value}")
    return ticket


def get_ticket(
    session: Session,
    number: str,
    enterprise_id: int | None = None,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic | None:
    """One ticket with history, or ``None`` if absent or another enterprise's."""
    cfg = settings_or_default(settings)
    value = normalize_number(number)
    ticket = session.execute(
        select(Ticket).where(Ticket.number == value).options(*with_history())
    ).scalar_one_or_none()
    if ticket is None or (enterprise_id is not None and ticket.enterprise_id != enterprise_id):
        return None
    return ticket_public(ticket, office_now(now, cfg), cfg, load_calendar(session, cfg))


def _public_list(
    session: Session, query: Any, now: datetime | None, settings: AppealsSettings | None
) -> list[TicketPublic]:
    cfg = settings_or_default(settings)
    tickets = list(session.execute(query.options(*with_history())).scalars())
    if not tickets:
        return []
    calendar = load_calendar(session, cfg)
    moment = office_now(now, cfg)
    return [ticket_public(t, moment, cfg, calendar) for t in tickets]


def tickets_for_enterprise(
    session: Session,
    enterprise_id: int,
    *,
    include_closed: bool = True,
    limit: int = 20,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """The enterprise's own tickets, newest first; never another enterprise's."""
    query = select(Ticket).where(Ticket.enterprise_id == enterprise_id)
    if not include_closed:
        query = query.where(Ticket.status != CLOSED)
    return _public_list(session, query.order_by(Ticket.id.desc()).limit(limit), now, settings)


def tickets_awaiting_rating(
    session: Session,
    enterprise_id: int,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """Tickets the butler reported done that the enterprise has not rated yet, oldest first."""
    query = (
        select(Ticket)
        .where(Ticket.enterprise_id == enterprise_id, Ticket.status == ANSWERED)
        .order_by(Ticket.resolved_at, Ticket.id)
    )
    return _public_list(session, query, now, settings)


def status_condition(status: str) -> Any:
    """``open`` (every status but closed) or one status; anything else is a user error."""
    if status == "open":
        return Ticket.status.in_(OPEN_STATUSES)
    if status in (*OPEN_STATUSES, CLOSED):
        return Ticket.status == status
    raise InvalidInput(f"状态「{status}」无法识别，可选：open、{'、'.join((*OPEN_STATUSES, CLOSED))}")


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    butler_phone: str | None = None,
    enterprise_id: int | None = None,
    overdue_only: bool = False,
    limit: int = 200,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """Tickets for the console and ``butler tickets list``, newest first."""
    cfg = settings_or_default(settings)
    query = select(Ticket)
    if status is not None:
        query = query.where(status_condition(status))
    if butler_phone:
        butler = butler_by_phone(session, butler_phone)
        query = query.where(Ticket.butler_id == butler.id)
    if enterprise_id is not None:
        query = query.where(Ticket.enterprise_id == enterprise_id)
    if overdue_only:
        moment = to_db(office_now(now, cfg), cfg.tz)
        query = query.where(
            Ticket.status.in_(OPEN_STATUSES[:3]),
            or_(
                and_(Ticket.contacted_at.is_(None), Ticket.contact_due < moment),
                and_(Ticket.answered_at.is_(None), Ticket.answer_due < moment),
                and_(Ticket.resolved_at.is_(None), Ticket.resolve_due < moment),
            ),
        )
    return _public_list(session, query.order_by(Ticket.id.desc()).limit(limit), now, cfg)


def butler_by_phone(session: Session, phone: str) -> Butler:
    """Butlers are identified by mobile phone everywhere, as in the registry files."""
    value = validate_mobile(phone)
    butler = session.execute(select(Butler).where(Butler.phone == value)).scalar_one_or_none()
    if butler is None:
        raise NotFound(f"没有手机号为 {value} 的管家")
    return butler
