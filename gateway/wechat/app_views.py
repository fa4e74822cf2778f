"""The mini-program's own chat page: log-in with ``wx.login``, and binding to an enterprise.

``POST /api/miniprogram/login {"code"}`` exchanges the ``wx.login`` code for the openid
(``jscode2session``) and answers exactly like ``POST /api/chat/session``: a token and
the sender of the openid's conversation, the same one on every log-in. The session_key
is dropped at once (nothing here needs it). The page then chats over
``/api/chat/ws?token=`` like the web chat.

``POST /api/miniprogram/bind {"credit_code", "code"}`` (Bearer token) binds the openid
to an enterprise with the one-time code its butler issued (``appeals.bindings``); from
then on the gateway signs that enterprise into every message of the openid's
conversations, so appeals and ticket queries need no further questions.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session

from accounts.service import record_audit
from appeals.bindings import BindingPublic, BindOutcome, bind_with_code, binding_for
from appeals.errors import InvalidInput
from connectors.wechat.api import WeChatApi, WeChatApiError, WeChatUnavailable, openid_tag
from conversations import service as conversations
from gateway.db import ChatSession, hash_token, naive, now_utc, run_db, session_for_token
from gateway.errors import json_error
from gateway.models import ChatToken
from gateway.typedefs import SETTINGS_KEY
from gateway.wechat import store
from gateway.wechat.bodies import read_at_most
from gateway.wechat.keys import WECHAT_API_KEY

log = logging.getLogger(__name__)

TOKEN_TTL = timedelta(days=30)
MAX_BODY_BYTES = 4096
CODE_MAX_CHARS = 128

NOT_CONFIGURED = "本服务尚未配置微信小程序（WECHAT_APPID 等），暂时无法使用微信登录"
BAD_LOGIN_CODE = "微信登录凭证无效或已过期，请重新打开小程序再试"
LOGIN_TOO_OFTEN = "登录太频繁，请稍后再试"
RISKY_USER = "微信提示该账号存在风险，暂时无法登录"
WECHAT_DOWN = "暂时无法连接微信，请稍后再试"
UNKNOWN_TOKEN = "登录已失效，请重新打开小程序"
NOT_MINIPROGRAM = "只有通过微信小程序登录的用户才能绑定企业"

# jscode2session errcodes → (status, error code, message)
_LOGIN_ERRORS: dict[int, tuple[type[web.HTTPException], str, str]] = {
    40029: (web.HTTPBadRequest, "bad_code", BAD_LOGIN_CODE),
    40163: (web.HTTPBadRequest, "bad_code", BAD_LOGIN_CODE),  # code already used
    45011: (web.HTTPTooManyRequests, "rate_limited", LOGIN_TOO_OFTEN),
    40226: (web.HTTPForbidden, "risky_user", RISKY_USER),
}


def setup_app_routes(app: web.Application) -> None:
    """Register the mini-program's log-in and binding routes."""
    app.router.add_post("/api/miniprogram/login", login, name="miniprogram_login")
    app.router.add_post("/api/miniprogram/bind", bind, name="miniprogram_bind")
    app.router.add_get("/api/miniprogram/binding", get_binding, name="miniprogram_binding")


def wechat_api(app: web.Application) -> WeChatApi:
    """The WeChat client, or a 503 saying WeChat is not configured."""
    api = app.get(WECHAT_API_KEY)
    if api is None:
        raise json_error(web.HTTPServiceUnavailable, "wechat_not_configured", NOT_CONFIGURED)
    return api


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await read_at_most(request, MAX_BODY_BYTES)
    if raw is None:
        raise json_error(
            web.HTTPRequestEntityTooLarge,
            "too_large",
            f"请求内容太大（不能超过{MAX_BODY_BYTES}字节）",
            max_size=MAX_BODY_BYTES,
            actual_size=request.content_length or MAX_BODY_BYTES + 1,
        )
    try:
        data = json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise json_error(web.HTTPBadRequest, "bad_json", "请求体不是有效的 JSON") from exc
    if not isinstance(data, dict):
        raise json_error(web.HTTPBadRequest, "bad_json", '请求体应为 JSON 对象，例如 {"code": "…"}')
    return data


# -- log-in ----------------------------------------------------------------------------------------


def open_app_session(session: Session, appid: str, openid: str, now: datetime) -> tuple[str, ChatSession]:
    """The openid's conversation (bound to its enterprise, if any) and a new token for it."""
    key = store.openid_key(appid, openid)
    store.ensure_user(session, openid, key, now)
    binding = binding_for(session, store.binding_subject(key))
    sender = store.app_sender(key)
    conversation = conversations.get_or_open(
        session, sender, store.APP_CHANNEL, binding.enterprise_id if binding else None, now=now
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ChatToken(
            token_hash=hash_token(token),
            conversation_id=conversation.id,
            sender=sender,
            created_at=now,
            expires_at=now + TOKEN_TTL,
        )
    )
    session.flush()
    return token, ChatSession(sender=sender, conversation_id=conversation.id)


