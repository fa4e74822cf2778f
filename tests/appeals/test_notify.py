"""The rating question is pushed into the enterprise's conversation when its ticket is answered."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from appeals.notify import EXTERNAL_INTENT, request_rating
from appeals.settings import AppealsSettings
from appeals.views import TicketPublic


class _Recorder(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Recorder.calls.append({"path": self.path, "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"messages": []}')

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def rasa_api() -> Iterator[str]:
    _Recorder.calls = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _ticket(sender_id: str) -> TicketPublic:
    fields = {f.name: None for f in dataclasses.fields(TicketPublic) if f.default is dataclasses.MISSING}
    fields.update({"number": "GD202611230007", "sender_id": sender_id})
    return TicketPublic(**fields)  # type: ignore[arg-type]


def test_the_conversation_is_asked_for_a_rating(rasa_api: str) -> None:
    settings = AppealsSettings(database_url="sqlite://", rasa_url=rasa_api, rasa_token="s3cret")
    message = request_rating(_ticket("wx-openid/1"), settings)
    assert message == "已在企业的对话中邀请评价。"
    (call,) = _Recorder.calls
    assert call["path"].startswith("/conversations/wx-openid%2F1/trigger_intent?")
    assert "output_channel=latest" in call["path"] and "token=s3cret" in call["path"]
    assert call["body"] == {"name": EXTERNAL_INTENT, "entities": {"ticket_number": "GD202611230007"}}


def test_without_a_rasa_url_the_rating_waits_for_the_next_message() -> None:
    message = request_rating(_ticket("wx-openid-1"), AppealsSettings(database_url="sqlite://"))
    assert "未配置对话推送" in message and "下次" in message


def test_an_unreachable_rasa_is_reported_not_raised() -> None:
    settings = AppealsSettings(database_url="sqlite://", rasa_url="http://127.0.0.1:9")
    message = request_rating(_ticket("wx-openid-1"), settings, timeout=2)
    assert message.startswith("未能通知企业的对话") and "下次" in message


def test_tickets_filed_outside_the_chat_are_not_pushed(rasa_api: str) -> None:
    settings = AppealsSettings(database_url="sqlite://", rasa_url=rasa_api)
    assert "不是在对话中提交的" in request_rating(_ticket(""), settings)
    assert _Recorder.calls == []
