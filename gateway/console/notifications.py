"""Live notifications for the console: its WebSocket, and the watcher that announces yellow and red lights.

The socket is only a listener: the hub (``gateway.hub``) sends it the events the
gateway publishes (hand-offs, messages, state changes, tickets), each filtered by
the user's scope in ``gateway.live``. A socket whose session ended (log-out,
expiry, account disabled) is closed at the next check.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.deadlines import current_deadline, deadline_views, load_calendar
from appeals.models import Ticket
from appeals.states import ANSWERED, CLOSED
from gateway import live
from gateway.console.auth import caller_for
from gateway.console.errors import error_response
from gateway.db import now_utc, run_db
from gateway.hub import send_frame
from gateway.typedefs import HUB_KEY, SETTINGS_KEY

log = logging.getLogger(__name__)

SESSION_CHECK_SECONDS = 60.0
WS_CLOSE_SESSION_ENDED = 4401
ALERT_LIGHTS = ("yellow", "red")


@dataclass
class LightMemory:
    """The current-deadline light of every open ticket at the last look; ``primed`` after the first look."""

    lights: dict[str, str] = field(default_factory=dict)
    primed: bool = False


LIGHT_MEMORY_KEY = web.AppKey("console_light_memory", LightMemory)


def _same_origin(request: web.Request) -> bool:
    """A browser's cross-site WebSocket carries a foreign ``Origin``; refuse it (no CSRF header on sockets)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.host


async def console_ws(request: web.Request) -> web.StreamResponse:
    """``GET /api/console/ws``: refused with 401 before the upgrade without a session."""
    caller = await caller_for(request)
    if caller is None:
        return error_response(401, "unauthorized", "未登录或登录已过期，请重新登录")
    if not _same_origin(request):
        return error_response(403, "forbidden", "不允许从其他网站连接工作台")
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
    await ws.prepare(request)
    hub = request.app[HUB_KEY]
    hub.add_console(ws, caller.user)
    log.info("console.ws_open user_id=%s", caller.user.id, extra={"event": "console.ws_open"})
    try:
        while not ws.closed:
            try:
                message = await ws.receive(timeout=SESSION_CHECK_SECONDS)
            except asyncio.TimeoutError:
                if await caller_for(request) is None:
                    await ws.close(code=WS_CLOSE_SESSION_ENDED, message=b"session ended")
                continue
            if message.type == WSMsgType.TEXT:
                await _answer(ws, message.data)
            elif message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
    finally:
        hub.remove_console(ws)
        log.info("console.ws_closed user_id=%s", caller.user.id, extra={"event": "console.ws_closed"})
    return ws


async def _answer(ws: web.WebSocketResponse, text: str) -> None:
    """The page only pings; anything else gets a Chinese error frame and the socket stays open."""
    try:
        frame = json.loads(text)
    except ValueError:
        frame = None
    if isinstance(frame, dict) and frame.get("type") == "ping":
        await send_frame(ws, {"type": "pong"})
        return
    await send_frame(ws, {"type": "error", "code": "bad_frame", "text": "工作台连接只接受 ping 消息"})


# -- the light watcher ------------------------------------------------------------------------


def _current_lights(session: Session, app: web.Application) -> dict[str, str]:
    """The light of the deadline that matters now, for every ticket still waiting on the butler."""
    settings = app[SETTINGS_KEY].appeals_settings
    now = now_utc(app)
    calendar = load_calendar(session, settings)
    tickets = session.execute(select(Ticket).where(Ticket.status.notin_((ANSWERED, CLOSED)))).scalars()
    lights: dict[str, str] = {}
    for ticket in tickets:
        current = current_deadline(deadline_views(calendar, ticket, now, settings), ticket.status)
        if current is not None:
            lights[ticket.number] = current.light
    return lights


async def watch_ticket_lights(app: web.Application) -> None:
    """The periodic job the gateway runs every minute (``WATCHERS_KEY``): see ``check_ticket_lights``."""
    await check_ticket_lights(app)


async def check_ticket_lights(app: web.Application) -> list[str]:
    """One look at the open tickets: announce each whose light turned yellow or red since the last look.

    The first look after start-up only remembers, so a restart does not re-announce
    every late ticket; a ticket first seen later counts as having been green.
    Returns the numbers announced.
    """
    memory = app.get(LIGHT_MEMORY_KEY)
    if memory is None:
        memory = LightMemory()
        app[LIGHT_MEMORY_KEY] = memory
    lights = await run_db(app, lambda s: _current_lights(s, app))
    turned = [
        number
        for number, light in lights.items()
        if light in ALERT_LIGHTS and memory.lights.get(number, "green") != light
    ]
    primed, memory.primed = memory.primed, True
    memory.lights = lights
    if not primed:
        return []
    for number in turned:
        await live.ticket_event(app, number, "light")
    if turned:
        log.info("console.lights_turned count=%d", len(turned), extra={"event": "console.lights_turned"})
    return turned
