"""The 2110 loop on stored tickets: contact, reply, answer, rate, re-open, escalate.

Each action checks ``appeals.states`` before touching anything, then changes
the ticket and writes its ``TicketEvent`` in the caller's transaction, so a
failure anywhere leaves both unchanged. A request repeated with the same actor
and text (a client retry) adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.clock import to_db
from appeals.deadlines import compute_deadlines, load_calendar
from appeals.errors import InvalidInput, NotFound
from appeals.models import Rating, Ticket, TicketEvent
from appeals.notices import add_notice
from appeals.queries import butler_by_phone, get_ticket, load_ticket, office_now, settings_or_default
from appeals.settings import AppealsSettings
from appeals.states import ANSWERED, next_status
from appeals.views import RatingOutcome, TicketPublic, format_time

logger = logging.getLogger(__name__)

SCORES: tuple[str, ...] = ("满意", "基本满意", "不满意")


def _is_replay(session: Session, ticket: Ticket, kind: str, actor: str, note: str) -> bool:
    """True when the ticket's last event is exactly this request: a retry, not a new action."""
    last = session.execute(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    return last is not None and last.kind == kind and last.actor == actor and last.note == note


def _transition(
    session: Session, ticket: Ticket, action: str, actor: str, note: str, stamp: datetime
) -> TicketEvent:
    """Change status by the table and write the event; both land in the caller's transaction."""
    from_status = ticket.status
    ticket.status = next_status(action, from_status, ticket.number)
    ticket.updated_at = stamp
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=action,
        from_status=from_status,
        to_status=ticket.status,
        actor=actor,
        note=note,
        created_at=stamp,
    )
    session.add(event)
    session.flush()
    logger.info(
        "ticket.%s number=%s from=%s to=%s",
        action,
        ticket.number,
        from_status,
        ticket.status,
        extra={
            "event": f"ticket.{action}",
            "number": ticket.number,
            "from": from_status,
            "to": ticket.status,
        },
    )
    return event


def _notice_text(ticket: Ticket, kind: str, note: str) -> str:
    """What the enterprise reads in its chat: a butler's reply says which ticket it answers."""
    if kind == "butler_reply":
        who = f"企业管家{ticket.butler.name}" if ticket.butler is not None else "企业管家"
        return f"{who}就您的诉求工单 {ticket.number}（{ticket.category}）答复：{note}"
    return note


def _act(
    session: Session,
    number: str,
    action: str,
    actor: str,
    note: str,
    now: datetime | None,
    settings: AppealsSettings | None,
    apply: Callable[[Ticket, datetime], None] | None = None,
    notice: str | None = None,
) -> TicketPublic:
    """Apply ``action`` unless it is a replay; ``notice`` (a kind) tells the enterprise ``note``."""
    cfg = settings_or_default(settings)
    moment = office_now(now, cfg)
    ticket = load_ticket(session, number)
    if not _is_replay(session, ticket, action, actor, note):
        stamp = to_db(moment, cfg.tz)
        next_status(action, ticket.status, ticket.number)  # refuse before touching anything
        if apply is not None:
            apply(ticket, stamp)
        _transition(session, ticket, action, actor, note, stamp)
        if notice is not None:
            add_notice(session, ticket, notice, _notice_text(ticket, notice, note), stamp)
    session.expire(ticket)
    return _reload(session, ticket.number, moment, cfg)


def _reload(session: Session, number: str, moment: datetime, cfg: AppealsSettings) -> TicketPublic:
    public = get_ticket(session, number, now=moment, settings=cfg)
    assert public is not None
    return public


def _required(text: str, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"请填写{what}")
    return value


