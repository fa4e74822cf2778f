"""JSON errors for the API: every refusal is ``{"error": code, "message": 中文}`` with a 4xx status.

The middleware also turns anything unexpected into a JSON 500 without a stack trace,
and a database failure (``storage.errors.StorageError``) into a 503 that says nothing
was saved.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from storage.errors import StorageError

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "系统繁忙，请稍后重试"

# the code and the Chinese sentence for aiohttp's own HTTP errors under /api/
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "未登录或会话已失效，请重新进入"),
    403: ("forbidden", "您无权执行此操作"),
    404: ("not_found", "请求的内容不存在"),
    405: ("method_not_allowed", "不支持该请求方式"),
    409: ("conflict", "操作与当前状态冲突，请刷新后重试"),
    413: ("too_large", "请求内容太大"),
    415: ("unsupported_media_type", "请求内容应为 JSON"),
    422: ("invalid", "提交的内容不正确"),
    429: ("rate_limited", "操作太频繁，请稍后再试"),
}


def error_body(code: str, message: str) -> str:
    """The JSON text of an API error."""
    return json.dumps({"error": code, "message": message}, ensure_ascii=False)


def json_error(
    exc_class: type[web.HTTPException], code: str, message: str, **kwargs: object
) -> web.HTTPException:
    """An aiohttp HTTP error whose body is the API's JSON error (raise it from a handler)."""
    return exc_class(
        text=error_body(code, message),
        content_type="application/json",
        **kwargs,  # type: ignore[arg-type]
    )


def _is_json(exc: web.HTTPException) -> bool:
    return (exc.content_type or "").startswith("application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors under /api/, and never a traceback for anyone."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or _is_json(exc) or not request.path.startswith("/api/"):
            raise
        code, message = _DEFAULTS.get(exc.status, ("error", exc.reason))
        return web.Response(
            status=exc.status,
            text=error_body(code, message),
            content_type="application/json",
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")},
        )
    except asyncio.CancelledError:
        raise
    except StorageError as exc:
        log.warning("gateway.storage_error path=%s error=%s", request.path, type(exc).__name__)
        return web.Response(
            status=503, text=error_body("unavailable", str(exc)), content_type="application/json"
        )
    except Exception:
        log.exception("gateway.unhandled path=%s method=%s", request.path, request.method)
        return web.Response(
            status=500, text=error_body("internal", INTERNAL_MESSAGE), content_type="application/json"
        )
