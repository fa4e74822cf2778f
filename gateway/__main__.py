"""``python -m gateway``: serve the gateway (``make run`` starts it next to Rasa and the sweeper)."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ACCESS_LOG_FORMAT = 'gateway.access method=%r path="%U" status=%s bytes=%b seconds=%Tf'


def main() -> None:
    """Read the settings once, then serve until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        settings = GatewaySettings.from_env()
    except ValueError as exc:  # a malformed variable: say which, in Chinese, and stop
        print(f"网关配置错误：{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    logging.getLogger(__name__).info(
        "gateway.start host=%s port=%s rasa=%s", settings.host, settings.port, settings.rasa_url
    )
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log_format=ACCESS_LOG_FORMAT,
        print=None,
    )


if __name__ == "__main__":
    main()
