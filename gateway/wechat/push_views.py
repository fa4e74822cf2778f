"""``/wechat/push``: WeChat's customer-service pushes (消息推送), answered ``success`` at once.

GET is the URL verification (``signature`` over token, timestamp and nonce; the body
is ``echostr`` as is). POST is a message in plaintext, compatible or secure mode, XML or
JSON (``connectors.wechat.messages.read_push`` verifies, decrypts and parses it). A
push that fails any check (signature, msg_signature, ciphertext, appid, timestamp
window, size) is refused with a 4xx, logged, and never processed. An accepted push
is remembered by its dedupe key in the database (a retry, even after a restart, stops
there), acknowledged with ``success`` and processed by a background task
(``gateway.wechat.processing``): WeChat's 5-second limit never waits for the assistant.
"""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.orm import Session

from connectors.wechat.api import openid_tag
from connectors.wechat.crypto import TimestampOutOfWindow, WeChatCryptoError, check_signature, check_timestamp
from connectors.wechat.messages import MessageParseError, PushMessage, read_push
from gateway.db import naive, now_utc, run_db
from gateway.typedefs import SETTINGS_KEY
from gateway.wechat import store
from gateway.wechat.background import spawn
from gateway.wechat.bodies import read_at_most
from gateway.wechat.keys import WECHAT_CRYPTO_KEY
from gateway.wechat.processing import process_push

log = logging.getLogger(__name__)

SUCCESS = "success"
NOT_CONFIGURED = "未配置微信消息推送（WECHAT_APPID、WECHAT_TOKEN 等）"
ECHOSTR_MAX = 128


def setup_push_routes(app: web.Application) -> None:
    """Register ``/wechat/push`` (GET verification, POST messages)."""
    app.router.add_get("/wechat/push", verify_url, name="wechat_verify")
    app.router.add_post("/wechat/push", receive_push, name="wechat_push")


def _configured(request: web.Request) -> None:
    if not request.app[SETTINGS_KEY].wechat.enabled or WECHAT_CRYPTO_KEY not in request.app:
        raise web.HTTPNotFound(text=NOT_CONFIGURED)


def _refuse(status: int, reason: str, request: web.Request) -> web.HTTPException:
    log.warning("gateway.wechat.push_refused status=%d reason=%s remote=%s", status, reason, request.remote)
    return _status_error(status, reason)


def _status_error(status: int, reason: str) -> web.HTTPException:
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        403: web.HTTPForbidden,
        413: web.HTTPRequestEntityTooLarge,
    }
    cls = classes.get(status, web.HTTPBadRequest)
    if cls is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(max_size=0, actual_size=0, text=reason)
    return cls(text=reason)


async def verify_url(request: web.Request) -> web.Response:
    """``GET /wechat/push?signature&timestamp&nonce&echostr``: answer ``echostr`` when WeChat signed it."""
    _configured(request)
    settings = request.app[SETTINGS_KEY].wechat
    query = request.query
    if not check_signature(
        settings.token, query.get("signature"), query.get("timestamp"), query.get("nonce")
    ):
        raise _refuse(403, "signature 校验失败", request)
    try:
        check_timestamp(query.get("timestamp"), settings.timestamp_window, now_utc(request.app).timestamp())
    except TimestampOutOfWindow as exc:
        raise _refuse(403, exc.reason, request) from exc
    echostr = query.get("echostr", "")
    if not echostr or len(echostr) > ECHOSTR_MAX:
        raise _refuse(400, "echostr 缺失或过长", request)
    log.info("gateway.wechat.url_verified")
    return web.Response(text=echostr, content_type="text/plain")


async def receive_push(request: web.Request) -> web.Response:
    """``POST /wechat/push``: verify, remember, answer ``success``; the message is processed in the background."""
    _configured(request)
    app = request.app
    settings = app[SETTINGS_KEY].wechat
    raw = await read_at_most(request, settings.max_body_bytes)
    if raw is None:
        raise _refuse(413, f"消息体超过 {settings.max_body_bytes} 字节", request)
    now = now_utc(app)
    try:
        push = read_push(
            raw,
            request.query,
            token=settings.token,
            crypto=app[WECHAT_CRYPTO_KEY],
            window=settings.timestamp_window,
            max_bytes=settings.max_body_bytes,
            now=now.timestamp(),
        )
    except MessageParseError as exc:
        raise _refuse(exc.status, exc.reason, request) from exc
    except WeChatCryptoError as exc:
        raise _refuse(exc.status, exc.reason, request) from exc
    message = push.message
    key = store.openid_key(settings.appid, message.openid)
    moment = naive(now)

    def remember(session: Session) -> bool:
        store.ensure_user(session, message.openid, key, moment)
        return store.remember_push(session, message.dedupe_key, moment)

    if not await run_db(app, remember):
        log.info(
            "gateway.wechat.push_repeated type=%s openid=%s", message.msg_type, openid_tag(message.openid)
        )
        return web.Response(text=SUCCESS, content_type="text/plain")
    log.info(
        "gateway.wechat.push type=%s encrypted=%s format=%s openid=%s",
        message.msg_type,
        push.encrypted,
        push.format,
        openid_tag(message.openid),
    )
    _start(app, message, key)
    return web.Response(text=SUCCESS, content_type="text/plain")


def _start(app: web.Application, message: PushMessage, key: str) -> None:
    spawn(app, process_push(app, message, key), f"wechat-push-{key[:8]}")
