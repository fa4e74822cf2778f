"""The /chat and /console pages in Debian's Chromium, against the real gateway process.

The gateway runs as ``python -m gateway`` (what ``make run`` starts) on a real SQLite
database holding the demo registry; Rasa is the tests' scripted stand-in, because these
tests are about the pages, not the assistant's answers (the full journey over the real
Rasa lives with the end-to-end tests).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.sync_api import Browser, Dialog, Page, Request, ViewportSize, expect, sync_playwright
from sqlalchemy import or_, select

from accounts.service import create_user
from appeals.bindings import bind_with_code
from appeals.models import Assignment, Butler, Enterprise
from bot.processes import free_port
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.conftest import build_demo_world
from tests.gateway.fake_rasa import FakeRasa
from tests.servers import running_gateway

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
RASA_TOKEN = "browser-tests-rasa-token"
BUTLER = "hejie"
BUTLER_NAME = "何杰"  # the demo registry's butler with this phone
BUTLER_PHONE = "13800000016"
PASSWORD = "butler-password-1"

GUIDE_QUESTION = "食品经营许可证要什么材料"
GUIDE_REPLY = {
    "text": (
        "【食品经营许可证核发】申请材料\n"
        "1. 食品经营许可申请书（电子件1份）：通过政务服务网在线填写并签字\n"
        "2. 营业执照或其他主体资格证明文件（复印件1份，非必需）：通过信息共享获取的免于提交\n"
        "来源：《食品经营许可证核发》办事指南，更新于2026-04-16（示例数据，以当地政务服务网公布为准）"
    ),
    "custom": {
        "kind": "guide",
        "guide_id": "DEMO-013",
        "guide_name": "食品经营许可证核发",
        "aspect": "materials",
        "version": "1",
        "has_guide": True,
    },
}
SCRIPT_TEXT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1366, "height": 768}


@dataclass(frozen=True)
class Stack:
    """The gateway's base URL and the stand-in Rasa behind it."""

    url: str
    fake: FakeRasa
    database_url: str


@contextmanager
def serving(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on a loopback port from a thread of its own; yields its base URL."""
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the stand-in Rasa did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work: Path = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{work / 'butler.db'}"
    factory = build_demo_world(database_url)
    with transaction(factory) as session:
        create_user(session, BUTLER, PASSWORD, "butler", butler_phone=BUTLER_PHONE)
    fake = FakeRasa(token=RASA_TOKEN, script={GUIDE_QUESTION: [GUIDE_REPLY]})
    with (
        serving(fake.app()) as rasa_url,
        running_gateway(
            database_url,
            rasa_url,
            work / "gateway",
            rasa_token=RASA_TOKEN,
            identity_secret=secrets.token_urlsafe(32),
        ) as gateway,
    ):
        yield Stack(gateway.url, fake, database_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_chat(browser: Browser, stack: Stack) -> Page:
    """A new visitor (fresh storage) on the phone-sized chat page, connected."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{stack.url}/chat")
    expect(page.locator("#conn-status")).to_have_attribute("data-status", "online", timeout=15000)
    return page


