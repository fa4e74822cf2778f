"""End to end over the real assistant: a WeChat user on the customer-service chat, their butler, the rating.

Rasa with the trained model and ``python -m gateway`` run as ``make run`` starts them
(``tests/servers.py``); WeChat's server API is the scripted fake (``tests/wechat/fake_api.py``)
on its own thread, behind ``WECHAT_API_BASE``. The user logs in to the mini-program once to
bind their enterprise with the code their butler issued, then chats in WeChat's native
customer-service window: every message is pushed encrypted (secure mode, JSON) to
``/wechat/push``, and every answer is read from what the gateway sent to ``custom/send``.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from accounts.service import create_user
from bot.processes import free_port
from connectors.wechat.crypto import WeChatCrypto, msg_signature, sha1_signature
from storage.transaction import transaction
from tests.conftest import MODEL, build_demo_world
from tests.gateway.wechat.conftest import AES_KEY, APPID, SECRET, TENGFEI_CODE, TOKEN
from tests.servers import RunningStack, running_stack
from tests.wechat.fake_api import CUSTOM_SEND, JSCODE2SESSION, SUBSCRIBE_SEND, FakeWeChat

pytestmark = pytest.mark.e2e

OPENID = "oE2E-user-0000000000000000001"
PASSWORD = secrets.token_urlsafe(12)
REPLY_TIMEOUT = 200.0


class ThreadedFake:
    """The fake WeChat API served from its own event loop on a thread, so a subprocess can call it."""

    def __init__(self) -> None:
        self.fake = FakeWeChat(appid=APPID, secret=SECRET)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.fake.app())
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def wechat() -> Iterator[ThreadedFake]:
    fake = ThreadedFake()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(wechat: ThreadedFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    assert MODEL.exists(), "train the model first (make train)"
    work: Path = tmp_path_factory.mktemp("wechat-journey")
    database_url = f"sqlite:///{work / 'butler.db'}"
    factory = build_demo_world(database_url)
    with transaction(factory) as session:
        create_user(session, "hejie", PASSWORD, "butler", butler_phone="13800000016")
    env = {
        "WECHAT_APPID": APPID,
        "WECHAT_APPSECRET": SECRET,
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": wechat.url,
        "WECHAT_SUBSCRIBE_TEMPLATE_ROUTED": "tmpl-routed",
        "WECHAT_SUBSCRIBE_TEMPLATE_ANSWERED": "tmpl-answered",
        "WECHAT_SUBSCRIBE_TEMPLATE_RATING": "tmpl-rating",
        "GATEWAY_RASA_TIMEOUT": "180",  # the first question may wait for the knowledge index to load
    }
    with running_stack(MODEL, work, database_url, gateway_env=env) as running:
        yield running


class Http:
    """JSON over HTTP to the gateway, with the console's cookie and CSRF token once logged in."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookie = ""
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.cookie:
            request.add_header("Cookie", self.cookie)
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        with urllib.request.urlopen(request, timeout=30) as response:
            cookie = response.headers.get("Set-Cookie", "")
            if cookie.startswith("butler_session="):
                self.cookie = cookie.split(";", 1)[0]
            return json.loads(response.read().decode())


class WeChatUser:
    """One openid pushing messages as WeChat does (secure mode, JSON) and reading what reached it."""

    def __init__(self, base: str, fake: FakeWeChat) -> None:
        self.base = base
        self.fake = fake
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
        self.msg_id = 880000

    def push(self, text: str) -> None:
        self.msg_id += 1
        now = int(time.time())
        fields = {
            "ToUserName": "gh_e2e",
            "FromUserName": OPENID,
            "CreateTime": now,
            "MsgType": "text",
            "Content": text,
            "MsgId": self.msg_id,
        }
        encrypt = self.crypto.encrypt(json.dumps(fields, ensure_ascii=False).encode())
        ts, nonce = str(now), str(self.msg_id)
        query = (
            f"timestamp={ts}&nonce={nonce}&signature={sha1_signature(TOKEN, ts, nonce)}"
            f"&encrypt_type=aes&msg_signature={msg_signature(TOKEN, ts, nonce, encrypt)}"
        )
        body = json.dumps({"ToUserName": "gh_e2e", "Encrypt": encrypt}).encode()
        request = urllib.request.Request(f"{self.base}/wechat/push?{query}", data=body, method="POST")
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read() == b"success"
        assert time.monotonic() - started < 1.0

    def texts(self) -> list[str]:
        return self.fake.sent_texts(OPENID)

    def say(self, text: str, expect: Callable[[str], bool] = bool) -> str:
        """Push ``text`` and return what came back through custom/send once ``expect`` holds for it."""
        before = len(self.texts())
        self.push(text)
        return wait_for(lambda: _joined(self.texts()[before:], expect), f"an answer to {text!r}")


