"""The ticket queue and the 2110 closed-loop actions of the console.

Each action is one transaction: the ticket must be in the caller's scope
(``appeals.access``; outside it, the answer is the same 404 as for an unknown
number), then the ``appeals.lifecycle`` step (which refuses a move the state
table does not allow, e.g. on a closed ticket, with a 409 and the reason), then
the audit line. A retried request changes nothing in ``appeals`` and so writes
no second audit line and no second notification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import service as accounts
from appeals import lifecycle
from appeals.access import get_ticket_in_scope, list_tickets_in_scope
from appeals.categories import CATEGORIES
from appeals.errors import InvalidInput
from appeals.models import Butler
from appeals.views import TicketPublic
from gateway import live
from gateway.console.auth import Caller, console_view
from gateway.console.errors import invalid, ticket_not_found
from gateway.console.inputs import Body, id_field, query_choice, read_body, text_field
from gateway.console.openapi import LIGHTS, NAME_MAX, TEXT_MAX, TICKET_STATUS_FILTERS
from gateway.console.serializers import ticket_detail_json, ticket_json
from gateway.db import now_utc, run_db
from gateway.typedefs import SETTINGS_KEY

# a ticket action: (session, number, actor label, body) -> the ticket after it
Action = Callable[[Session, str, str, Body], TicketPublic]


def _number(request: web.Request) -> str:
    return request.match_info.get("number", "")


def _in_scope(session: Session, caller: Caller, number: str, now: datetime, settings: Any) -> TicketPublic:
    """The ticket if the caller may see it; a malformed, unknown or foreign number is the same 404."""
    try:
        ticket = get_ticket_in_scope(
            session, accounts.ticket_scope(caller.user), number, now=now, settings=settings
        )
    except InvalidInput as exc:
        raise ticket_not_found(number) from exc
    if ticket is None:
        raise ticket_not_found(number)
    return ticket


@console_view()
async def list_tickets(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listTickets``: the caller's queue, newest first, filtered by status, category, light, enterprise."""
    status = query_choice(request, "status", "工单状态", TICKET_STATUS_FILTERS)
    category = query_choice(request, "category", "诉求类别", CATEGORIES)
    light = query_choice(request, "light", "时限灯", LIGHTS)
    enterprise = request.query.get("enterprise", "").strip()
    if len(enterprise) > NAME_MAX:
        raise invalid(f"企业名称太长（最多{NAME_MAX}个字）")
    settings = request.app[SETTINGS_KEY].appeals_settings
    now = now_utc(request.app)
    scope = accounts.ticket_scope(caller.user)
    tickets = await run_db(
        request.app,
        lambda s: list_tickets_in_scope(
            s,
            scope,
            status=status,
            category=category,
            light=light,
            enterprise=enterprise or None,
            now=now,
            settings=settings,
        ),
    )
    return web.json_response({"tickets": [ticket_json(t) for t in tickets]})


@console_view()
async def get_ticket(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``getTicket``: the ticket with its events and ratings."""
    number = _number(request)
    settings = request.app[SETTINGS_KEY].appeals_settings
    now = now_utc(request.app)
    ticket = await run_db(request.app, lambda s: _in_scope(s, caller, number, now, settings))
    return web.json_response({"ticket": ticket_detail_json(ticket)})


async def _act(
    request: web.Request, caller: Caller, audit_action: str, act: Action, *, optional_body: bool = False
) -> web.StreamResponse:
    """Scope check, the lifecycle step and its audit line in one transaction; then tell the consoles."""
    body = await read_body(request, optional=optional_body)
    number = _number(request)
    settings = request.app[SETTINGS_KEY].appeals_settings
    now = now_utc(request.app)
    actor = caller.user.label

    def work(session: Session) -> tuple[TicketPublic, bool]:
        before = _in_scope(session, caller, number, now, settings)
        after = act(session, before.number, actor, body)
        changed = len(after.events) != len(before.events)
        if changed:
            detail = after.events[-1].note if after.events else ""
            accounts.record_audit(session, caller.user, audit_action, f"ticket:{after.number}", detail)
        return after, changed

    ticket, changed = await run_db(request.app, work)
    if changed:
        await live.ticket_event(request.app, ticket.number, "updated")
    return web.json_response({"ticket": ticket_detail_json(ticket)})


def _settings_now(request: web.Request) -> dict[str, Any]:
    return {"now": now_utc(request.app), "settings": request.app[SETTINGS_KEY].appeals_settings}


@console_view(write=True)
async def record_contact(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``recordContact``: the butler reached the enterprise (meets the 2-hour contact deadline)."""
    extra = _settings_now(request)

    def act(session: Session, number: str, actor: str, body: Body) -> TicketPublic:
        note = text_field(body, "note", "联系情况", max_chars=TEXT_MAX, required=False)
        return lifecycle.mark_contacted(session, number, actor, note, **extra)

    return await _act(request, caller, "ticket_contact", act, optional_body=True)


@console_view(write=True)
async def reply_ticket(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``replyTicket``: a reply to the enterprise; the first one is the preliminary answer (初步答复)."""
    extra = _settings_now(request)

    def act(session: Session, number: str, actor: str, body: Body) -> TicketPublic:
        text = text_field(body, "text", "答复内容", max_chars=TEXT_MAX)
        return lifecycle.record_butler_reply(session, number, actor, text, **extra)

    return await _act(request, caller, "ticket_reply", act)


@console_view(write=True)
async def answer_ticket(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``answerTicket``: 办结反馈; the outbox then has the gateway ask the enterprise to rate it."""
    extra = _settings_now(request)

    def act(session: Session, number: str, actor: str, body: Body) -> TicketPublic:
        text = text_field(body, "text", "办理结果", max_chars=TEXT_MAX)
        return lifecycle.mark_answered(session, number, actor, text, **extra)

    return await _act(request, caller, "ticket_answer", act)


@console_view(write=True)
async def transfer_ticket(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``transferTicket``: hand the ticket to another butler (改派), with an optional reason."""
    extra = _settings_now(request)

    def act(session: Session, number: str, actor: str, body: Body) -> TicketPublic:
        butler_id = id_field(body, "butler_id", "改派的管家")
        reason = text_field(body, "reason", "改派原因", max_chars=TEXT_MAX, required=False)
        phone = session.execute(select(Butler.phone).where(Butler.id == butler_id)).scalar_one_or_none()
        if phone is None:
            raise invalid("要改派的管家不存在")
        return lifecycle.assign_ticket(session, number, phone, actor, reason, **extra)

    return await _act(request, caller, "ticket_transfer", act)


@console_view(write=True)
async def add_ticket_note(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``addTicketNote``: an internal note, allowed in every status."""
    extra = _settings_now(request)

    def act(session: Session, number: str, actor: str, body: Body) -> TicketPublic:
        text = text_field(body, "text", "备注内容", max_chars=TEXT_MAX)
        return lifecycle.add_note(session, number, actor, text, **extra)

    return await _act(request, caller, "ticket_note", act)
