"""The WeChat server API the assistant calls, on one shared ``aiohttp.ClientSession``.

Seven endpoints, no SDK (wechatpy is synchronous and lacks ``stable_token`` and typing):
``stable_token``, ``custom/send``, ``custom/typing``, ``subscribe/send``, ``jscode2session`` and
``msg_sec_check`` v2. The caller creates the HTTP session (the gateway's ``cleanup_ctx``) and
passes it in; every call has ``WECHAT_HTTP_TIMEOUT``.

Error policy (WeChat's server-API error codes; the configuration side is in docs/wechat.md):

- The access token is cached and refreshed early (``REFRESH_MARGIN`` before expiry) by one
  coroutine at a time: 100 concurrent sends share one token fetch, and while a refresh is under
  way the others keep using the still-valid token.
- 40001, 42001, 40014 (the token was rejected): refresh once and retry the call once.
- 45015, 45047 (outside the 48-hour window, quota used up): ``QuotaExceeded``, never retried.
- 43101 (the user granted no subscribe message): ``NotSubscribed``; the caller falls back quietly.
- -1 (system busy): retried with backoff, at most ``BUSY_TRIES`` tries in all.
- Anything else: ``WeChatApiError(errcode, errmsg)``; timeouts, refused connections, 5xx and
  non-JSON answers: ``WeChatUnavailable``. A send that timed out is not retried (it may have
  been delivered, and a repeat would reach the user twice).

The appsecret, access tokens and session keys are never logged; openids only as ``openid_tag``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import aiohttp

from connectors.wechat.settings import WeChatSettings

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
QUOTA_ERRORS = frozenset({45015, 45047})
NOT_SUBSCRIBED = 43101
TYPING_IGNORED = frozenset({45072, 45080, 45081})  # bad command, no recent exchange, already typing
BUSY = -1
BUSY_TRIES = 3
BUSY_BACKOFF = 0.2  # seconds, doubled per try
REFRESH_MARGIN = 300.0  # refresh the token this long before it expires
CUSTOM_TYPES = frozenset({"text", "image", "link", "miniprogrampage"})
SEC_CHECK_MAX_CHARS = 2500

__all__ = [
    "NotSubscribed",
    "QuotaExceeded",
    "SecCheck",
    "SubscribeDataError",
    "WeChatApi",
    "WeChatApiError",
    "WeChatUnavailable",
    "WxSession",
    "normalize_subscribe_data",
    "openid_tag",
]


def openid_tag(openid: str) -> str:
    """A short, stable tag for logs in place of an openid (never log the openid itself)."""
    return hashlib.sha256(openid.encode("utf-8")).hexdigest()[:10] if openid else "-"


class WeChatUnavailable(Exception):
    """WeChat did not answer usably: timeout, refused connection, 5xx or a non-JSON body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WeChatApiError(Exception):
    """WeChat answered with a non-zero ``errcode``."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class QuotaExceeded(WeChatApiError):
    """45015/45047: no customer-service message may reach this user now; final, never retried."""


class NotSubscribed(WeChatApiError):
    """43101: the user has no subscribe-message grant left for the template."""


class SubscribeDataError(ValueError):
    """A subscribe-message value that cannot be made to fit its field rule (e.g. a phrase with no Chinese)."""


@dataclass(frozen=True)
class WxSession:
    """``jscode2session``'s answer; ``session_key`` stays on the server and out of ``repr``."""

    openid: str
    session_key: str = field(repr=False)
    unionid: str | None = None


@dataclass(frozen=True)
class SecCheck:
    """``msg_sec_check`` v2's verdict: ``suggest`` is ``pass``, ``review`` or ``risky``."""

    suggest: str
    label: int
    trace_id: str = ""

    @property
    def risky(self) -> bool:
        """Whether the text must be refused."""
        return self.suggest == "risky"


class HasPayload(Protocol):
    """A rendered customer-service message (``render.OutgoingMessage``)."""

    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass
