"""The enterprise's and the butler's day in Debian's Chromium, shared by the journey test and the screenshots.

An enterprise asks guide questions and files an appeal; a visitor asks for a person; the
butler logs in, takes over and replies (the visitor sees it live), writes an internal note,
hands back (the assistant answers the next guide question), works the ticket to "answered",
and the enterprise rates it in the chat.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect

CHROMIUM = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")  # Debian's, never a download
PHONE: ViewportSize = {"width": 390, "height": 844}
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
BUTLER = "hejie"
BUTLER_PHONE = "13800000016"  # 何杰 in the demo registry
ENTERPRISE = "示例市腾飞生物医药有限公司"  # assigned to 何杰
REPLY_TIMEOUT = 30_000


def bot_turns(page: Page) -> int:
    count: int = page.locator(".msg[data-from=bot], .msg[data-from=system]").count()
    return count


def send(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")


def say(page: Page, text: str) -> None:
    """Send ``text`` and wait for the assistant's next turn."""
    before = bot_turns(page)
    send(page, text)
    wait_for_turn(page, before)


def tap(page: Page, title: str) -> None:
    """Tap the last chip called ``title`` and wait for the answer."""
    before = bot_turns(page)
    page.locator(".chip").filter(has_text=re.compile(f"^{re.escape(title)}$")).last.click()
    wait_for_turn(page, before)


def wait_for_turn(page: Page, before: int) -> None:
    selector = ".msg[data-from=bot], .msg[data-from=system]"
    page.wait_for_function(
        f"document.querySelectorAll({selector!r}).length > {before}", timeout=REPLY_TIMEOUT
    )
    page.wait_for_timeout(800)  # the assistant may send more than one turn


def open_chat(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{url}/chat")
    expect(page.locator("#conn-status")).to_have_attribute("data-status", "online", timeout=15_000)
    return page


def picture(out: Path, page: Page, name: str, anchor: str | None = None, block: str = "start") -> None:
    """Screenshot the viewport, with ``anchor`` (the last match) scrolled to its ``block`` edge first."""
    if anchor:
        page.locator(anchor).last.evaluate("(node, block) => node.scrollIntoView({block})", block)
    page.wait_for_timeout(400)  # let a toast finish sliding in
    path = out / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"  {path}")


def log_in(browser: Browser, url: str, password: str, viewport: ViewportSize) -> Page:
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{url}/console")
    page.fill("#login-username", BUTLER)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.locator("#app")).to_be_visible()
    return page


def ticket_action(console: Page, action: str, text: str, status: str) -> None:
    console.fill(f"#ticket-{action}-text", text)
    console.click(f"#ticket-{action}")
    try:
        expect(console.locator("#ticket-status")).to_have_attribute("data-status", status, timeout=15_000)
    except AssertionError:
        print(f"「{action}」未成功：{console.locator('#ticket-error').inner_text()}", file=sys.stderr)
        raise


Shoot = Callable[..., None]


def no_pictures(page: Page, name: str, anchor: str | None = None, block: str = "start") -> None:
    """The journey test plays the same day without taking pictures."""


