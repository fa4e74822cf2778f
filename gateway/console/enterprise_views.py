"""The enterprises a console user serves, and the one-time binding codes they issue for them.

A code lets one mini-program user bind to the enterprise (``appeals.bindings``); it is
shown once, to the butler who issued it, and only its salted hash is stored. Scope is
the tickets' rule: a butler for their own enterprises, a head for the department's, an
administrator for any; anything else is the same 404 as an unknown enterprise.
"""

from __future__ import annotations

from datetime import timezone

from aiohttp import web
from sqlalchemy.orm import Session

from accounts import service as accounts
from appeals.bindings import ENTERPRISE_NOT_FOUND, IssuedCode, enterprises_in_scope, issue_binding_code
from gateway.console.auth import Caller, console_view
from gateway.console.errors import ApiError, invalid
from gateway.console.inputs import MAX_ID
from gateway.console.openapi import NAME_MAX
from gateway.db import naive, now_utc, run_db
from gateway.frames import local_moment_text
from gateway.typedefs import SETTINGS_KEY


def _enterprise_id(request: web.Request) -> int:
    raw = request.match_info.get("enterprise_id", "")
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", ENTERPRISE_NOT_FOUND)
    return int(raw)


@console_view()
async def list_enterprises(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listEnterprises``: the enterprises the caller serves, filtered by name or credit code."""
    needle = request.query.get("q", "").strip()
    if len(needle) > NAME_MAX:
        raise invalid(f"搜索内容太长（最多{NAME_MAX}个字）")
    scope = accounts.ticket_scope(caller.user)
    found = await run_db(request.app, lambda s: enterprises_in_scope(s, scope, needle))
    return web.json_response(
        {"enterprises": [{"id": e.id, "name": e.name, "credit_code": e.credit_code} for e in found]}
    )


@console_view(write=True)
async def issue_code(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``issueBindingCode``: a fresh six-digit code for the enterprise, valid 30 minutes, single use."""
    enterprise_id = _enterprise_id(request)
    now = naive(now_utc(request.app))
    scope = accounts.ticket_scope(caller.user)

    def work(session: Session) -> IssuedCode:
        issued = issue_binding_code(session, enterprise_id, scope, caller.user.label, now)
        accounts.record_audit(
            session, caller.user, "binding_code", f"enterprise:{enterprise_id}", issued.enterprise_name
        )
        return issued

    issued = await run_db(request.app, work)
    tz = request.app[SETTINGS_KEY].appeals_settings.tz
    expires = issued.expires_at.replace(tzinfo=timezone.utc)
    return web.json_response(
        {
            "code": issued.code,
            "enterprise_id": issued.enterprise_id,
            "enterprise_name": issued.enterprise_name,
            "expires_at": expires.astimezone(tz).isoformat(timespec="seconds"),
            "expires_text": local_moment_text(expires, tz),
        }
    )
