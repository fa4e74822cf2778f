"""A scripted fake of WeChat's server API, for the connector's tests and the gateway's end-to-end tests.

It serves the endpoints ``connectors.wechat.api.WeChatApi`` calls, checks what real WeChat
checks (the access token, lowercase ``msgtype``, typing commands, the subscribe field rules,
single-use login codes, ``msg_sec_check`` version 2), records every request, and answers
success unless a test scripted something else for an endpoint.

Example::

    fake = FakeWeChat(appid="wx-test", secret="s3cret")
    async with fake.serve() as base_url:          # point WECHAT_API_BASE here
        fake.script(CUSTOM_SEND, {"errcode": 45047, "errmsg": "out of response count limit"})
        fake.script(SUBSCRIBE_SEND, Reply(delay=10))  # longer than the client's timeout
        fake.expire_token()                        # the next call gets 42001, then a new token
        ...                                        # run the code under test
        assert [b["text"]["content"] for b in fake.bodies(CUSTOM_SEND)] == ["您好"]
        assert fake.token_fetches == 1

Scripted replies are consumed in order, one per request to that path; once a path's script is
used up, it answers with its default (success). ``fake.requests`` keeps every request, including
the refused ones, with its query (``access_token`` among it) and JSON body.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

STABLE_TOKEN = "/cgi-bin/stable_token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TYPING = "/cgi-bin/message/custom/typing"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
JSCODE2SESSION = "/sns/jscode2session"
MSG_SEC_CHECK = "/wxa/msg_sec_check"
TOKEN_PATHS = (CUSTOM_SEND, TYPING, SUBSCRIBE_SEND, MSG_SEC_CHECK)

TEXT_LIMIT_BYTES = 2048  # measured for Official Accounts; the connector stays below it
_PHRASE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]{1,5}$")
_TIME = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?")
_CUSTOM_KEYS = {
    "text": ("content",),
    "image": ("media_id",),
    "link": ("title", "description", "url", "thumb_url"),
    "miniprogrampage": ("title", "pagepath", "thumb_media_id"),
}


@dataclass(frozen=True)
class Reply:
    """A scripted answer: ``body`` (None: the endpoint's default), after ``delay`` seconds, with ``status``."""

    body: dict[str, Any] | None = None
    delay: float = 0.0
    status: int = 200


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def access_token(self) -> str | None:
        """The token the request carried, if any."""
        return self.query.get("access_token")


@dataclass
class FakeWeChat:
    """The fake server's state; ``app()`` is its aiohttp application, ``serve()`` runs it on a free port."""

    appid: str = "wx-fake-appid"
    secret: str = "fake-secret"
    expires_in: int = 7200
    requests: list[Recorded] = field(default_factory=list)
    token_fetches: int = 0
    risky_words: tuple[str, ...] = ()
    _scripts: dict[str, deque[Reply]] = field(default_factory=dict)
    _serial: Callable[[], int] = field(default_factory=lambda: itertools.count(1).__next__)
    _token: str = ""
    _expired: set[str] = field(default_factory=set)
    _used_codes: set[str] = field(default_factory=set)
    _answers: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    # -- scripting --

    def script(self, path: str, *replies: Reply | dict[str, Any]) -> None:
        """Queue answers for ``path``: each a JSON body or a ``Reply`` (delay, status)."""
        queue = self._scripts.setdefault(path, deque())
        queue.extend(r if isinstance(r, Reply) else Reply(body=r) for r in replies)

    def expire_token(self) -> None:
        """The current token expires: calls with it get 42001 and ``stable_token`` hands out a new one."""
        if self._token:
            self._expired.add(self._token)
            self._token = ""

    @property
    def current_token(self) -> str:
        """The token ``stable_token`` hands out now ("" before the first fetch)."""
        return self._token

    def requests_to(self, path: str) -> list[Recorded]:
        """The requests to ``path``, in order."""
        return [r for r in self.requests if r.path == path]

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies sent to ``path``, in order."""
        return [r.body for r in self.requests_to(path)]

    def sent_texts(self, openid: str | None = None) -> list[str]:
        """The text messages sent through ``custom/send`` (to ``openid`` if given) and accepted."""
        return [
            body["text"]["content"]
            for body, answer in self._answers
            if body.get("msgtype") == "text"
            and answer == 0
            and (openid is None or body.get("touser") == openid)
        ]

    # -- the server --

    def app(self) -> web.Application:
        """The aiohttp application: every path goes through one recording handler."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Run on a free local port; yields the base URL for ``WECHAT_API_BASE``."""
        server = TestServer(self.app())
        await server.start_server(access_log=None)  # its URLs carry the fake token and secret
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = raw.decode("utf-8", "replace")
        path = request.path
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        if path in TOKEN_PATHS:
            refused = self._check_token(request.query.get("access_token", ""))
            if refused is not None:
                return web.json_response(refused)  # a refused token consumes no scripted reply
        queue = self._scripts.get(path)
        scripted = queue.popleft() if queue else None
        if scripted is not None and scripted.delay:
            await asyncio.sleep(scripted.delay)
        if scripted is not None and scripted.status != 200:
            return web.Response(status=scripted.status, text="fake failure")
        answer = (
            scripted.body
            if scripted is not None and scripted.body is not None
            else self._default(path, request, body)
        )
        if path == CUSTOM_SEND and isinstance(body, dict):
            self._answers.append((body, int(answer.get("errcode", 0))))
        return web.json_response(answer)

    def _check_token(self, token: str) -> dict[str, Any] | None:
        if token and token in self._expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if not token or token != self._token:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None

    def _default(self, path: str, request: web.Request, body: Any) -> dict[str, Any]:
        handlers: dict[str, Callable[[web.Request, Any], dict[str, Any]]] = {
            STABLE_TOKEN: self._stable_token,
            CUSTOM_SEND: _custom_send,
            TYPING: _typing,
            SUBSCRIBE_SEND: _subscribe_send,
            JSCODE2SESSION: self._jscode2session,
            MSG_SEC_CHECK: self._msg_sec_check,
        }
        handler = handlers.get(path)
        if handler is None:
            return {"errcode": 40066, "errmsg": "invalid url"}
        return handler(request, body)

    def _stable_token(self, request: web.Request, body: Any) -> dict[str, Any]:
        if request.method != "POST" or not isinstance(body, dict):
            return {"errcode": 47001, "errmsg": "data format error"}
        if body.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if body.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if body.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        self.token_fetches += 1
        if not self._token or body.get("force_refresh") is True:
            if self._token:
                self._expired.add(self._token)
            self._token = f"fake-token-{self._serial()}"
        return {"access_token": self._token, "expires_in": self.expires_in}

    def _jscode2session(self, request: web.Request, _body: Any) -> dict[str, Any]:
        query = request.query
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        code = query.get("js_code", "")
        if query.get("grant_type") != "authorization_code" or not code or code in self._used_codes:
            return {"errcode": 40029, "errmsg": "invalid code"}
        self._used_codes.add(code)
        return {"openid": fake_openid(code), "session_key": hashlib.sha256(code.encode()).hexdigest()[:24]}

    def _msg_sec_check(self, _request: web.Request, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("version") != 2 or not body.get("openid"):
            return {"errcode": 47001, "errmsg": "data format error"}
        content = str(body.get("content", ""))
        risky = any(word in content for word in self.risky_words)
        suggest, label = ("risky", 20001) if risky else ("pass", 100)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
            "trace_id": "fake-trace",
        }


def fake_openid(code: str) -> str:
    """The openid the fake's ``jscode2session`` returns for a ``wx.login`` code (stable per code)."""
    return "o" + hashlib.sha1(code.encode()).hexdigest()[:27]


def _custom_send(_request: web.Request, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("touser"):
        return {"errcode": 40003, "errmsg": "invalid openid"}
    msgtype = body.get("msgtype")
    part = body.get(msgtype) if isinstance(msgtype, str) else None
    if msgtype not in _CUSTOM_KEYS or not isinstance(part, dict):
        return {"errcode": 40008, "errmsg": "invalid message type"}
    if any(
        not part.get(key) for key in _CUSTOM_KEYS[msgtype] if key in ("content", "media_id", "url", "title")
    ):
        return {"errcode": 44003, "errmsg": "empty news data"}
    if msgtype == "text" and len(str(part["content"]).encode("utf-8")) > TEXT_LIMIT_BYTES:
        return {"errcode": 45002, "errmsg": "content size out of limit"}
    return {"errcode": 0, "errmsg": "ok"}


def _typing(_request: web.Request, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("command") not in ("Typing", "CancelTyping"):
        return {"errcode": 45072, "errmsg": "command invalid"}
    return {"errcode": 0, "errmsg": "ok"}


def _subscribe_send(_request: web.Request, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("touser") or not body.get("template_id"):
        return {"errcode": 40003, "errmsg": "invalid openid"}
    if body.get("miniprogram_state", "formal") not in ("developer", "trial", "formal"):
        return {"errcode": 47003, "errmsg": "argument invalid! miniprogram_state"}
    data = body.get("data")
    if not isinstance(data, dict):
        return {"errcode": 47003, "errmsg": "argument invalid! data"}
    for key, entry in data.items():
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not _valid_field(key, value):
            return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value invalid"}
    return {"errcode": 0, "errmsg": "ok", "msgid": 1}


def _valid_field(key: str, value: str) -> bool:
    """WeChat's subscribe-message value rules (the common causes of 47003)."""
    kind = re.sub(r"\d+$", "", key)
    rules: dict[str, Callable[[str], bool]] = {
        "thing": lambda v: 0 < len(v) <= 20,
        "phrase": lambda v: bool(_PHRASE.match(v)),
        "character_string": lambda v: 0 < len(v) <= 32 and v.isascii(),
        "number": lambda v: 0 < len(v) <= 32 and bool(re.fullmatch(r"[0-9.]+", v)),
        "letter": lambda v: 0 < len(v) <= 32 and v.isascii() and v.isalpha(),
        "symbol": lambda v: 0 < len(v) <= 5,
        "time": lambda v: bool(_TIME.match(v)),
        "date": lambda v: bool(_TIME.match(v)),
        "phone_number": lambda v: 0 < len(v) <= 17,
        "car_number": lambda v: 0 < len(v) <= 8,
        "name": lambda v: 0 < len(v) <= 20,
    }
    rule = rules.get(kind)
    return rule(value) if rule else bool(value)
