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
import secrets
import sys
import tempfile
from functools import partial
from pathlib import Path

from playwright.sync_api import sync_playwright

from accounts.service import create_user
from storage.settings import PROJECT_ROOT
from storage.transaction import transaction
from tests.browser.journey import BUTLER, BUTLER_PHONE, CHROMIUM, picture, play
from tests.conftest import build_demo_world
from tests.servers import running_stack


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
                play(browser, stack.gateway.url, password, partial(picture, args.out))
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
