"""The real gateway with WeChat switched on, in front of the fake Rasa and the fake WeChat API server.

``wx.gateway`` is the gateway of ``tests/gateway/conftest.py``; ``wx.wechat`` the scripted
fake of WeChat's server API (``tests/wechat/fake_api.py``) that ``WECHAT_API_BASE`` points
at. ``wx.push(...)`` sends a push the way WeChat does (plaintext or secure mode, XML or
JSON, correctly signed unless told otherwise), and ``wx.mini_login()`` logs a
mini-program user in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from appeals.models import Enterprise
from connectors.wechat.crypto import WeChatCrypto, msg_signature, sha1_signature
from connectors.wechat.settings import WeChatSettings
from tests.gateway.conftest import Clock, Gateway, start_gateway
from tests.gateway.fake_rasa import FakeRasa
from tests.pg_databases import PG_ENV
from tests.wechat.fake_api import FakeWeChat

APPID = "wx-fake-appid"
SECRET = "fake-secret"
TOKEN = "push-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oUser-0001-abcdefghijklmnopq"
TENGFEI = "示例市腾飞生物医药有限公司"
TENGFEI_CODE = "91990102A5NNL98XUY"


def wechat_settings(api_base: str, **overrides: Any) -> WeChatSettings:
    values: dict[str, Any] = {
        "appid": APPID,
        "appsecret": SECRET,
        "token": TOKEN,
        "aes_key": AES_KEY,
        "api_base": api_base,
        "template_routed": "tmpl-routed",
        "template_answered": "tmpl-answered",
        "template_rating": "tmpl-rating",
    }
    values.update(overrides)
    return WeChatSettings(**values)


@dataclass
class WxWorld:
    """The gateway, the fake WeChat, and how a test talks to them as WeChat and the mini-program do."""

    gateway: Gateway
    wechat: FakeWeChat
    crypto: WeChatCrypto
    nonce: int = 1000

    @property
    def fake_rasa(self) -> FakeRasa:
        return self.gateway.fake

    def now(self) -> int:
        """The gateway's clock (tests move it) as WeChat's integer seconds."""
        return int(self.gateway.clock().timestamp())

    def signed_query(self, *, timestamp: int | None = None) -> dict[str, str]:
        self.nonce += 1
        ts = str(self.now() if timestamp is None else timestamp)
        nonce = str(self.nonce)
        return {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(TOKEN, ts, nonce)}

    async def post_push(
        self, body: bytes, query: dict[str, str], headers: dict[str, str] | None = None
    ) -> ClientResponse:
        return await self.gateway.client.post("/wechat/push", params=query, data=body, headers=headers)

    async def push(
        self,
        fields: dict[str, Any],
        *,
        secure: bool = True,
        fmt: str = "json",
        timestamp: int | None = None,
    ) -> ClientResponse:
        """Send ``fields`` as WeChat would: signed, encrypted in secure mode, as JSON or XML."""
        plain = _render(fields, fmt)
        query = self.signed_query(timestamp=timestamp)
        if not secure:
            return await self.post_push(plain, query)
        encrypt = self.crypto.encrypt(plain)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = msg_signature(TOKEN, query["timestamp"], query["nonce"], encrypt)
        outer = _render({"ToUserName": "gh_test", "Encrypt": encrypt}, fmt)
        return await self.post_push(outer, query)

    async def text(self, content: str, msg_id: int, openid: str = OPENID, **kwargs: Any) -> ClientResponse:
        fields = {
            "ToUserName": "gh_test",
            "FromUserName": openid,
            "CreateTime": self.now(),
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id,
        }
        return await self.push(fields, **kwargs)

    async def mini_login(self, code: str) -> dict[str, Any]:
        response = await self.gateway.client.post("/api/miniprogram/login", json={"code": code})
        body: dict[str, Any] = await response.json()
        assert response.status == 200, body
        return body

    def enterprise_id(self, name: str = TENGFEI) -> int:
        with self.gateway.factory() as session:
            found: int = session.execute(select(Enterprise.id).where(Enterprise.name == name)).scalar_one()
            return found


def _render(fields: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(fields, ensure_ascii=False).encode()
    parts = []
    for key, value in fields.items():
        text = str(value)
        parts.append(
            f"<{key}>{text}</{key}>" if isinstance(value, int) else f"<{key}><![CDATA[{text}]]></{key}>"
        )
    return ("<xml>" + "".join(parts) + "</xml>").encode()


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait until ``check()`` is truthy (background work finishes on its own time); returns its value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


_NOTE = pytest.StashKey[str]()


def _param(item: pytest.Item, name: str) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(name) if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server, drop this package's postgresql runs visibly (or keep them to fail)."""
    if os.environ.get(PG_ENV) or os.environ.get("REQUIRE_POSTGRES") == "1":
        return
    here = str(Path(__file__).parent)
    dropped = [
        item for item in items if str(item.path).startswith(here) and _param(item, "factory") == "postgresql"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
        config.stash[_NOTE] = (
            f"gateway/wechat: {len(dropped)} PostgreSQL test runs did not run because {PG_ENV} is unset"
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    note = config.stash.get(_NOTE, None)
    if note:
        terminalreporter.write_sep("=", "PostgreSQL suite not run (gateway/wechat)", yellow=True)
        terminalreporter.write_line(note)


@pytest.fixture
async def wx(world_url: str, clock: Clock) -> AsyncIterator[WxWorld]:
    wechat = FakeWeChat(appid=APPID, secret=SECRET)
    async with contextlib.AsyncExitStack() as stack:
        base = await stack.enter_async_context(wechat.serve())
        gateway = await stack.enter_async_context(
            start_gateway(world_url, FakeRasa(), clock, wechat=wechat_settings(base))
        )
        yield WxWorld(gateway, wechat, WeChatCrypto(TOKEN, AES_KEY, APPID))
