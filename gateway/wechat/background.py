"""Background work a push starts (processing, delivery, notices), tracked so shutdown ends it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from gateway.wechat.keys import WECHAT_TASKS_KEY

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 2.0


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