async def login(request: web.Request) -> web.Response:
    """``POST /api/miniprogram/login {"code"}`` → ``{"token", "sender"}``, as ``POST /api/chat/session``."""
    app = request.app
    api = wechat_api(app)
    body = await _json_object(request)
    code = body.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > CODE_MAX_CHARS:
        raise json_error(web.HTTPUnprocessableEntity, "invalid", "缺少 wx.login 返回的登录凭证 code")
    try:
        wx = await api.code_to_session(code.strip())
    except WeChatApiError as exc:
        status, error, message = _LOGIN_ERRORS.get(
            exc.errcode, (web.HTTPServiceUnavailable, "wechat_error", WECHAT_DOWN)
        )
        raise json_error(status, error, message) from exc
    except WeChatUnavailable as exc:
        raise json_error(web.HTTPServiceUnavailable, "wechat_unavailable", WECHAT_DOWN) from exc
    appid = app[SETTINGS_KEY].wechat.appid
    now = naive(now_utc(app))
    openid = wx.openid  # the session_key goes no further than this function
    token, chat_session = await run_db(app, lambda s: open_app_session(s, appid, openid, now))
    log.info(
        "gateway.wechat.login conversation=%s openid=%s", chat_session.conversation_id, openid_tag(openid)
    )
    return web.json_response({"token": token, "sender": chat_session.sender})


# -- binding ---------------------------------------------------------------------------------------


async def _app_user(request: web.Request) -> tuple[ChatSession, str]:
    """The mini-program user behind the Bearer token, and their openid key."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    now = now_utc(request.app)
    found = await run_db(request.app, lambda s: session_for_token(s, token, now))
    if found is None:
        raise json_error(web.HTTPUnauthorized, "unauthorized", UNKNOWN_TOKEN)
    key = store.key_of_sender(found.sender)
    if key is None or not found.sender.startswith(store.APP_PREFIX):
        raise json_error(web.HTTPForbidden, "forbidden", NOT_MINIPROGRAM)
    return found, key


def bind_openid(session: Session, key: str, credit_code: str, code: str, now: datetime) -> BindOutcome:
    """Try the code; when it binds, the openid's conversations speak for that enterprise from now on."""
    outcome = bind_with_code(session, store.binding_subject(key), credit_code, code, now)
    if outcome.binding is None:
        return outcome
    enterprise_id = outcome.binding.enterprise_id
    conversations.get_or_open(session, store.app_sender(key), store.APP_CHANNEL, enterprise_id, now=now)
    if conversations.conversation_for_sender(session, store.push_sender(key)) is not None:
        conversations.get_or_open(session, store.push_sender(key), store.PUSH_CHANNEL, enterprise_id, now=now)
    record_audit(
        session, "小程序用户", "enterprise_bound", f"enterprise:{enterprise_id}", f"wechat:{key[:8]}…"
    )
    return outcome


def _binding_json(binding: BindingPublic | None) -> dict[str, Any]:
    if binding is None:
        return {"bound": False, "enterprise_name": None}
    return {"bound": True, "enterprise_name": binding.enterprise_name}


async def bind(request: web.Request) -> web.Response:
    """``POST /api/miniprogram/bind {"credit_code", "code"}`` (Bearer): bind the openid to its enterprise."""
    app = request.app
    wechat_api(app)
    _, key = await _app_user(request)
    body = await _json_object(request)
    credit_code, code = body.get("credit_code"), body.get("code")
    if not isinstance(credit_code, str) or not isinstance(code, str):
        raise json_error(
            web.HTTPUnprocessableEntity, "invalid", "请填写统一社会信用代码和企业管家提供的6位绑定码"
        )
    now = naive(now_utc(app))
    try:
        outcome = await run_db(app, lambda s: bind_openid(s, key, credit_code, code, now))
    except InvalidInput as exc:
        raise json_error(web.HTTPUnprocessableEntity, "invalid", str(exc)) from exc
    if outcome.status == "rate_limited":
        log.warning("gateway.wechat.bind_rate_limited key=%s", key[:8])
        raise json_error(
            web.HTTPTooManyRequests,
            "rate_limited",
            outcome.message,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if not outcome.ok:
        log.info("gateway.wechat.bind_refused key=%s", key[:8])
        raise json_error(web.HTTPBadRequest, "bind_refused", outcome.message)
    log.info("gateway.wechat.bound key=%s", key[:8])
    return web.json_response({**_binding_json(outcome.binding), "message": outcome.message})


async def get_binding(request: web.Request) -> web.Response:
    """``GET /api/miniprogram/binding`` (Bearer): the enterprise this mini-program user speaks for, if any."""
    wechat_api(request.app)
    _, key = await _app_user(request)
    binding = await run_db(request.app, lambda s: binding_for(s, store.binding_subject(key)))
    return web.json_response(_binding_json(binding))
