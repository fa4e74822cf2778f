#!/usr/bin/env bash
# Debian's Chromium and a CJK font for the real-browser tests (Playwright drives /usr/bin/chromium;
# `playwright install` is never run, it would download a browser). Installs them with apt when this
# user is root or has passwordless sudo; otherwise says why and exits 3, and `make test` names the
# browser suite as not run. Prints the browser's path on success.
set -euo pipefail

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FONT_PACKAGE=fonts-wqy-microhei

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        echo "browser.sh: Chromium or the CJK font is missing and this user is neither root nor allowed passwordless sudo; install the Debian packages 'chromium' and '$FONT_PACKAGE' first." >&2
        exit 3
    fi
}

have_font() { fc-list 2>/dev/null | grep -qi 'wenquanyi\|wqy\|noto sans cjk'; }

if [ ! -x "$CHROMIUM" ] || ! have_font; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "browser.sh: Chromium is missing and apt-get is not available to install it." >&2
        exit 3
    fi
    echo "browser.sh: installing Debian packages chromium $FONT_PACKAGE" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2 || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium "$FONT_PACKAGE" >&2 \
        || { echo "browser.sh: apt-get install chromium $FONT_PACKAGE failed" >&2; exit 3; }
fi
[ -x "$CHROMIUM" ] || { echo "browser.sh: $CHROMIUM not found after installing chromium" >&2; exit 3; }
echo "$CHROMIUM"
