"""The audit log for administrators (everything) and department heads (their department's lines)."""

from __future__ import annotations

from aiohttp import web

from accounts import service as accounts
from gateway.console.auth import Caller, console_view
from gateway.console.serializers import audit_json
from gateway.db import run_db
from gateway.typedefs import SETTINGS_KEY

AUDIT_LIMIT = 200


@console_view(roles=("admin", "head"))
async def list_audit(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listAudit``: the newest lines first; a butler is refused with 403 by the role check."""
    department_id = accounts.audit_department(caller.user)
    entries = await run_db(
        request.app, lambda s: accounts.list_audit(s, AUDIT_LIMIT, department_id=department_id)
    )
    tz = request.app[SETTINGS_KEY].appeals_settings.tz
    return web.json_response({"entries": [audit_json(entry, tz) for entry in entries]})
