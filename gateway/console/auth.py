"""Who is calling the console API: the session cookie, the CSRF header, the role, and log-in itself.

Every console handler is wrapped by ``console_view``: no valid ``butler_session``
cookie is a 401; a POST whose ``X-CSRF-Token`` header differs from the session's
token is a 403 (checked before the body is read, so a forged form changes
nothing); a role that may not act is a 403. Known domain errors become JSON
4xx answers (``gateway.console.errors``); anything else is left to the gateway's
error middleware, which logs it and answers a plain 500 without a traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import CookieError

from aiohttp import web
from sqlalchemy.orm import Session

from accounts import service as accounts
from accounts.settings import AccountsSettings
from accounts.views import SessionPublic, UserPublic
from gateway.console.errors import ApiError, bad_csrf, forbidden, to_response, unauthorized
from gateway.console.inputs import read_body
from gateway.console.openapi import NAME_MAX, PASSWORD_MAX
from gateway.console.serializers import user_json
from gateway.db import naive, now_utc, run_db
from gateway.typedefs import SETTINGS_KEY

log = logging.getLogger(__name__)

COOKIE_NAME = "butler_session"
CSRF_HEADER = "X-CSRF-Token"
ACCOUNTS_SETTINGS_KEY = web.AppKey("console_accounts_settings", AccountsSettings)

INVALID_LOGIN = "用户名或密码错误"


@dataclass(frozen=True)
class Caller:
    """The logged-in user behind a request, with the token of their session."""

    user: UserPublic
    csrf_token: str
    token: str


ConsoleHandler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_token(request: web.Request) -> str:
    """The ``butler_session`` cookie, also from a Cookie header the standard parser rejects.

    ``http.cookies`` refuses or stops at one odd cookie (``CookieError``, or silently);
    a browser sends whatever other sites on the host set, so ours is then read by hand.
    """
    try:
        token = request.cookies.get(COOKIE_NAME, "")
    except CookieError:
        token = ""
    if token:
        return token
    for part in request.headers.get("Cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME:
            return value.strip().strip('"')
    return ""


async def caller_for(request: web.Request) -> Caller | None:
    """The session behind the request's cookie, ``None`` without a live one (forged, expired, logged out)."""
    token = session_token(request)
    if not token or len(token) > 256:
        return None
    now = naive(now_utc(request.app))
    found: SessionPublic | None = await run_db(
        request.app, lambda s: accounts.session_for_token(s, token, now)
    )
    if found is None:
        return None
    return Caller(user=found.user, csrf_token=found.csrf_token, token=token)


def console_view(
    *, write: bool = False, roles: tuple[str, ...] | None = None
) -> Callable[[ConsoleHandler], Handler]:
    """Require a session (and the CSRF token when ``write``) and map known errors to JSON 4xx."""

    def decorate(handler: ConsoleHandler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                caller = await caller_for(request)
                if caller is None:
                    raise unauthorized()
                if write and not accounts.csrf_matches(caller.csrf_token, request.headers.get(CSRF_HEADER)):
                    raise bad_csrf()
                if roles is not None and caller.user.role not in roles:
                    raise forbidden()
                return await handler(request, caller)
            except Exception as exc:  # known refusals only; anything else propagates to the middleware
                response = to_response(exc)
                if response is None:
                    raise
                return response

        return wrapper

    return decorate


def guarded(handler: Handler) -> Handler:
    """For the one handler without a session (log-in): the same error mapping."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            response = to_response(exc)
            if response is None:
                raise
            return response

    return wrapper


def _credential(value: object, label: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(422, "invalid", f"请填写{label}")
    if len(value) > limit:
        raise ApiError(422, "invalid", f"{label}太长（最多{limit}个字符）")
    return value


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.app[SETTINGS_KEY].cookie_secure,
    )


def client_address(request: web.Request, trusted_proxies: frozenset[str]) -> str:
    """The address the log-in rate limit counts: behind a trusted reverse proxy, the user's own.

    ``X-Forwarded-For`` is read right to left, skipping the trusted proxies; a header sent by anyone
    else is ignored, since a client could otherwise pick a fresh address for every guess.
    """
    remote = request.remote or ""
    if remote not in trusted_proxies:
        return remote
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop
    return remote


@guarded
async def login(request: web.Request) -> web.StreamResponse:
    """``login``: check the password (rate-limited, audited), set the cookie, return the CSRF token."""
    body = await read_body(request)
    username = _credential(body.get("username"), "用户名", NAME_MAX).strip()
    password = _credential(body.get("password"), "密码", PASSWORD_MAX)
    settings = request.app[ACCOUNTS_SETTINGS_KEY]
    client = client_address(request, request.app[SETTINGS_KEY].trusted_proxies)[:64]
    now = naive(now_utc(request.app))
    outcome = await run_db(
        request.app, lambda s: accounts.log_in(s, username, password, client, now, settings)
    )
    if outcome.status == "rate_limited":
        minutes = max(1, (outcome.retry_after + 59) // 60)
        log.warning("console.login_rate_limited", extra={"event": "console.login_rate_limited"})
        response = web.json_response(
            {"error": "rate_limited", "message": f"登录失败次数过多，请{minutes}分钟后再试"}, status=429
        )
        response.headers["Retry-After"] = str(max(1, outcome.retry_after))
        return response
    if not outcome.ok or outcome.user is None:
        log.info("console.login_failed", extra={"event": "console.login_failed"})
        raise ApiError(401, "invalid_credentials", INVALID_LOGIN)
    log.info("console.login user_id=%s", outcome.user.id, extra={"event": "console.login"})
    response = web.json_response({"csrf_token": outcome.csrf_token, "user": user_json(outcome.user)})
    _set_cookie(request, response, outcome.token, int(settings.session_ttl.total_seconds()))
    return response


@console_view(write=True)
async def logout(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``logout``: end the session in the database and clear the cookie."""

    def work(session: Session) -> None:
        accounts.end_session(session, caller.token)
        accounts.record_audit(session, caller.user, "logout", f"user:{caller.user.username}")

    await run_db(request.app, work)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


@console_view()
async def me(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``getMe``: who is logged in, and the CSRF token a reloaded page needs again."""
    return web.json_response({"user": user_json(caller.user), "csrf_token": caller.csrf_token})
