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
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp
from aiohttp import web

from connectors.wechat.api import WeChatApi
from gateway.typedefs import SETTINGS_KEY
from gateway.wechat.keys import WECHAT_API_KEY, WECHAT_TASKS_KEY

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 2.0


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
            log.info("gateway.wechat.enabled api=%s", settings.api_base)
        yield
        await stop_tasks(tasks)


async def stop_tasks(tasks: set[asyncio.Task[None]]) -> None:
    """Let running pushes finish for a moment, then cancel what is left and wait for it."""
    if not tasks:
        return
    _, pending = await asyncio.wait(set(tasks), timeout=SHUTDOWN_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def spawn(app: web.Application, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Run ``work`` in the background, tracked by the app; a failure is logged, never lost silently."""
    tasks = app[WECHAT_TASKS_KEY]
    task = asyncio.create_task(_logged(work, name), name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("gateway.wechat.task_failed task=%s", name)


def setup_wechat(app: web.Application) -> None:
    """Register the WeChat routes and resources on the gateway app."""
    from gateway.wechat import app_views

    app.cleanup_ctx.append(wechat_ctx)
    app_views.setup_app_routes(app)
