"""The enterprise web channel (docs/chat-protocol.md): session, WebSocket, HTTP fallback.

A token opens exactly one conversation and grants nothing else: web visitors are not
bound to any enterprise, and nothing a client sends (metadata, a typed credit code)
changes that; only the identity the gateway signs reaches the actions.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from functools import partial
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy.orm import Session

from connectors.web import (
    HandoffFrame,
    MessageFrame,
    PingFrame,
    ResumeFrame,
    WebFrameError,
    frame_from_dict,
    parse_after_seq,
    parse_frame,
)
from conversations import service as conversations
from conversations.errors import ConversationError
from conversations.views import ConversationPublic, MessagePublic
from gateway import chat
from gateway.db import ChatSession, now_utc, open_web_session, run_db, session_for_token
from gateway.errors import INTERNAL_MESSAGE, json_error
from gateway.frames import enterprise_frames, state_frame
from gateway.handoff import HANDED_BACK_TEXT, STILL_WAITING_TEXT, TAKEN_OVER_TEXT
from gateway.hub import send_frame
from gateway.typedefs import HUB_KEY, SETTINGS_KEY
from storage.errors import StorageError

log = logging.getLogger(__name__)

UNKNOWN_TOKEN = "会话凭证无效或已过期，请刷新页面重新开始对话"
RATE_LIMITED = "发送太频繁了，请稍后再发"
RATE_WINDOW_SECONDS = 10.0
RATE_MAX_MESSAGES = 20
PAGE = 200  # frames per query when resuming
HEARTBEAT_SECONDS = 30.0


def setup_chat_routes(app: web.Application) -> None:
    """Register the chat API's named routes."""
    app.router.add_post("/api/chat/session", create_session, name="chat_session")
    app.router.add_get("/api/chat/ws", chat_socket, name="chat_ws")
    app.router.add_post("/api/chat/messages", post_message, name="chat_post_message")
    app.router.add_get("/api/chat/messages", get_messages, name="chat_get_messages")


# -- session -------------------------------------------------------------------------------------


async def create_session(request: web.Request) -> web.Response:
    """A new web visitor's conversation and its token; any request body is ignored."""
    now = now_utc(request.app)
    token, chat_session = await run_db(request.app, lambda s: open_web_session(s, now))
    log.info("gateway.chat.session_opened conversation=%s", chat_session.conversation_id)
    return web.json_response({"token": token, "sender": chat_session.sender})


async def _authenticate(request: web.Request, token: str) -> ChatSession:
    now = now_utc(request.app)
    found = await run_db(request.app, lambda s: session_for_token(s, token, now))
    if found is None:
        raise json_error(web.HTTPUnauthorized, "unauthorized", UNKNOWN_TOKEN)
    return found


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# -- WebSocket -----------------------------------------------------------------------------------


class _RateLimit:
    """At most ``RATE_MAX_MESSAGES`` messages per ``RATE_WINDOW_SECONDS`` on one connection."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self._times and now - self._times[0] > RATE_WINDOW_SECONDS:
            self._times.popleft()
        if len(self._times) >= RATE_MAX_MESSAGES:
            return False
        self._times.append(now)
        return True


def _hard_limit(max_frame_bytes: int) -> int:
    """Frames above the protocol's limit get an error frame; only absurd ones close the socket."""
    return max(64 * 1024, 8 * max_frame_bytes)


async def chat_socket(request: web.Request) -> web.WebSocketResponse:
    """``GET /api/chat/ws?token=…``: 401 before the upgrade for an unknown token."""
    app = request.app
    settings = app[SETTINGS_KEY]
    token, now = request.query.get("token", ""), now_utc(app)

    def open_chat(session: Session) -> tuple[ChatSession | None, ConversationPublic | None]:
        found = session_for_token(session, token, now)
        if found is None:
            return None, None
        return found, conversations.conversation_for_sender(session, found.sender)

    chat_session, conversation = await run_db(app, open_chat)  # one transaction for both reads
    if chat_session is None:
        raise json_error(web.HTTPUnauthorized, "unauthorized", UNKNOWN_TOKEN)
    ws = web.WebSocketResponse(
        max_msg_size=_hard_limit(settings.max_frame_bytes), heartbeat=HEARTBEAT_SECONDS
    )
    await ws.prepare(request)
    hub = app[HUB_KEY]
    sender = chat_session.sender
    hub.add_chat(sender, ws)
    log.info("gateway.chat.connected conversation=%s open=%d", chat_session.conversation_id, hub.chat_count())
    try:
        if conversation is not None and conversation.state != "bot":
            await send_frame(ws, _state_of(conversation))
        limit = _RateLimit()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await _on_text(app, ws, sender, message.data, limit)
            elif message.type == WSMsgType.BINARY:
                await send_frame(ws, WebFrameError("bad_frame", "仅支持文字（JSON）消息").to_frame())
    finally:
        hub.remove_chat(sender, ws)
        log.info("gateway.chat.disconnected conversation=%s", chat_session.conversation_id)
    return ws


