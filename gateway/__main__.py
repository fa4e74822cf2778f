"""``python -m gateway``: serve the gateway (``make run`` starts it next to Rasa and the sweeper)."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from gateway.app import create_app
from gateway.settings import GatewaySettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class AccessLogger(AbstractAccessLogger):
    """One line per request without its query string: ``?token=`` opens a conversation and stays out of logs."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "gateway.access method=%s path=%s status=%s seconds=%.3f",
            request.method,
            request.path,
            response.status,
            time,
        )


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
        access_log_class=AccessLogger,
        print=None,
    )


if __name__ == "__main__":
    main()