class _Token:
    value: str
    refresh_at: float
    expires_at: float


# -- subscribe-message field rules ---------------------------------------------------------------

_KEY_TYPE = re.compile(r"^([a-z_]+?)_?(\d*)$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_TIME_TEXT = re.compile(
    r"^\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?( ?~ ?\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?)?$"
)
_LIMITS = {"thing": 20, "number": 32, "letter": 32, "symbol": 5, "character_string": 32}
_LIMITS.update({"phone_number": 17, "car_number": 8, "phrase": 5})


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut ``thing`` ends with … so the reader sees it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _moment_text(value: Any, with_time: bool, key: str) -> str:
    if isinstance(value, datetime):
        moment: date = value
    elif isinstance(value, date):
        moment = value
    else:
        text = str(value).strip()
        if _TIME_TEXT.match(text):
            return text
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise SubscribeDataError(f"{key} 应为时间，例如 2026年11月30日 15:01") from exc
    if with_time and isinstance(moment, datetime):
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    return f"{moment.year}年{moment.month}月{moment.day}日"


def _field_value(key: str, value: Any) -> str:
    match = _KEY_TYPE.match(key)
    kind = match.group(1) if match else key
    if kind in ("time", "date"):
        return _moment_text(value, kind == "time", key)
    text = " ".join(str(value).split())  # no line breaks in a template field
    if kind == "thing":
        return _clip(text, 20) or "无"
    if kind == "phrase":
        phrase = "".join(_CJK.findall(text))[:5]
        if not phrase:
            raise SubscribeDataError(f"{key} 须为不超过 5 个汉字的短语")
        return phrase
    if kind == "name":
        return text[:10] if _CJK.search(text) else text[:20]
    if kind == "number":
        text = re.sub(r"[^0-9.]", "", text)
    elif kind == "letter":
        text = re.sub(r"[^A-Za-z]", "", text)
    elif kind in ("character_string", "symbol"):
        text = "".join(c for c in text if c.isascii() and c.isprintable() and c != " ")
    elif kind == "phone_number":
        text = re.sub(r"[^0-9+\-]", "", text)
    limit = _LIMITS.get(kind)
    return text[:limit] if limit else text