def say(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def chat_sender(page: Page) -> str:
    sender: str = page.evaluate("JSON.parse(localStorage.getItem('butler.chat.session')).sender")
    return sender


def log_in(browser: Browser, stack: Stack) -> Page:
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(f"{stack.url}/console")
    page.fill("#login-username", BUTLER)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#app")).to_be_visible()
    return page


def test_chat_sends_a_message_and_renders_the_guide_card(browser: Browser, stack: Stack) -> None:
    page = open_chat(browser, stack)
    say(page, GUIDE_QUESTION)

    card = page.locator(".msg[data-from=bot] .guide-card")
    expect(card).to_be_visible(timeout=10000)
    expect(card.locator(".guide-name")).to_have_text("食品经营许可证核发")
    expect(card.locator(".guide-aspect")).to_have_text("申请材料")
    materials = card.locator(".materials li")
    expect(materials).to_have_count(2)
    expect(materials.nth(0).locator(".material-name")).to_have_text("食品经营许可申请书（电子件1份）")
    expect(materials.nth(0).locator(".material-note")).to_have_text("通过政务服务网在线填写并签字")
    # the visitor's own message was stored (it has its seq) and shown once
    mine = page.locator(".msg[data-from=enterprise]")
    expect(mine).to_have_count(1)
    expect(mine).to_have_text(re.compile(GUIDE_QUESTION))
    expect(mine).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    assert [m["message"] for m in stack.fake.messages(chat_sender(page))] == [GUIDE_QUESTION]


def test_a_script_typed_into_the_chat_shows_as_text_and_never_runs(browser: Browser, stack: Stack) -> None:
    page = open_chat(browser, stack)
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    say(page, SCRIPT_TEXT)

    # the stand-in Rasa repeats it back, so the bot's bubble carries it too
    expect(page.locator(".msg[data-from=bot]")).to_contain_text(SCRIPT_TEXT, timeout=10000)
    expect(page.locator(".msg[data-from=enterprise] .bubble")).to_have_text(SCRIPT_TEXT)
    page.wait_for_timeout(500)  # time for an injected handler to fire, were there one
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
    assert page.locator("#messages script, #messages img").count() == 0


def test_a_reload_shows_the_same_conversation_once(browser: Browser, stack: Stack) -> None:
    page = open_chat(browser, stack)
    say(page, GUIDE_QUESTION)
    expect(page.locator(".guide-card")).to_be_visible(timeout=10000)
    say(page, "谢谢")
    expect(page.locator(".msg[data-from=bot]")).to_have_count(2, timeout=10000)
    sender = chat_sender(page)
    before = page.eval_on_selector_all(".msg[data-seq]", "nodes => nodes.map(n => n.dataset.seq)")

    page.reload()
    expect(page.locator("#conn-status")).to_have_attribute("data-status", "online", timeout=15000)
    page.wait_for_timeout(1000)  # the resume answer, were it to repeat anything

    after = page.eval_on_selector_all(".msg[data-seq]", "nodes => nodes.map(n => n.dataset.seq)")
    assert chat_sender(page) == sender
    assert after == before and len(after) == len(set(after)) == 4
    expect(page.locator(".guide-card")).to_have_count(1)


def test_a_wrong_password_is_refused_in_chinese(browser: Browser, stack: Stack) -> None:
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(f"{stack.url}/console")
    page.fill("#login-username", BUTLER)
    page.fill("#login-password", "not-the-password")
    page.click("#login-submit")

    expect(page.locator("#login-error")).to_have_text(re.compile("[\u4e00-\u9fff]"))
    expect(page.locator("#app")).to_be_hidden()


def test_the_butler_logs_in_sees_the_waiting_visitor_takes_over_once_and_replies_live(
    browser: Browser, stack: Stack
) -> None:
    chat = open_chat(browser, stack)
    say(chat, GUIDE_QUESTION)
    expect(chat.locator(".guide-card")).to_be_visible(timeout=10000)
    chat.click("#handoff")
    expect(chat.locator(".state-banner")).to_have_attribute("data-state", "waiting", timeout=10000)
    sender = chat_sender(chat)

    console = log_in(browser, stack)
    item = console.locator(f"#waiting-list .conv-item[data-sender='{sender}']")
    expect(item).to_be_visible(timeout=10000)
    expect(item).to_contain_text("访客")
    expect(item.locator(".wait")).to_contain_text("已等待")

    take_overs: list[Request] = []

    def count(request: Request) -> None:
        if request.url.endswith("/take-over"):
            take_overs.append(request)

    console.on("request", count)
    item.click()
    expect(console.locator("#transcript")).to_contain_text(GUIDE_QUESTION)
    console.dblclick("#take-over")
    expect(console.locator("#conv-state")).to_have_attribute("data-state", "butler", timeout=10000)
    expect(chat.locator(".state-banner")).to_have_attribute("data-state", "butler", timeout=10000)
    expect(chat.locator(".state-banner")).to_contain_text(BUTLER_NAME)
    assert len(take_overs) == 1
    expect(console.locator(f"#mine-list .conv-item[data-sender='{sender}']")).to_be_visible(timeout=10000)

    console.fill("#reply-text", "您好，我是您的企业管家，马上为您处理。")
    console.click("#reply-send")
    reply = chat.locator(".msg[data-from=butler]")
    expect(reply).to_contain_text("您好，我是您的企业管家，马上为您处理。", timeout=10000)
    expect(reply.locator(".author-badge")).to_contain_text(BUTLER_NAME)

    console.click("#hand-back")
    expect(chat.locator(".state-banner")).to_have_attribute("data-state", "bot", timeout=10000)
    say(chat, GUIDE_QUESTION)
    expect(chat.locator(".guide-card")).to_have_count(2, timeout=10000)


def test_without_websocket_the_chat_falls_back_to_http(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(viewport=PHONE)
    context.add_init_script("window.WebSocket = undefined;")
    page = context.new_page()
    page.goto(f"{stack.url}/chat")
    expect(page.locator("#conn-status")).to_have_attribute("data-status", "fallback", timeout=15000)

    say(page, GUIDE_QUESTION)
    expect(page.locator(".msg[data-from=bot] .guide-card .guide-name")).to_have_text(
        "食品经营许可证核发", timeout=10000
    )
    page.click("#handoff")
    expect(page.locator(".state-banner")).to_have_attribute("data-state", "waiting", timeout=10000)
    expect(page.locator(".msg.pending")).to_have_count(0)


def test_on_a_phone_the_console_shows_the_list_then_the_conversation(browser: Browser, stack: Stack) -> None:
    chat = open_chat(browser, stack)
    say(chat, "你好")
    expect(chat.locator(".msg[data-from=bot]")).to_have_count(1, timeout=10000)
    chat.click("#handoff")
    expect(chat.locator(".state-banner")).to_have_attribute("data-state", "waiting", timeout=10000)
    sender = chat_sender(chat)

    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{stack.url}/console")
    page.fill("#login-username", BUTLER)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    item = page.locator(f"#waiting-list .conv-item[data-sender='{sender}']")
    expect(item).to_be_visible(timeout=10000)
    expect(page.locator("#conv-detail")).to_be_hidden()

    item.click()
    expect(page.locator("#transcript")).to_contain_text("你好")
    expect(page.locator("#waiting-list")).to_be_hidden()
    expect(page.locator("#take-over")).to_be_in_viewport()
    page.locator("#conv-body .back").click()
    expect(item).to_be_visible()


def test_a_script_an_enterprise_typed_stays_text_in_the_console(browser: Browser, stack: Stack) -> None:
    chat = open_chat(browser, stack)
    say(chat, SCRIPT_TEXT)
    expect(chat.locator(".msg[data-from=bot]")).to_have_count(1, timeout=10000)
    chat.click("#handoff")
    expect(chat.locator(".state-banner")).to_have_attribute("data-state", "waiting", timeout=10000)
    sender = chat_sender(chat)

    console = log_in(browser, stack)
    item = console.locator(f"#waiting-list .conv-item[data-sender='{sender}']")
    item.click()
    expect(console.locator("#transcript .t-msg[data-from=enterprise] .t-text").first).to_have_text(
        SCRIPT_TEXT
    )
    console.wait_for_timeout(500)
    assert console.evaluate("window.__pwned") is None
    assert console.locator("#transcript script, #transcript img, .conv-item img").count() == 0


def test_the_butler_issues_a_binding_code_that_binds_one_of_their_enterprises_once(
    browser: Browser, stack: Stack
) -> None:
    console = log_in(browser, stack)
    console.click("#tab-enterprises")
    rows = console.locator("#enterprise-list .enterprise-row")
    expect(rows.first).to_be_visible(timeout=10000)
    factory = make_session_factory(make_engine(stack.database_url))
    with factory() as session:
        served = {
            credit_code: name
            for credit_code, name in session.execute(
                select(Enterprise.credit_code, Enterprise.name)
                .join(Assignment, Assignment.enterprise_id == Enterprise.id)
                .join(
                    Butler, or_(Butler.id == Assignment.butler_id, Butler.id == Assignment.backup_butler_id)
                )
                .where(Butler.phone == BUTLER_PHONE)
            )
        }
    shown = [rows.nth(i).locator(".enterprise-code").inner_text() for i in range(rows.count())]
    assert shown and set(shown) <= set(served)  # only the enterprises this butler serves (or backs up)

    credit_code = shown[0]
    rows.first.locator("button").click()
    expect(console.locator("#binding-code .binding-digits")).to_have_text(re.compile(r"^\d{6}$"))
    expect(console.locator("#binding-code .binding-enterprise")).to_have_text(served[credit_code])
    code = console.locator("#binding-code .binding-digits").inner_text()

    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with transaction(factory) as session:
        first = bind_with_code(session, "mp-browser-user", credit_code, code, now)
    with transaction(factory) as session:
        again = bind_with_code(session, "mp-someone-else", credit_code, code, now)
    assert first.ok and first.binding is not None and first.binding.enterprise_name == served[credit_code]
    assert not again.ok  # a used code binds no one else
    assert re.search("[\u4e00-\u9fff]", again.message)
