"""Typed application keys (aiohttp 3.9 warns on string keys), shared by the gateway and the console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from gateway.hub import Hub
from gateway.rasa_client import RasaClient
from gateway.settings import GatewaySettings

# now as an aware UTC datetime; tests replace it to stand outside office hours or let time pass
Clock = Callable[[], datetime]

SETTINGS_KEY = web.AppKey("settings", GatewaySettings)
ENGINE_KEY = web.AppKey("engine", Engine)
SESSION_FACTORY_KEY = web.AppKey("session_factory", sessionmaker)
RASA_KEY = web.AppKey("rasa", RasaClient)
HUB_KEY: web.AppKey[Hub[Any]] = web.AppKey("hub")
CLOCK_KEY: web.AppKey[Clock] = web.AppKey("clock")
# events Rasa refused (pause, resume, butler turns) per sender, sent before that sender's next call
RASA_BACKLOG_KEY: web.AppKey[dict[str, list[dict[str, Any]]]] = web.AppKey("rasa_backlog")
# periodic jobs other packages hook in (the console's ticket light watcher); each runs every
# gateway.tasks.WATCH_SECONDS with the app and must not raise (failures are logged and retried next time)
Watcher = Callable[[web.Application], Awaitable[None]]
WATCHERS_KEY: web.AppKey[list[Watcher]] = web.AppKey("watchers")
