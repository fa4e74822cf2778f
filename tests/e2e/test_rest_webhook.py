"""The assistant as an enterprise meets it, over the REST webhook.

Every test runs twice: with the custom actions inside the Rasa server (what `make run` starts) and
behind Rasa's separate action server (ACTION_SERVER=1); the enterprise must not see a difference.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.processes import RunningAssistant, running_assistant
from tests.conftest import MODEL

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["actions in-process", "action server"])
def assistant(
    request: pytest.FixtureRequest, demo_kb_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningAssistant]:
    assert MODEL.exists(), "train the model first (make train)"
    with running_assistant(
        MODEL,
        tmp_path_factory.mktemp("e2e"),
        env={"DATABASE_URL": demo_kb_url},
        action_server=request.param == "action server",
    ) as running:
        yield running


def post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def say(assistant: RunningAssistant, sender: str, text: str) -> list[dict[str, Any]]:
    status, replies = post(assistant.webhook, json.dumps({"sender": sender, "message": text}).encode())
    assert status == 200, replies
    return replies


def card(replies: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r["custom"] for r in replies if "custom" in r)


def test_a_conversation_about_a_guide(assistant: RunningAssistant) -> None:
    greeting = say(assistant, "ent-001", "你好")
    assert "企业管家助手" in greeting[0]["text"]

    replies = say(assistant, "ent-001", "食品经营许可证需要准备哪些材料")
    assert replies[0]["text"].startswith("【食品经营许可证核发】申请材料")
    first = card(replies)
    assert first["kind"] == "guide" and first["aspect"] == "materials"

    follow = card(say(assistant, "ent-001", "那大概要多少天？"))
    assert follow["guide_id"] == first["guide_id"] and follow["aspect"] == "time_limit"

    switched = card(say(assistant, "ent-001", "那排污许可呢"))
    assert switched["guide_name"] == "排污许可证核发" and switched["aspect"] == "time_limit"


def test_ambiguous_question_offers_buttons(assistant: RunningAssistant) -> None:
    replies = say(assistant, "ent-002", "消防怎么办")
    choice = card(replies)
    assert choice["kind"] == "choose_guide" and len(choice["candidates"]) >= 2
    assert replies[0]["buttons"][0]["payload"].startswith("/choose_guide")
    picked = card(say(assistant, "ent-002", replies[0]["buttons"][0]["payload"]))
    assert picked["kind"] == "guide" and picked["guide_id"] == choice["candidates"][0]["guide_id"]


def test_unanswerable_question_is_declined(assistant: RunningAssistant) -> None:
    replies = say(assistant, "ent-003", "帮我查一下明天的天气预报")
    texts = " ".join(r.get("text", "") for r in replies)
    assert "转人工" in texts or "超出了我的服务范围" in texts


@pytest.mark.parametrize(
    "text", ["", "😂😂😂", "\u0000\u0001控制字符", "办" * 5000, "VAT registration 要多久"]
)
def test_bad_input_gets_a_reply_not_a_crash(assistant: RunningAssistant, text: str) -> None:
    replies = say(assistant, "ent-004", text)
    assert isinstance(replies, list)
    assert not any("Traceback" in json.dumps(r, ensure_ascii=False) for r in replies)


def test_malformed_json_is_a_clear_4xx(assistant: RunningAssistant) -> None:
    status, body = post(assistant.webhook, b'{"sender": "x", "message": ')
    assert 400 <= status < 500
    assert "Traceback" not in str(body)


def test_conversations_are_stored_in_the_sql_tracker_store(assistant: RunningAssistant) -> None:
    say(assistant, "ent-005", "公章刻制备案要多久")
    with sqlite3.connect(assistant.tracker_db) as db:
        rows = db.execute("select type_name from events where sender_id = 'ent-005'").fetchall()
    kinds = {r[0] for r in rows}
    assert {"user", "bot", "slot", "session_started"} <= kinds