def _joined(texts: list[str], expect: Callable[[str], bool]) -> str:
    joined = "\n".join(texts)
    return joined if texts and expect(joined) else ""


def wait_for(check: Callable[[], Any], what: str, timeout: float = REPLY_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            time.sleep(0.3)  # the rest of a merged answer
            return check() or value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_wechat_user_asks_files_an_appeal_hears_the_butler_and_is_asked_to_rate(
    stack: RunningStack, wechat: ThreadedFake
) -> None:
    base = stack.gateway.url
    butler = Http(base)
    butler.csrf = butler.call("POST", "/api/console/login", {"username": "hejie", "password": PASSWORD})[
        "csrf_token"
    ]
    enterprises = butler.call("GET", "/api/console/enterprises?q=" + TENGFEI_CODE)["enterprises"]
    issued = butler.call("POST", f"/api/console/enterprises/{enterprises[0]['id']}/binding-code", {})

    # the enterprise's user opens the mini-program once and binds with the code the butler gave them
    wechat.fake.script(JSCODE2SESSION, {"openid": OPENID, "session_key": "never-leaves-the-server"})
    app = Http(base)
    login = app.call("POST", "/api/miniprogram/login", {"code": "wx-login-code"})
    bound = app.call(
        "POST",
        "/api/miniprogram/bind",
        {"credit_code": TENGFEI_CODE, "code": issued["code"]},
        {"Authorization": f"Bearer {login['token']}"},
    )
    assert bound["enterprise_name"] == "示例市腾飞生物医药有限公司"

    user = WeChatUser(base, wechat.fake)
    guide = user.say("开个小饭馆要准备哪些材料？", lambda t: "申请材料" in t)
    assert "【食品经营许可证核发】申请材料" in guide

    # an appeal, filed without being asked who the enterprise is (the binding signs it)
    assert "用电用水用气" in user.say("我们厂停电三天了，生产线全停了", lambda t: "对吗" in t)
    assert "联系人" in user.say("对", lambda t: "联系人" in t)
    assert "手机" in user.say("王经理", lambda t: "手机" in t)
    urgency = user.say("13900000001", lambda t: "紧急" in t)
    normal = re.search(r"(\d+)\. 普通", urgency)
    assert normal is not None, urgency  # the buttons came as numbered options
    summary = user.say(normal.group(1), lambda t: "请核对" in t)
    assert "示例市腾飞生物医药有限公司" in summary
    confirm = re.search(r"(\d+)\. 确认", summary)
    receipt = user.say(confirm.group(1) if confirm else "确认", lambda t: "已受理" in t)
    found = re.search(r"GD\d{12}", receipt)
    assert found is not None, receipt
    number = found.group(0)

    # the butler takes the conversation over from the console and replies: it arrives by custom/send
    listed = butler.call("GET", "/api/console/conversations?state=bot")["conversations"]
    conversation = next(c for c in listed if c["channel"] == "wechat")
    path = f"/api/console/conversations/{conversation['id']}"
    butler.call("POST", f"{path}/take-over", {})
    butler.call("POST", f"{path}/messages", {"text": "您好，我是何杰，已收到您的停电诉求，马上协调供电公司"})
    wait_for(lambda: any("马上协调供电公司" in t for t in user.texts()), "the butler's reply")
    butler.call("POST", f"{path}/hand-back", {})
    user.say("好的，谢谢何经理")  # a new message: a new allowance of customer-service messages

    # the butler works the ticket to answered: the rating request comes by subscribe message
    ticket = f"/api/console/tickets/{number}"
    butler.call("POST", f"{ticket}/contact", {"note": "已电话联系王经理"})
    butler.call("POST", f"{ticket}/answer", {"text": "供电已恢复，供电公司已安排专线检修"})
    rating = wait_for(
        lambda: [b for b in wechat.fake.bodies(SUBSCRIBE_SEND) if b.get("template_id") == "tmpl-rating"],
        "the rating subscribe message",
    )
    assert rating[0]["touser"] == OPENID
    assert rating[0]["data"]["character_string1"]["value"] == number
    routed = [b for b in wechat.fake.bodies(SUBSCRIBE_SEND) if b.get("template_id") == "tmpl-routed"]
    assert routed and routed[0]["data"]["character_string1"]["value"] == number
    # the rating question is in the chat too, with its choices as numbers
    wait_for(lambda: any("满意" in t and number in t for t in user.texts()), "the rating question")
    sent = wechat.fake.bodies(CUSTOM_SEND)
    assert all(b["touser"] == OPENID for b in sent)
    assert "never-leaves-the-server" not in stack.gateway.log.read_text(encoding="utf-8", errors="replace")
