"""The gateway's app factory: the only door to the assistant, for enterprises and butlers.

Resources live in ``cleanup_ctx`` generators, so each is closed only if it started:
the database (engine and session factory), the HTTP client for Rasa, the live hub,
the background tasks (outbox pump, idle-butler hand-back, watchers) and the WeChat
channel (``gateway.wechat``: its API client and the tasks pushes start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway.chat_views import setup_chat_routes
from gateway.db import LOOP_SESSIONS_KEY, checkpoint_wal, loop_engine
from gateway.errors import error_middleware
from gateway.hub import Hub
from gateway.rasa_client import RasaClient
from gateway.settings import GatewaySettings
from gateway.tasks import start_tasks
from gateway.typedefs import (
    CLOCK_KEY,
    ENGINE_KEY,
    HUB_KEY,
    RASA_BACKLOG_KEY,
    RASA_KEY,
    SESSION_FACTORY_KEY,
    SETTINGS_KEY,
    WATCHERS_KEY,
)
from gateway.wechat import setup_wechat
from storage.engine import make_engine, make_session_factory

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
CHAT_PAGE = STATIC_DIR / "chat" / "index.html"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


CHECKPOINT_SECONDS = 5.0


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """One engine and session factory per process; the schema is migrated by ``butler db upgrade``.

    Connections are kept (a new SQLite connection per transaction cost more than the turn's
    statements), and with SQLite at ``synchronous=NORMAL`` the chat turns get the loop's own
    connection (``gateway.db.run_turn_db``) and a task that checkpoints the log on a thread.
    """
    settings = app[SETTINGS_KEY]
    engine = make_engine(
        settings.database_url, synchronous=settings.sqlite_synchronous, keep_connections=True
    )
    app[ENGINE_KEY] = engine
    app[SESSION_FACTORY_KEY] = make_session_factory(engine)
    on_loop = loop_engine(settings.database_url, settings.sqlite_synchronous)
    checkpoints: asyncio.Task[None] | None = None
    if on_loop is not None:
        app[LOOP_SESSIONS_KEY] = make_session_factory(on_loop)
        checkpoints = asyncio.create_task(_checkpoint_loop(engine))
    yield
    if checkpoints is not None:
        checkpoints.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checkpoints
    if on_loop is not None:
        on_loop.dispose()
    engine.dispose()


async def _checkpoint_loop(engine: Engine) -> None:
    """The loop's connection never checkpoints the write-ahead log (that syncs the disk): do it here."""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        try:
            await asyncio.to_thread(checkpoint_wal, engine)
        except SQLAlchemyError as exc:  # busy or failing disk: the next round tries again
            log.warning("gateway.db.checkpoint_failed error=%s", type(exc).__name__)


async def rasa_ctx(app: web.Application) -> AsyncIterator[None]:
    """The HTTP client for Rasa, with the configured timeout."""
    settings = app[SETTINGS_KEY]
    timeout = aiohttp.ClientTimeout(total=settings.rasa_timeout, connect=min(5.0, settings.rasa_timeout))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[RASA_KEY] = RasaClient(session, settings.rasa_url, settings.rasa_token)
        yield
        await app[RASA_KEY].close()  # its own kept-alive connections; the session closes aiohttp's


async def hub_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open sockets; closed at shutdown so clients reconnect (and resume) elsewhere."""
    hub: Hub[object] = Hub()
    app[HUB_KEY] = hub
    yield
    await hub.close_all()


async def close_sockets(app: web.Application) -> None:
    """On shutdown, close the long-lived sockets so their handlers end and Ctrl-C does not hang."""
    await app[HUB_KEY].close_all()


async def tasks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background loops; cancelled first at shutdown."""
    tasks = start_tasks(app)
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def chat_page(_request: web.Request) -> web.FileResponse:
    """``GET /chat``: the enterprise's H5 chat page."""
    if not CHAT_PAGE.exists():
        raise web.HTTPNotFound(text="聊天页面尚未安装")
    return web.FileResponse(CHAT_PAGE, headers={"Cache-Control": "no-cache"})


async def home(_request: web.Request) -> web.Response:
    """``GET /``: the chat is what a visitor came for."""
    raise web.HTTPFound("/chat")


async def health(_request: web.Request) -> web.Response:
    """``GET /api/health``: the process answers (start-up scripts wait for it)."""
    return web.json_response({"ok": True})


def create_app(settings: GatewaySettings) -> web.Application:
    """The gateway: chat API and page, console (``gateway.console``), static files, background tasks."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024 * 1024)
    app[SETTINGS_KEY] = settings
    app[CLOCK_KEY] = _utcnow
    app[RASA_BACKLOG_KEY] = {}
    app[WATCHERS_KEY] = []
    app.cleanup_ctx.extend([database_ctx, rasa_ctx, hub_ctx, tasks_ctx])
    app.on_shutdown.append(close_sockets)  # type: ignore[arg-type]  # aiohttp 3.9 mistypes the signal
    app.router.add_get("/", home, name="home")
    app.router.add_get("/api/health", health, name="health")
    app.router.add_get("/chat", chat_page, name="chat_page")
    setup_chat_routes(app)
    _setup_console(app)
    setup_wechat(app)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR, name="static")
    else:
        log.error("gateway.static_missing path=%s", STATIC_DIR)
    if not settings.identity_secret:
        log.warning("gateway.identity_secret_missing: IDENTITY_SECRET 未设置，助手将无法确认任何企业身份")
    return app


def _setup_console(app: web.Application) -> None:
    # imported here: the console's modules import gateway.handoff, gateway.live and this package's keys
    from gateway.console import setup_console

    setup_console(app)
