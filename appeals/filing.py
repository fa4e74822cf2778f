"""Filing a ticket: validation, numbering, routing and deadlines in one transaction.

Numbers are GD + YYYYMMDD (office-local day) + a 4-digit sequence from a
per-day counter row. The transaction updates that row before anything else, so
concurrent filings queue on it (a row lock on PostgreSQL, the write lock on
SQLite) and never share a number; a lost race on the day's first row, a lock
timeout or a deadlock is retried. The unique ``idempotency_key`` makes a
retried submission return the ticket it already created.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from appeals.categories import validate_category
from appeals.clock import to_db
from appeals.deadlines import compute_deadlines, load_calendar
from appeals.errors import InvalidInput, StorageUnavailable
from appeals.models import Ticket, TicketCounter, TicketEvent
from appeals.notices import add_notice
from appeals.phones import mask_phone, validate_contact_phone
from appeals.queries import enterprise_for, office_now, settings_or_default, ticket_public, with_history
from appeals.routing import route
from appeals.settings import AppealsSettings
from appeals.views import RoutingDecision, TicketCreate, TicketPublic, receipt_text
from appeals.workcalendar import WorkCalendar

logger = logging.getLogger(__name__)

URGENCIES: tuple[str, ...] = ("普通", "紧急")
MAX_DESCRIPTION = 2000
_CREATE_FAILED = "系统繁忙，诉求暂未提交成功，请稍后再试（再次提交不会产生重复工单）"


def _validated(data: TicketCreate) -> TicketCreate:
    key = (data.idempotency_key or "").strip()
    if not key or len(key) > 128:
        raise InvalidInput("提交标识无效，请重新提交诉求")
    description = (data.description or "").strip()
    if not description:
        raise InvalidInput("请描述您遇到的问题")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"问题描述过长（{len(description)}字），请控制在{MAX_DESCRIPTION}字以内")
    contact_name = (data.contact_name or "").strip()
    if not contact_name:
        raise InvalidInput("请提供联系人姓名")
    if len(contact_name) > 50:
        raise InvalidInput("联系人姓名过长，请控制在50字以内")
    urgency = (data.urgency or "普通").strip()
    if urgency not in URGENCIES:
        raise InvalidInput(f"紧急程度应为「{'」或「'.join(URGENCIES)}」")
    return TicketCreate(
        idempotency_key=key,
        category=validate_category(data.category),
        description=description,
        contact_name=contact_name,
        contact_phone=validate_contact_phone(data.contact_phone),
        enterprise_id=data.enterprise_id,
        credit_code=data.credit_code,
        urgency=urgency,
        channel=(data.channel or "")[:30],
        sender_id=(data.sender_id or "")[:128],
    )


def _next_sequence(session: Session, day: str) -> int:
    """Take the day's next number; the UPDATE comes first so it holds the write lock from here on."""
    result = session.execute(
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(last=TicketCounter.last + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        session.add(TicketCounter(day=day, last=1))
        session.flush()  # a concurrent first ticket of the day raises IntegrityError: retried
        return 1
    return int(session.execute(select(TicketCounter.last).where(TicketCounter.day == day)).scalar_one())


def _existing(session: Session, key: str) -> Ticket | None:
    return session.execute(
        select(Ticket).where(Ticket.idempotency_key == key).options(*with_history())
    ).scalar_one_or_none()


def _prepare(
    session: Session, data: TicketCreate, moment: datetime, settings: AppealsSettings
) -> tuple[Ticket, RoutingDecision, WorkCalendar]:
    """Route and compute deadlines before the counter lock, so the lock is held only for the inserts."""
    enterprise = enterprise_for(session, data)
    decision = route(session, enterprise)
    calendar = load_calendar(session, settings)
    due = compute_deadlines(calendar, moment, settings)
    tz = settings.tz
    stamp = to_db(moment, tz)
    actor = f"企业:{data.sender_id}" if data.sender_id else "企业"
    ticket = Ticket(
        idempotency_key=data.idempotency_key,
        enterprise_id=enterprise.id,
        butler_id=decision.butler_id,
        department_id=decision.department_id,
        category=data.category,
        description=data.description,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        urgency=data.urgency,
        channel=data.channel,
        sender_id=data.sender_id,
        status="submitted",
        deadline_start=stamp,
        contact_due=to_db(due.contact_due, tz),
        answer_due=to_db(due.answer_due, tz),
        resolve_due=to_db(due.resolve_due, tz),
        routing_rule=decision.rule,
        routing_reason=decision.reason,
        created_at=stamp,
        updated_at=stamp,
        ratings=[],
        events=[
            TicketEvent(kind="create", to_status="submitted", actor=actor, created_at=stamp),
            TicketEvent(
                kind="route",
                from_status="submitted",
                to_status="submitted",
                actor="系统",
                note=decision.reason,
                created_at=stamp,
            ),
        ],
    )
    return ticket, decision, calendar


def _attempt(
    session: Session, data: TicketCreate, moment: datetime, settings: AppealsSettings
) -> tuple[TicketPublic, bool]:
    """One attempt in one session: (ticket, True) if this call filed it, (existing, False) if a retry.

    The duplicate check runs twice: before the counter lock (the cheap path for
    a plain retry) and after it (a retry racing its original, which has
    committed by the time the lock is ours). Commits a new ticket together with
    its ``routed`` notice, whose text is the receipt, so the receipt is built before the commit.
    """
    existing = _existing(session, data.idempotency_key)
    if existing is not None:
        return ticket_public(existing, moment, settings, load_calendar(session, settings)), False
    ticket, decision, calendar = _prepare(session, data, moment, settings)
    day = moment.strftime("%Y%m%d")
    sequence = _next_sequence(session, day)
    existing = _existing(session, data.idempotency_key)
    if existing is not None:  # ``ticket`` was never added, so nothing of it is written
        return ticket_public(existing, moment, settings, calendar), False
    ticket.number = f"{settings.number_prefix}{day}{sequence:04d}"
    session.add(ticket)
    session.flush()
    public = ticket_public(ticket, moment, settings, calendar)
    # the receipt also goes out through the outbox: the enterprise's other live channels hear it too,
    # and an urgent appeal makes the gateway hand the conversation to a person
    add_notice(
        session, ticket, "routed", receipt_text(public), ticket.created_at, urgent=ticket.urgency == "紧急"
    )
    session.commit()
    logger.info(
        "ticket.created number=%s rule=%s butler=%s category=%s",
        ticket.number,
        decision.rule,
        mask_phone(decision.butler_phone),
        ticket.category,
        extra={
            "event": "ticket.created",
            "number": ticket.number,
            "enterprise_id": ticket.enterprise_id,
            "rule": decision.rule,
            "butler_phone": mask_phone(decision.butler_phone),
            "contact_phone": mask_phone(ticket.contact_phone),
        },
    )
    return public, True


def create_ticket(
    session_factory: sessionmaker,
    data: TicketCreate,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
    max_attempts: int = 12,
) -> TicketPublic:
    """File, number and route a ticket in one transaction; a repeated submission returns the first ticket.

    Numbers come from a per-day counter row that the transaction updates before
    anything else, so concurrent filings queue on that row (PostgreSQL) or on the
    database write lock (SQLite) and never share a number. Lock timeouts and
    collisions are retried; the unique ``idempotency_key`` catches the rest.
    """
    cfg = settings_or_default(settings)
    clean = _validated(data)
    moment = office_now(now, cfg)
    try:
        return _create_with_retries(session_factory, clean, moment, cfg, max_attempts)
    except SQLAlchemyError as exc:
        logger.error(
            "ticket.create_failed error=%s", type(exc).__name__, extra={"event": "ticket.create_failed"}
        )
        raise StorageUnavailable(_CREATE_FAILED) from exc


def _create_with_retries(
    session_factory: sessionmaker,
    clean: TicketCreate,
    moment: datetime,
    cfg: AppealsSettings,
    max_attempts: int,
) -> TicketPublic:
    last_error: Exception | None = None
    for attempt in range(max_attempts):
        session = session_factory()
        try:
            public, _created = _attempt(session, clean, moment, cfg)
            return public
        except IntegrityError as exc:
            session.rollback()
            last_error = exc
            existing = _existing(session, clean.idempotency_key)
            if existing is not None:
                return ticket_public(existing, moment, cfg, load_calendar(session, cfg))
        except OperationalError as exc:  # lock timeout, deadlock, serialization failure
            session.rollback()
            last_error = exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
    logger.error(
        "ticket.create_failed attempts=%d error=%s",
        max_attempts,
        type(last_error).__name__,
        extra={"event": "ticket.create_failed", "attempts": max_attempts},
    )
    raise StorageUnavailable(_CREATE_FAILED)
