"""Every refusal of the console API as ``{"error": code, "message": 中文}`` with the right 4xx status.

Domain packages raise their own errors with a Chinese sentence; this module is
the one place that decides which status each gets, so the views never build an
error response by hand and a stack trace never reaches the page.
"""

from __future__ import annotations

from aiohttp import web

from appeals.errors import AmbiguousEnterprise, AppealError, InvalidInput, NotFound
from appeals.states import TransitionRefused
from conversations import errors as conv
from storage.errors import ConcurrentUpdate, StorageError


class ApiError(Exception):
    """A refusal decided by the console itself (bad JSON, missing field, no session…)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> web.Response:
    """The JSON body every console error has."""
    return web.json_response({"error": code, "message": message}, status=status)


def unauthorized() -> ApiError:
    """401: no live session behind the cookie (none, forged, expired, logged out)."""
    return ApiError(401, "unauthorized", "未登录或登录已过期，请重新登录")


def forbidden(message: str = "您的角色无权执行该操作") -> ApiError:
    """403: logged in, but the role may not do this."""
    return ApiError(403, "forbidden", message)


def bad_csrf() -> ApiError:
    """403: a state-changing call without the session's CSRF token (a forged cross-site request)."""
    return ApiError(403, "csrf", "安全令牌（X-CSRF-Token）缺失或不正确，请刷新页面后重试")


def bad_json() -> ApiError:
    """400: the body is not JSON at all."""
    return ApiError(400, "bad_json", "请求体不是有效的JSON")


def invalid(message: str) -> ApiError:
    """422: valid JSON, but a field is missing or wrong; ``message`` names it."""
    return ApiError(422, "invalid", message)


def conversation_not_found() -> ApiError:
    """404 for an unknown conversation and for one outside the caller's scope alike."""
    return ApiError(404, "not_found", "会话不存在或您无权查看")


def ticket_not_found(number: str = "") -> ApiError:
    """404 for an unknown, malformed or out-of-scope ticket number alike."""
    what = f"工单 {number}" if number and len(number) <= 40 else "该工单"
    return ApiError(404, "not_found", f"没有找到{what}，或它不在您的管辖范围内")


def to_response(exc: Exception) -> web.Response | None:
    """The response for a known error, ``None`` for anything else (a bug, logged by the caller)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, ConcurrentUpdate):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, StorageError):
        return error_response(503, "unavailable", str(exc))
    if isinstance(exc, AppealError):
        return _appeal_response(exc)
    if isinstance(exc, conv.ConversationError):
        return _conversation_response(exc)
    return None


def _appeal_response(exc: AppealError) -> web.Response:
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, TransitionRefused):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, InvalidInput | AmbiguousEnterprise):
        return error_response(422, "invalid", str(exc))
    return error_response(409, "conflict", str(exc))


def _conversation_response(exc: conv.ConversationError) -> web.Response:
    if isinstance(exc, conv.ConversationNotFound):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, conv.NotHolder):
        return error_response(403, "not_holder", str(exc))
    if isinstance(exc, conv.InvalidInput):
        return error_response(422, "invalid", str(exc))
    return error_response(409, "conflict", str(exc))
