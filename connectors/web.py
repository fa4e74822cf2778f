"""The web-chat protocol's client frames (docs/chat-protocol.md), parsed and validated.

Pure functions without a web framework, so the WebSocket, the HTTP fallback and the
mini-program (WeChat issue) share one set of rules. Every refusal is a ``WebFrameError``
whose ``code`` is the protocol's error code and whose ``text`` is the Chinese reason the
client shows; a refused frame never closes the socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_ID_CHARS = 64  # conversation_message.client_message_id is String(64)


class WebFrameError(ValueError):
    """A client frame the gateway refuses; ``id`` echoes the client id when one could be read."""

    def __init__(self, code: str, text: str, frame_id: str | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.id = frame_id

    def to_frame(self) -> dict[str, Any]:
        """The protocol's error frame."""
        frame: dict[str, Any] = {"type": "error", "code": self.code, "text": self.text}
        if self.id is not None:
            frame["id"] = self.id
        return frame


@dataclass(frozen=True)
class MessageFrame:
    """``{"type": "message", "id", "text"}``: an enterprise message or a button payload."""

    id: str
    text: str


@dataclass(frozen=True)
class HandoffFrame:
    """``{"type": "handoff", "id"}``: the 联系管家 button."""

    id: str


@dataclass(frozen=True)
class ResumeFrame:
    """``{"type": "resume", "after_seq"}``: send every frame after this one."""

    after_seq: int


@dataclass(frozen=True)
class PingFrame:
    """``{"type": "ping"}``: keep-alive."""


ClientFrame = MessageFrame | HandoffFrame | ResumeFrame | PingFrame

BAD_JSON = "消息格式不正确，请刷新页面后重试"
NOT_OBJECT = "消息格式不正确：应为 JSON 对象"
UNKNOWN_TYPE = "无法识别的消息类型「{kind}」"
MISSING_ID = "消息缺少编号（id），请刷新页面后重试"
BAD_ID = "消息编号（id）应为不超过64个字符的文字"
EMPTY_TEXT = "消息内容不能为空"
BAD_TEXT = "消息内容应为文字"
TOO_LONG = "消息太长了（{count}字），请控制在{limit}字以内"
TOO_LARGE = "消息太大（{size}字节），单条消息不能超过{limit}字节"
BAD_SEQ = "after_seq 应为不小于0的整数"


def parse_frame(raw: str | bytes, *, max_bytes: int, max_chars: int) -> ClientFrame:
    """One client frame from the wire; raises ``WebFrameError`` for anything the protocol refuses."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise WebFrameError("too_large", TOO_LARGE.format(size=size, limit=max_bytes))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebFrameError("bad_frame", BAD_JSON) from exc
    return frame_from_dict(data, max_chars=max_chars)


def frame_from_dict(data: Any, *, max_chars: int, default_type: str | None = None) -> ClientFrame:
    """A validated frame from decoded JSON; ``default_type`` serves the HTTP fallback's body."""
    if not isinstance(data, dict):
        raise WebFrameError("bad_frame", NOT_OBJECT)
    kind = data.get("type", default_type)
    if kind == "ping":
        return PingFrame()
    if kind == "resume":
        return ResumeFrame(after_seq=_after_seq(data.get("after_seq", 0)))
    if kind == "message":
        frame_id = _client_id(data)
        return MessageFrame(id=frame_id, text=_text(data.get("text"), max_chars, frame_id))
    if kind == "handoff":
        return HandoffFrame(id=_client_id(data))
    shown = str(kind)[:20] if kind is not None else ""
    raise WebFrameError("bad_frame", UNKNOWN_TYPE.format(kind=shown), _readable_id(data))


def parse_after_seq(raw: str | None) -> int:
    """The ``after_seq`` query parameter of the HTTP fallback (absent means 0)."""
    if raw is None or raw.strip() == "":
        return 0
    try:
        return _after_seq(int(raw.strip()))
    except ValueError as exc:
        raise WebFrameError("bad_frame", BAD_SEQ) from exc


def _after_seq(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WebFrameError("bad_frame", BAD_SEQ)
    return value


def _readable_id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS else None


def _client_id(data: dict[str, Any]) -> str:
    value = data.get("id")
    if value is None or value == "":
        raise WebFrameError("bad_frame", MISSING_ID)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise WebFrameError("bad_frame", BAD_ID)
    text = str(value).strip()
    if not text or len(text) > MAX_ID_CHARS or any(ord(ch) < 32 for ch in text):
        raise WebFrameError("bad_frame", BAD_ID)
    return text


def _text(value: Any, max_chars: int, frame_id: str) -> str:
    if not isinstance(value, str):
        raise WebFrameError("bad_frame", BAD_TEXT if value is not None else EMPTY_TEXT, frame_id)
    text = value.strip()
    if not text:
        raise WebFrameError("bad_frame", EMPTY_TEXT, frame_id)
    if len(text) > max_chars:
        raise WebFrameError("too_long", TOO_LONG.format(count=len(text), limit=max_chars), frame_id)
    return text