def play(browser: Browser, url: str, password: str, shoot: Shoot) -> str:
    """The enterprise's and the butler's day, as the README's pictures show it; returns the ticket number.

    Every step waits for what a person would see (``expect``), so a broken step fails here.
    """
    enterprise = open_chat(browser, url)
    say(enterprise, "开个小饭馆要准备哪些材料？")
    shoot(enterprise, "chat-guide", ".msg[data-from=enterprise]")
    say(enterprise, "消防怎么办")
    tap(enterprise, "建设工程消防验收")
    say(enterprise, "我们厂停电三天了一直没人来处理，影响生产")
    say(enterprise, ENTERPRISE)
    tap(enterprise, "对")
    say(enterprise, "杨刚")
    say(enterprise, "13900000001")
    tap(enterprise, "普通")
    tap(enterprise, "确认提交")
    expect(enterprise.locator(".ticket-card")).to_be_visible()
    number = enterprise.locator(".ticket-card").last.get_attribute("data-number") or ""
    shoot(enterprise, "chat-ticket", ".msg[data-kind=ticket]", "end")

    visitor = open_chat(browser, url)
    say(visitor, "你好，厂房租赁补贴去哪里申请？我们是新落户的企业")
    say(visitor, "食品经营许可证要准备哪些材料？")
    visitor.click("#handoff")
    expect(visitor.locator(".state-banner")).to_have_attribute("data-state", "waiting", timeout=15_000)
    sender = visitor.evaluate("JSON.parse(localStorage.getItem('butler.chat.session')).sender")

    another = open_chat(browser, url)
    say(another, "公司想申请高新技术企业认定，需要满足什么条件？")
    say(another, "转人工")

    console = log_in(browser, url, password, LAPTOP)
    item = console.locator(f".conv-item[data-sender='{sender}']")
    expect(item).to_be_visible(timeout=15_000)
    item.click()
    expect(console.locator("#transcript")).to_contain_text("厂房租赁补贴")
    console.wait_for_timeout(3000)  # let the wait time tick
    shoot(console, "console-inbox")
    console.click("#take-over")
    expect(visitor.locator(".state-banner")).to_have_attribute("data-state", "butler", timeout=15_000)
    console.fill(
        "#reply-text",
        "您好，我是您的企业管家何杰。厂房租赁补贴由市商务局受理，我把申报通知和材料清单发给您，有问题随时找我。",
    )
    console.click("#reply-send")
    expect(visitor.locator(".msg[data-from=butler]")).to_be_visible(timeout=15_000)
    console.check("#note-toggle")
    console.fill("#reply-text", "新落户企业，下周上门走访时带上补贴申报指南。")
    console.click("#reply-send")
    expect(console.locator(".t-msg[data-from=note]")).to_be_visible()
    console.uncheck("#note-toggle")
    send(visitor, "好的，谢谢何经理！")  # a butler holds the conversation: the assistant stays silent
    expect(console.locator("#transcript")).to_contain_text("谢谢何经理")
    shoot(console, "console-conversation")
    shoot(visitor, "chat-butler", ".msg[data-from=enterprise]", "end")
    console.click("#hand-back")
    expect(visitor.locator(".state-banner")).to_have_attribute("data-state", "bot", timeout=15_000)
    # back with the assistant, which answers the next question with the context it had before the
    # hand-off: "那要多久？" follows up the guide asked about first
    guides = visitor.locator(".guide-card").count()
    say(visitor, "那要多久？")
    expect(visitor.locator(".guide-card")).to_have_count(guides + 1, timeout=REPLY_TIMEOUT)
    expect(visitor.locator(".msg[data-kind=guide]").last).to_contain_text(
        re.compile("食品经营许可证核发.*办理时限.*10个工作日")
    )

    console.click("#tab-tickets")
    console.locator(f".ticket-row[data-number='{number}']").click()
    expect(console.locator(f".ticket-detail[data-number='{number}']")).to_be_visible()
    ticket_action(console, "contact", "已电话联系杨刚，约定今天下午到厂查看线路", "contacted")
    ticket_action(console, "reply", "已协调供电公司抢修队今天下午到厂，预计今晚恢复供电", "in_progress")
    before = bot_turns(enterprise)
    ticket_action(console, "answer", "供电已于今晚8点恢复，供电公司已安排专线检修，避免再次停电", "answered")
    shoot(console, "console-ticket")
    wait_for_turn(enterprise, before)
    expect(enterprise.locator(".msg[data-kind=rating]")).to_be_visible(timeout=REPLY_TIMEOUT)
    shoot(enterprise, "chat-rating", ".msg[data-kind=rating]", "end")
    tap(enterprise, "满意")
    expect(enterprise.locator(".msg[data-from=bot]").last).to_contain_text(
        f"感谢您的评价！工单 {number} 已办结"
    )

    phone = log_in(browser, url, password, PHONE)
    shoot(phone, "console-phone-inbox")
    phone.click("#tab-tickets")
    phone.select_option("#filter-status", "")  # the rated ticket is closed now
    phone.locator(f".ticket-row[data-number='{number}']").click()
    expect(phone.locator(f".ticket-detail[data-number='{number}']")).to_be_visible()
    phone.wait_for_timeout(500)
    shoot(phone, "console-phone-ticket")
    return number