def normalize_subscribe_data(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{"thing1": "营业执照…", "time2": datetime}`` → WeChat's ``{"thing1": {"value": …}}`` within the rules.

    ``thing`` ≤ 20 characters (cut with …), ``phrase`` ≤ 5 Chinese characters only,
    ``character_string``/``number``/``letter`` ≤ 32 of their kind, ``symbol`` ≤ 5, ``name`` ≤ 10
    Chinese or 20 letters, ``phone_number`` ≤ 17, ``car_number`` ≤ 8, ``time`` as
    2026年11月30日 15:01 and ``date`` as 2026年11月30日 (from a datetime, a date or ISO text).
    """
    return {key: {"value": _field_value(key, value)} for key, value in data.items()}


# -- the client -----------------------------------------------------------------------------------


class WeChatApi:
    """WeChat's server API for one mini-program, sharing the caller's ``aiohttp.ClientSession``."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        settings: WeChatSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        busy_backoff: float = BUSY_BACKOFF,
    ) -> None:
        self._http = http
        self._settings = settings
        self._base = settings.api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
        self._clock = clock
        self._busy_backoff = busy_backoff
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    # -- transport --

    async def _request(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._http.request(
                method, self._base + path, params=params, data=data, headers=headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                status = response.status
        except asyncio.TimeoutError:
            log.warning("wechat.api.timeout path=%s seconds=%s", path, self._settings.http_timeout)
            raise WeChatUnavailable(f"微信接口 {path} 超时") from None  # the cause's URL carries the token
        except aiohttp.ClientError as exc:
            log.warning("wechat.api.unreachable path=%s error=%s", path, type(exc).__name__)
            raise WeChatUnavailable(f"无法连接微信接口 {path}") from None
        if status >= 500:
            log.warning("wechat.api.server_error path=%s status=%d", path, status)
            raise WeChatUnavailable(f"微信接口 {path} 返回 {status}")
        try:
            result = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            log.warning("wechat.api.bad_answer path=%s status=%d", path, status)
            raise WeChatUnavailable(f"微信接口 {path} 的应答不是 JSON") from exc
        if not isinstance(result, dict):
            raise WeChatUnavailable(f"微信接口 {path} 的应答不是对象")
        return result

    # -- the access token --

    async def _fetch_token(self, force: bool) -> str:
        body = {
            "grant_type": "client_credential",
            "appid": self._settings.appid,
            "secret": self._settings.appsecret,
            "force_refresh": force,
        }
        self.token_fetches += 1
        result = await self._request("POST", "/cgi-bin/stable_token", body=body)
        errcode = int(result.get("errcode") or 0)
        token = result.get("access_token")
        if errcode or not isinstance(token, str) or not token:
            errmsg = str(result.get("errmsg", ""))[:120]
            log.error("wechat.api.token_failed errcode=%s errmsg=%s", errcode, errmsg)
            raise WeChatApiError(errcode or -2, errmsg or "no access_token")
        expires_in = float(result.get("expires_in") or 7200)
        now = self._clock()
        margin = min(REFRESH_MARGIN, expires_in / 2)
        self._token = _Token(token, refresh_at=now + expires_in - margin, expires_at=now + expires_in)
        log.info("wechat.api.token_fetched expires_in=%d forced=%s", expires_in, force)
        return token

    async def access_token(self) -> str:
        """A valid access token: cached, refreshed early, fetched by one coroutine at a time."""
        cached = self._token
        now = self._clock()
        if cached is not None and now < cached.refresh_at:
            return cached.value
        if cached is not None and now < cached.expires_at and self._lock.locked():
            return cached.value  # another coroutine is refreshing; this one is still valid
        async with self._lock:
            cached = self._token
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.value
            return await self._fetch_token(force=False)

    async def _replace_token(self, rejected: str) -> None:
        """After WeChat rejected ``rejected``: fetch a new one once, however many calls saw the rejection."""
        async with self._lock:
            if self._token is not None and self._token.value != rejected:
                return  # another call already replaced it
            self._token = None
            if await self._fetch_token(force=False) == rejected:
                await self._fetch_token(force=True)  # normal mode still hands out the rejected one

    # -- calls --

    async def _call(
        self, path: str, body: Any = None, *, method: str = "POST", params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """One authenticated call with the token retry, the busy backoff and the errcode mapping."""
        token_retried = False
        busy_tries = 0
        while True:
            token = await self.access_token()
            result = await self._request(
                method, path, params={**(params or {}), "access_token": token}, body=body
            )
            errcode = int(result.get("errcode") or 0)
            if errcode == 0:
                return result
            errmsg = str(result.get("errmsg", ""))[:120]
            if errcode in TOKEN_ERRORS and not token_retried:
                log.info("wechat.api.token_rejected path=%s errcode=%d", path, errcode)
                token_retried = True
                await self._replace_token(token)
                continue
            if errcode == BUSY and busy_tries < BUSY_TRIES - 1:
                await asyncio.sleep(self._busy_backoff * 2**busy_tries)
                busy_tries += 1
                continue
            touser = body.get("touser", "") if isinstance(body, dict) else ""
            log.warning(
                "wechat.api.error path=%s errcode=%d errmsg=%s openid=%s",
                path,
                errcode,
                errmsg,
                openid_tag(touser),
            )
            if errcode in QUOTA_ERRORS:
                raise QuotaExceeded(errcode, errmsg)
            if errcode == NOT_SUBSCRIBED:
                raise NotSubscribed(errcode, errmsg)
            if errcode == BUSY:
                raise WeChatUnavailable(f"微信接口 {path} 繁忙")
            raise WeChatApiError(errcode, errmsg)

    async def stable_token(self, force_refresh: bool = False) -> str:
        """The access token from ``/cgi-bin/stable_token`` (``force_refresh``: WeChat allows 20 a day)."""
        if force_refresh:
            async with self._lock:
                return await self._fetch_token(force=True)
        return await self.access_token()

    async def send_custom(self, openid: str, message: HasPayload | Mapping[str, Any]) -> None:
        """Send one customer-service message: ``{"msgtype": "text", "text": {"content": …}}`` or a rendered one."""
        payload = dict(message if isinstance(message, Mapping) else message.payload)
        msgtype = payload.get("msgtype")
        if msgtype not in CUSTOM_TYPES or msgtype not in payload:
            raise ValueError(f"unsupported customer-service message: {msgtype!r}")
        await self._call("/cgi-bin/message/custom/send", {"touser": openid, **payload})
        log.info("wechat.api.sent msgtype=%s openid=%s", msgtype, openid_tag(openid))

    async def send_text(self, openid: str, content: str) -> None:
        """Send one text message (already within WeChat's size limit: see ``render``)."""
        await self.send_custom(openid, {"msgtype": "text", "text": {"content": content}})

    async def typing(self, openid: str, on: bool) -> bool:
        """Show (``on``) or hide the typing indicator; ``False`` when WeChat declined it (45072/45080/45081)."""
        body = {"touser": openid, "command": "Typing" if on else "CancelTyping"}
        try:
            await self._call("/cgi-bin/message/custom/typing", body)
        except WeChatApiError as exc:
            if exc.errcode in TYPING_IGNORED:
                return False
            raise
        return True

    async def send_subscribe(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, Any],
        page: str | None = None,
        *,
        lang: str = "zh_CN",
    ) -> None:
        """Send one subscribe message, its values made to fit their field rules; ``NotSubscribed`` on 43101."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "miniprogram_state": self._settings.miniprogram_state,
            "lang": lang,
            "data": normalize_subscribe_data(data),
        }
        if page:
            body["page"] = page
        await self._call("/cgi-bin/message/subscribe/send", body)
        log.info("wechat.api.subscribe_sent openid=%s", openid_tag(openid))

    async def code_to_session(self, js_code: str) -> WxSession:
        """The openid for a ``wx.login`` code (valid 5 minutes, single use); 40029: ``WeChatApiError``."""
        params = {
            "appid": self._settings.appid,
            "secret": self._settings.appsecret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        result = await self._request("GET", "/sns/jscode2session", params=params)
        errcode = int(result.get("errcode") or 0)
        openid, session_key = result.get("openid"), result.get("session_key")
        if errcode or not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            errmsg = str(result.get("errmsg", ""))[:120]
            log.warning("wechat.api.login_failed errcode=%s errmsg=%s", errcode, errmsg)
            if errcode == BUSY:
                raise WeChatUnavailable("微信登录接口繁忙")
            raise WeChatApiError(errcode or -2, errmsg or "no openid")
        unionid = result.get("unionid")
        log.info("wechat.api.login openid=%s", openid_tag(openid))
        return WxSession(openid, session_key, unionid if isinstance(unionid, str) and unionid else None)

    async def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> SecCheck:
        """msg_sec_check v2 on the user's text (its first 2,500 characters; the user must have visited in 2 h)."""
        body = {"content": content[:SEC_CHECK_MAX_CHARS], "version": 2, "scene": scene, "openid": openid}
        result = await self._call("/wxa/msg_sec_check", body)
        raw = result.get("result")
        verdict: dict[str, Any] = raw if isinstance(raw, dict) else {}
        suggest = str(verdict.get("suggest") or "pass")
        label = int(verdict.get("label") or 100)
        if suggest != "pass":
            log.info("wechat.api.sec_check suggest=%s label=%d openid=%s", suggest, label, openid_tag(openid))
        return SecCheck(suggest, label, str(result.get("trace_id", "")))
