"""Screenshots of the mini-program's main screens (docs/screenshots/miniprogram-*.png).

``.venv/bin/python miniprogram/preview/screenshots.py [--out docs/screenshots]``

No WeChat DevTools on the build machines, so the pages are rendered by the project's own H5 preview:
``preview/screens.preview.js`` (jest + miniprogram-simulate in jsdom) plays real frame shapes into
the pages and writes each screen as an HTML file; this script opens those files in Debian's Chromium
through Playwright at a 375-px phone width and saves the PNGs. Check them by eye afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

MINIPROGRAM = Path(__file__).resolve().parent.parent
PROJECT = MINIPROGRAM.parent
CHROMIUM = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")  # Debian's, never a download
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE: ViewportSize = {"width": 375, "height": 812}
SCREENS = ("chat-guide", "chat-ticket", "chat-handoff", "bind")


def render_html(out: Path) -> None:
    """Run the H5 preview (Node) that writes one HTML file per screen into ``out``."""
    if shutil.which("npx") is None:
        raise SystemExit("找不到 npx：请先安装 Node.js 与 npm，并在 miniprogram/ 下运行 npm ci。")
    env = {**os.environ, "PREVIEW_OUT": str(out)}
    command = ["npx", "--no-install", "jest", "--config", "preview/jest.config.js"]
    subprocess.run(command, cwd=MINIPROGRAM, env=env, check=True)


def take(html_dir: Path, out: Path) -> list[Path]:
    """Open each screen in Chromium at phone width and save it as miniprogram-<screen>.png."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2)
            for screen in SCREENS:
                page.goto((html_dir / f"{screen}.html").as_uri())
                target = out / f"miniprogram-{screen}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Take the mini-program screenshots from its H5 preview.")
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="miniprogram-preview-") as tmp:
        render_html(Path(tmp))
        for path in take(Path(tmp), args.out):
            print(path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