async def _on_text(
    app: web.Application, ws: web.WebSocketResponse, sender: str, raw: str, limit: _RateLimit
) -> None:
    settings = app[SETTINGS_KEY]
    frame_id: str | None = None
    try:
        frame = parse_frame(raw, max_bytes=settings.max_frame_bytes, max_chars=settings.max_text_chars)
        if isinstance(frame, PingFrame):
            await send_frame(ws, {"type": "pong"})
        elif isinstance(frame, ResumeFrame):
            await _resume(app, ws, sender, frame.after_seq)
        else:
            frame_id = frame.id
            if not limit.allow():
                raise WebFrameError("rate_limited", RATE_LIMITED, frame.id)

            async def reply(out: dict[str, Any]) -> None:
                await send_frame(ws, out)

            if isinstance(frame, MessageFrame):
                await chat.handle_enterprise_message(app, sender, frame.id, frame.text, reply=reply)
            elif isinstance(frame, HandoffFrame):
                await chat.handle_handoff_button(app, sender, frame.id, reply=reply)
    except WebFrameError as exc:
        await send_frame(ws, exc.to_frame())
    except (StorageError, ConversationError) as exc:
        code = "unavailable" if isinstance(exc, StorageError) else "bad_frame"
        await send_frame(ws, WebFrameError(code, str(exc), frame_id).to_frame())
    except Exception:
        log.exception("gateway.chat.frame_failed")
        await send_frame(ws, WebFrameError("unavailable", INTERNAL_MESSAGE, frame_id).to_frame())


def _page(session: Session, *, sender: str, after_seq: int) -> list[MessagePublic]:
    return conversations.messages_after(session, sender, after_seq, PAGE)


async def _resume(app: web.Application, ws: web.WebSocketResponse, sender: str, after_seq: int) -> None:
    """Every stored frame after ``after_seq`` the socket has not had live, once, in order.

    Under the conversation's lock nothing new is published meanwhile; frames this socket
    already received live (a contiguous run from ``first_live_seq``) are not sent again.
    """
    hub = app[HUB_KEY]
    tz = app[SETTINGS_KEY].appeals_settings.tz
    async with hub.lock(sender):
        stop = hub.first_live_seq(ws)
        cursor = after_seq
        while True:
            batch = await run_db(app, partial(_page, sender=sender, after_seq=cursor))
            if not batch:
                return
            for frame in enterprise_frames(batch, tz):
                if stop is not None and frame["seq"] >= stop:
                    return
                await send_frame(ws, frame)
            cursor = batch[-1].seq
            if len(batch) < PAGE:
                return


# -- HTTP fallback -------------------------------------------------------------------------------


async def post_message(request: web.Request) -> web.Response:
    """``POST /api/chat/messages`` (Bearer token): ``{"id", "text"}`` or ``{"id", "type": "handoff"}``."""
    app = request.app
    settings = app[SETTINGS_KEY]
    chat_session = await _authenticate(request, _bearer(request))
    raw = await request.read()
    if len(raw) > settings.max_frame_bytes:
        message = f"消息太大（{len(raw)}字节），单条消息不能超过{settings.max_frame_bytes}字节"
        raise json_error(
            web.HTTPRequestEntityTooLarge,
            "too_large",
            message,
            max_size=settings.max_frame_bytes,
            actual_size=len(raw),
        )
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise json_error(web.HTTPBadRequest, "bad_frame", "请求体不是有效的 JSON") from exc
    try:
        frame = frame_from_dict(data, max_chars=settings.max_text_chars, default_type="message")
        if not isinstance(frame, MessageFrame | HandoffFrame):
            raise WebFrameError("bad_frame", "此接口只接受消息（message）或联系管家（handoff）")
    except WebFrameError as exc:
        status = web.HTTPUnprocessableEntity if exc.code == "too_long" else web.HTTPBadRequest
        raise json_error(status, exc.code, exc.text) from exc
    sender = chat_session.sender
    if isinstance(frame, HandoffFrame):
        outcome = await chat.handle_handoff_button(app, sender, frame.id)
    else:
        outcome = await chat.handle_enterprise_message(app, sender, frame.id, frame.text)
    tz = settings.appeals_settings.tz
    frames = outcome.frames
    if outcome.duplicate:  # a retry after a lost answer: what the first request produced so far
        since = outcome.first_seq - 1
        frames = enterprise_frames(
            await run_db(app, lambda s: conversations.messages_after(s, sender, since, PAGE)), tz
        )
    last_seq, state = await _where_it_stands(app, sender)
    body = {"frames": frames, "last_seq": last_seq, "ack": outcome.ack, "state": state}
    return web.json_response(body, dumps=_dumps)


async def get_messages(request: web.Request) -> web.Response:
    """``GET /api/chat/messages?after_seq=N`` (Bearer token): frames after N, oldest first."""
    app = request.app
    chat_session = await _authenticate(request, _bearer(request))
    try:
        after_seq = parse_after_seq(request.query.get("after_seq"))
    except WebFrameError as exc:
        raise json_error(web.HTTPBadRequest, exc.code, exc.text) from exc
    sender = chat_session.sender
    batch = await run_db(app, lambda s: conversations.messages_after(s, sender, after_seq, PAGE))
    frames = enterprise_frames(batch, app[SETTINGS_KEY].appeals_settings.tz)
    last_seq = batch[-1].seq if batch else max(after_seq, 0)
    _, state = await _where_it_stands(app, sender)
    return web.json_response({"frames": frames, "last_seq": last_seq, "state": state}, dumps=_dumps)


def _state_of(conversation: ConversationPublic) -> dict[str, Any]:
    """The ``state`` frame a client needs to show who is answering it now."""
    if conversation.state == "waiting":
        return state_frame("waiting", None, STILL_WAITING_TEXT)
    if conversation.state == "butler":
        name = conversation.butler_name
        return state_frame("butler", name, TAKEN_OVER_TEXT.format(name=name))
    return state_frame("bot", None, HANDED_BACK_TEXT)


async def _where_it_stands(app: web.Application, sender: str) -> tuple[int, dict[str, Any] | None]:
    """The conversation's last ``seq`` and its hand-off state: polling clients get no state frames."""
    conversation = await run_db(app, lambda s: conversations.conversation_for_sender(s, sender))
    if conversation is None:
        return 0, None
    return conversation.last_seq, _state_of(conversation)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
