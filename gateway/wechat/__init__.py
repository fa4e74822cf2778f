"""The WeChat channel of the gateway: customer-service pushes and the mini-program's own chat page.

``setup_wechat(app)`` registers the routes and the ``wechat_ctx`` resource: one HTTP
session for WeChat's API (only when WeChat is configured: ``WECHAT_APPID``,
``WECHAT_APPSECRET``, ``WECHAT_TOKEN``, ``WECHAT_AES_KEY``), and the set of background
tasks pushes start, which are given a moment to finish and then cancelled at shutdown.
Without the settings the endpoints answer 404 (``/wechat/push``) or 503 (the mini-program's)
with the reason, and the rest of the gateway is unaffected.

Modules: ``store`` (the WeChat tables' use cases), ``app_views`` (log-in, binding),
``push_views`` (``/wechat/push``), ``delivery`` (frames out through ``custom/send``
within the quota), ``notify`` (ticket notices as subscribe messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from connectors.wechat.api import WeChatApi
from connectors.wechat.crypto import WeChatCrypto
from gateway.db import run_db
from gateway.typedefs import SETTINGS_KEY
from gateway.wechat import delivery, store
from gateway.wechat.background import spawn, stop_tasks
from gateway.wechat.keys import WECHAT_API_KEY, WECHAT_CRYPTO_KEY, WECHAT_TASKS_KEY

log = logging.getLogger(__name__)


async def wechat_ctx(app: web.Application) -> AsyncIterator[None]:
    """WeChat's HTTP session and client when configured; the push tasks, ended at shutdown."""
    settings = app[SETTINGS_KEY].wechat
    tasks: set[asyncio.Task[None]] = set()
    app[WECHAT_TASKS_KEY] = tasks
    async with contextlib.AsyncExitStack() as stack:
        if settings.enabled:
            timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
            http = await stack.enter_async_context(aiohttp.ClientSession(timeout=timeout))
            app[WECHAT_API_KEY] = WeChatApi(http, settings)
            app[WECHAT_CRYPTO_KEY] = WeChatCrypto(settings.token, settings.aes_key, settings.appid)
            delivery.install(app)
            log.info("gateway.wechat.enabled api=%s", settings.api_base)
            await _catch_up(app)
        yield
        await stop_tasks(tasks)


async def _catch_up(app: web.Application) -> None:
    """Frames stored while the gateway was down (or whose sending failed) go out now."""
    keys = await run_db(app, store.pending_keys)
    for key in keys:
        spawn(app, delivery.deliver(app, key), f"wechat-deliver-{key[:8]}")


def setup_wechat(app: web.Application) -> None:
    """Register the WeChat routes and resources on the gateway app."""
    from gateway.wechat import app_views, push_views

    app.cleanup_ctx.append(wechat_ctx)
    app_views.setup_app_routes(app)
    push_views.setup_push_routes(app)