def mark_contacted(
    session: Session,
    number: str,
    actor: str,
    note: str = "",
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """The butler reached the enterprise (phone call or visit): meets the contact deadline."""

    def apply(ticket: Ticket, stamp: datetime) -> None:
        ticket.contacted_at = ticket.contacted_at or stamp

    return _act(session, number, "contact", actor, (note or "").strip(), now, settings, apply)


def record_butler_reply(
    session: Session,
    number: str,
    actor: str,
    text: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """A message from the butler to the enterprise; the first one is the preliminary answer."""
    message = _required(text, "答复内容")

    def apply(ticket: Ticket, stamp: datetime) -> None:
        ticket.contacted_at = ticket.contacted_at or stamp
        ticket.answered_at = ticket.answered_at or stamp

    return _act(session, number, "reply", actor, message, now, settings, apply, notice="butler_reply")


def mark_answered(
    session: Session,
    number: str,
    actor: str,
    text: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """The butler reports the appeal handled (办结反馈); the enterprise is then asked to rate it."""
    message = _required(text, "办理结果")

    def apply(ticket: Ticket, stamp: datetime) -> None:
        ticket.contacted_at = ticket.contacted_at or stamp
        ticket.answered_at = ticket.answered_at or stamp
        ticket.resolved_at = stamp

    return _act(session, number, "answer", actor, message, now, settings, apply, notice="answered")


def add_note(
    session: Session,
    number: str,
    actor: str,
    text: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """An internal note; allowed in every status, changes nothing else."""
    return _act(session, number, "note", actor, _required(text, "备注内容"), now, settings)


def close_ticket(
    session: Session,
    number: str,
    actor: str,
    reason: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """An administrator closes a ticket without a rating (withdrawn, duplicate…); a reason is required."""
    message = _required(reason, "关闭原因")

    def apply(ticket: Ticket, stamp: datetime) -> None:
        ticket.closed_at = stamp

    return _act(session, number, "close", actor, message, now, settings, apply)


def assign_ticket(
    session: Session,
    number: str,
    butler_phone: str,
    actor: str,
    reason: str = "",
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """Hand a ticket to another butler; their department becomes the escalation target."""
    butler = butler_by_phone(session, butler_phone)
    if not butler.active:
        raise InvalidInput(f"管家{butler.name}已停用，不能接收工单")
    note = f"改派给管家{butler.name}" + (f"：{reason.strip()}" if reason and reason.strip() else "")

    def apply(ticket: Ticket, stamp: datetime) -> None:
        if ticket.butler_id == butler.id:
            raise InvalidInput(f"工单{ticket.number}已由管家{butler.name}负责")
        ticket.butler_id = butler.id
        ticket.department_id = butler.department_id
        ticket.routing_rule = "manual"
        ticket.routing_reason = note

    return _act(session, number, "assign", actor, note, now, settings, apply)


def _validate_score(score: str) -> str:
    value = (score or "").strip()
    if value not in SCORES:
        raise InvalidInput(f"请选择评价：{'、'.join(SCORES)}")
    return value


def _rating_message(ticket: TicketPublic, score: str, escalated: bool) -> str:
    if score != "不满意":
        return f"感谢您的评价！工单 {ticket.number} 已办结。"
    owner = f"管家{ticket.butler_name}" if ticket.butler_name else "工作人员"
    text = (
        f"很抱歉没能让您满意。工单 {ticket.number} 已重新交由{owner}办理，"
        f"将在{format_time(ticket.contact_due)}前与您联系，{format_time(ticket.resolve_due)}前办结。"
    )
    if escalated:
        head = ticket.department_head_name or "负责人"
        text += f"该工单已升级至{ticket.department_name}{head}督办。"
    return text


def rate_ticket(
    session: Session,
    number: str,
    score: str,
    comment: str,
    actor: str,
    *,
    enterprise_id: int | None = None,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> RatingOutcome:
    """Record the enterprise's rating: close on 满意/基本满意, re-open (and maybe escalate) on 不满意."""
    cfg = settings_or_default(settings)
    moment = office_now(now, cfg)
    value = _validate_score(score)
    remark = (comment or "").strip()[:1000]
    ticket = load_ticket(session, number)
    if enterprise_id is not None and ticket.enterprise_id != enterprise_id:
        raise NotFound(f"没有找到工单 {ticket.number}")
    if ticket.status != ANSWERED:
        last = session.execute(
            select(Rating).where(Rating.ticket_id == ticket.id).order_by(Rating.round.desc()).limit(1)
        ).scalar_one_or_none()
        if last is not None and (last.score, last.comment, last.actor) == (value, remark, actor):
            public = _reload(session, ticket.number, moment, cfg)
            escalated = value == "不满意" and ticket.reopen_count >= cfg.escalate_after_reopens
            return RatingOutcome(
                ticket=public,
                score=value,
                reopened=value == "不满意",
                escalated=escalated,
                replayed=True,
                message=_rating_message(public, value, escalated),
            )
    action = "reopen" if value == "不满意" else "rate"
    next_status(action, ticket.status, ticket.number)  # refuse before writing the rating
    stamp = to_db(moment, cfg.tz)
    session.add(
        Rating(
            ticket_id=ticket.id,
            score=value,
            comment=remark,
            round=ticket.reopen_count + 1,
            actor=actor,
            created_at=stamp,
        )
    )
    note = f"{value}" + (f"：{remark}" if remark else "")
    escalated = False
    if action == "rate":
        ticket.closed_at = stamp
        _transition(session, ticket, "rate", actor, note, stamp)
    else:
        _reopen(session, ticket, moment, stamp, cfg)
        _transition(session, ticket, "reopen", actor, note, stamp)
        if ticket.reopen_count >= cfg.escalate_after_reopens:
            escalated = True
            level = 1 if ticket.reopen_count == cfg.escalate_after_reopens else 2
            _escalate(session, ticket, level, f"企业第{ticket.reopen_count}次评价不满意", stamp)
    session.expire(ticket)
    public = _reload(session, ticket.number, moment, cfg)
    message = _rating_message(public, value, escalated)
    if action == "reopen":
        add_notice(session, ticket, "reopened", message, stamp)
    return RatingOutcome(
        ticket=public,
        score=value,
        reopened=action == "reopen",
        escalated=escalated,
        replayed=False,
        message=message,
    )


def _reopen(
    session: Session, ticket: Ticket, moment: datetime, stamp: datetime, cfg: AppealsSettings
) -> None:
    """Start a new round for the same butler: new deadlines from now, milestones cleared."""
    due = compute_deadlines(load_calendar(session, cfg), moment, cfg)
    ticket.reopen_count += 1
    ticket.deadline_start = stamp
    ticket.contact_due = to_db(due.contact_due, cfg.tz)
    ticket.answer_due = to_db(due.answer_due, cfg.tz)
    ticket.resolve_due = to_db(due.resolve_due, cfg.tz)
    ticket.contacted_at = ticket.answered_at = ticket.resolved_at = None
    ticket.contact_overdue = ticket.answer_overdue = ticket.resolve_overdue = False


def _escalate(session: Session, ticket: Ticket, level: int, why: str, stamp: datetime) -> None:
    """Raise the escalation level (never lower it) and record who is now answerable."""
    ticket.escalation_level = max(ticket.escalation_level, level)
    department = ticket.department
    if ticket.escalation_level >= 2:
        target = "营商环境督办"
    elif department is not None and department.head_name:
        target = f"{department.name}负责人{department.head_name}"
    elif department is not None:
        target = f"{department.name}负责人"
    else:
        target = "部门负责人（工单未分派部门，请管理员指定）"
    _transition(session, ticket, "escalate", "系统", f"{why}，升级至{target}", stamp)


def escalate_ticket(session: Session, ticket: Ticket, level: int, why: str, stamp: datetime) -> None:
    """Escalate a loaded ticket inside the caller's transaction (used by the sweeper)."""
    _escalate(session, ticket, level, why, stamp)
