"""Take the README's screenshots (docs/screenshots/) from the real stack in Debian's Chromium.

``.venv/bin/python -m tests.browser.screenshots [--model models/butler.tar.gz] [--out docs/screenshots]``

Starts Rasa with the trained model and the gateway on a fresh demo database (demo
knowledge base and registry, one butler account), then plays a short day: an enterprise
asks guide questions and files an appeal, a visitor asks for a person, the butler takes
over and replies, works the ticket to "answered", and the enterprise is asked to rate.
Every picture is of what really happened in that run; check them by eye afterwards.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from accounts.service import create_user
from storage.settings import PROJECT_ROOT
from storage.transaction import transaction
from tests.conftest import build_demo_world
from tests.servers import running_stack

CHROMIUM = "/usr/bin/chromium"
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


def shoot(page: Page, out: Path, name: str, anchor: str | None = None, block: str = "start") -> None:
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


def play(browser: Browser, url: str, password: str, out: Path) -> None:
    """The day the pictures show."""
    enterprise = open_chat(browser, url)
    say(enterprise, "开个小饭馆要准备哪些材料？")
    shoot(enterprise, out, "chat-guide", ".msg[data-from=enterprise]")
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
    shoot(enterprise, out, "chat-ticket", ".msg[data-kind=ticket]", "end")

    visitor = open_chat(browser, url)
    say(visitor, "你好，厂房租赁补贴去哪里申请？我们是新落户的企业")
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
    shoot(console, out, "console-inbox")
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
    shoot(console, out, "console-conversation")
    shoot(visitor, out, "chat-butler", ".msg[data-from=enterprise]", "end")
    console.click("#hand-back")
    expect(visitor.locator(".state-banner")).to_have_attribute("data-state", "bot", timeout=15_000)

    console.click("#tab-tickets")
    console.locator(f".ticket-row[data-number='{number}']").click()
    expect(console.locator(f".ticket-detail[data-number='{number}']")).to_be_visible()
    ticket_action(console, "contact", "已电话联系杨刚，约定今天下午到厂查看线路", "contacted")
    ticket_action(console, "reply", "已协调供电公司抢修队今天下午到厂，预计今晚恢复供电", "in_progress")
    before = bot_turns(enterprise)
    ticket_action(console, "answer", "供电已于今晚8点恢复，供电公司已安排专线检修，避免再次停电", "answered")
    shoot(console, out, "console-ticket")
    wait_for_turn(enterprise, before)
    expect(enterprise.locator(".msg[data-kind=rating]")).to_be_visible(timeout=REPLY_TIMEOUT)
    shoot(enterprise, out, "chat-rating", ".msg[data-kind=rating]", "end")
    tap(enterprise, "满意")

    phone = log_in(browser, url, password, PHONE)
    shoot(phone, out, "console-phone-inbox")
    phone.click("#tab-tickets")
    phone.select_option("#filter-status", "")  # the rated ticket is closed now
    phone.locator(f".ticket-row[data-number='{number}']").click()
    expect(phone.locator(f".ticket-detail[data-number='{number}']")).to_be_visible()
    phone.wait_for_timeout(500)
    shoot(phone, out, "console-phone-ticket")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the README screenshots from the real stack.")
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "butler.tar.gz")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"找不到模型 {args.model}：请先运行 make run 或 make test 训练模型。", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        work = Path(tmp)
        database_url = f"sqlite:///{work / 'butler.db'}"
        factory = build_demo_world(database_url)
        with transaction(factory) as session:
            create_user(session, BUTLER, password, "butler", butler_phone=BUTLER_PHONE)
        with running_stack(args.model, work, database_url) as stack, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                play(browser, stack.gateway.url, password, args.out)
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
