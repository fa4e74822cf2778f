"""A fast fake Rasa for the gateway capacity benchmark: the gateway is measured, not NLU.

It answers every REST webhook call with one short fixed guide reply after a small fixed
delay (about what the real assistant takes for one message when idle), and the HTTP API
calls the gateway may make (tracker events, external intents) with empty successes. It
counts what it received, so the benchmark can check that the gateway forwarded each
message exactly once. Loopback only; it exits by itself after ``--lifetime`` seconds.

Run: ``.venv/bin/python bench/gateway_fake_rasa.py --port 5999 --delay-ms 20``
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

REPLY_TEXT = "【示例事项】申请材料：1. 申请书；2. 营业执照。（基准测试用的固定回复）"
REPLY_CUSTOM = {"kind": "guide", "guide_id": "BENCH-001", "guide_name": "示例事项", "aspect": "materials"}


@dataclass
class Received:
    """What the gateway sent: calls per endpoint, webhook messages per sender."""

    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    senders: collections.Counter[str] = field(default_factory=collections.Counter)


DELAY = web.AppKey("delay", float)
RECEIVED = web.AppKey("received", Received)


async def webhook(request: web.Request) -> web.Response:
    """One fixed reply per message, after the configured delay."""
    body: Any = await request.json()
    sender = str(body.get("sender", "")) if isinstance(body, dict) else ""
    request.app[RECEIVED].calls["webhook"] += 1
    request.app[RECEIVED].senders[sender] += 1
    await asyncio.sleep(request.app[DELAY])
    return web.json_response([{"recipient_id": sender, "text": REPLY_TEXT, "custom": REPLY_CUSTOM}])


async def webhook_health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def root(request: web.Request) -> web.Response:
    return web.Response(text="Hello from Rasa: 3.6.21 (fake, for the gateway benchmark)")


async def conversation_api(request: web.Request) -> web.Response:
    """Tracker events and external intents: accepted, nothing produced."""
    request.app[RECEIVED].calls[f"api:{request.match_info['tail']}"] += 1
    if request.match_info["tail"].startswith("trigger_intent"):
        return web.json_response({"messages": [], "tracker": {}})
    return web.json_response({})


async def stats(request: web.Request) -> web.Response:
    """What the gateway sent: call counts, and webhook messages per sender."""
    received = request.app[RECEIVED]
    return web.json_response({"counts": dict(received.calls), "messages_per_sender": dict(received.senders)})


def create_app(delay: float) -> web.Application:
    app = web.Application()
    app[DELAY] = delay
    app[RECEIVED] = Received()
    app.router.add_get("/", root)
    app.router.add_get("/webhooks/rest/", webhook_health)
    app.router.add_post("/webhooks/rest/webhook", webhook)
    app.router.add_post("/conversations/{sender}/{tail:.*}", conversation_api)
    app.router.add_get("/_bench/stats", stats)
    return app


async def serve(port: int, delay: float, lifetime: float) -> None:
    runner = web.AppRunner(create_app(delay), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    try:
        await asyncio.sleep(lifetime)  # the benchmark stops it earlier; this bounds a forgotten one
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--lifetime", type=float, default=1800.0, help="exit after this many seconds")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.delay_ms / 1000, args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
