"""connectors.web: the web-chat protocol's client frames, parsed without a server."""

from __future__ import annotations

import json

import pytest

from connectors.web import (
    HandoffFrame,
    MessageFrame,
    PingFrame,
    ResumeFrame,
    WebFrameError,
    frame_from_dict,
    parse_after_seq,
    parse_frame,
)


def parse(data: object, max_bytes: int = 8192, max_chars: int = 2000) -> object:
    return parse_frame(json.dumps(data, ensure_ascii=False), max_bytes=max_bytes, max_chars=max_chars)


def refusal(data: object, **limits: int) -> WebFrameError:
    with pytest.raises(WebFrameError) as caught:
        parse(data, **limits)
    return caught.value


def test_each_frame_type_is_recognised() -> None:
    assert parse({"type": "message", "id": "a1", "text": " 你好 "}) == MessageFrame(id="a1", text="你好")
    assert parse({"type": "handoff", "id": "b1"}) == HandoffFrame(id="b1")
    assert parse({"type": "resume", "after_seq": 17}) == ResumeFrame(after_seq=17)
    assert parse({"type": "ping"}) == PingFrame()
    assert parse({"type": "message", "id": 42, "text": "数字编号"}) == MessageFrame(id="42", text="数字编号")


def test_refusals_carry_the_protocol_code_and_a_chinese_reason() -> None:
    with pytest.raises(WebFrameError) as caught:
        parse_frame("{not json", max_bytes=8192, max_chars=2000)
    assert caught.value.code == "bad_frame" and "格式不正确" in caught.value.text
    assert refusal([1, 2]).code == "bad_frame"
    assert refusal({"type": "dance", "id": "x"}).to_frame() == {
        "type": "error",
        "code": "bad_frame",
        "text": "无法识别的消息类型「dance」",
        "id": "x",
    }
    assert "编号" in refusal({"type": "message", "text": "hi"}).text
    assert "编号" in refusal({"type": "message", "id": "x" * 65, "text": "hi"}).text
    assert refusal({"type": "message", "id": "a", "text": 3}).text == "消息内容应为文字"
    assert refusal({"type": "resume", "after_seq": "5"}).code == "bad_frame"
    assert refusal({"type": "resume", "after_seq": True}).code == "bad_frame"


def test_limits_are_counted_in_characters_and_bytes() -> None:
    assert parse({"type": "message", "id": "a", "text": "问" * 2000}) == MessageFrame(
        id="a", text="问" * 2000
    )
    long = refusal({"type": "message", "id": "a", "text": "问" * 2001})
    assert long.code == "too_long" and long.id == "a" and "2001" in long.text
    large = refusal({"type": "message", "id": "a", "text": "x" * 300}, max_bytes=256)
    assert large.code == "too_large" and "256" in large.text


def test_the_http_body_defaults_to_a_message() -> None:
    assert frame_from_dict({"id": "h", "text": "你好"}, max_chars=10, default_type="message") == MessageFrame(
        "h", "你好"
    )
    assert parse_after_seq(None) == 0 and parse_after_seq(" 12 ") == 12
    with pytest.raises(WebFrameError):
        parse_after_seq("-3")
