"""WeChat customer-service pushes (消息推送) as typed messages: XML or JSON, plaintext, compatible or secure.

``read_push`` is what the gateway's ``POST /wechat/push`` calls with the raw body and the URL
query: it checks the size, the signature (``signature`` in plaintext mode, ``msg_signature`` when
the push carries ``Encrypt``), the timestamp window, decrypts, and returns one of the message
classes below. Anything wrong raises ``MessageParseError`` or a ``WeChatCryptoError``; both carry
a Chinese ``reason`` and a 4xx ``status``, never a stack trace.

XML is parsed with ``defusedxml`` (no DTD, no entities, no external references): pushes are
untrusted input until their signature is checked, and the check needs the body parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connectors.wechat.crypto import (
    DecryptError,
    SignatureError,
    WeChatCrypto,
    check_signature,
    check_timestamp,
)

BodyFormat = Literal["xml", "json"]
MAX_FIELD_CHARS = 20_000  # far above any real field (SessionFrom ≤ 1000 bytes, text ≈ 2048 bytes)

__all__ = [
    "BodyFormat",
    "Envelope",
    "ImageMessage",
    "MessageParseError",
    "MiniProgramPageMessage",
    "Push",
    "PushMessage",
    "TextMessage",
    "Unsupported",
    "UserEnterTempSession",
    "parse_envelope",
    "parse_message",
    "read_push",
]


class MessageParseError(ValueError):
    """A push body the gateway refuses (4xx): oversized, not XML/JSON, or missing required fields."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# -- the typed messages ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PushMessage:
    """Fields every push has; ``openid`` is the sender (FromUserName), ``to`` the mini-program (gh_…)."""

    openid: str
    to: str
    create_time: int
    msg_type: str
    msg_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        """The key a retried push repeats: its MsgId, or sender + CreateTime for events (no MsgId)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.openid}:{self.create_time}"


@dataclass(frozen=True, kw_only=True)
class TextMessage(PushMessage):
    """The user typed ``content``."""

    content: str = ""


@dataclass(frozen=True, kw_only=True)
class ImageMessage(PushMessage):
    """The user sent a picture: ``pic_url`` (WeChat's copy) and ``media_id`` (get-temp-media)."""

    pic_url: str = ""
    media_id: str = ""


@dataclass(frozen=True, kw_only=True)
class MiniProgramPageMessage(PushMessage):
    """The user shared a mini-program page card (e.g. a ticket's detail page)."""

    title: str = ""
    app_id: str = ""
    page_path: str = ""
    thumb_url: str = ""
    thumb_media_id: str = ""


@dataclass(frozen=True, kw_only=True)
class UserEnterTempSession(PushMessage):
    """The user opened the customer-service session; ``session_from`` is the contact button's context."""

    session_from: str = ""


@dataclass(frozen=True, kw_only=True)
class Unsupported(PushMessage):
    """Any other push (voice, video, other events, debug_demo), kept with its type and raw fields."""

    event: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


# -- parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """A push body's top-level fields as text, its format, and ``Encrypt`` when it has one."""

    fields: dict[str, str]
    format: BodyFormat

    @property
    def encrypt(self) -> str | None:
        """The secure-mode ciphertext (secure and compatible mode), if any."""
        return self.fields.get("Encrypt") or None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _xml_fields(body: bytes) -> dict[str, str]:
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MessageParseError("消息体不是有效的 XML") from exc
    if root.tag != "xml":
        raise MessageParseError("XML 消息体的根元素应为 <xml>")
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MessageParseError("消息体不是有效的 JSON") from exc
    if not isinstance(data, dict):
        raise MessageParseError("JSON 消息体应为对象")
    return {str(key): _text(value) for key, value in data.items()}


def parse_envelope(body: bytes, max_bytes: int = 65536) -> Envelope:
    """The top-level fields of an XML or JSON push (told apart by the first character)."""
    if len(body) > max_bytes:
        raise MessageParseError(f"消息体超过 {max_bytes} 字节", status=413)
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        fields, fmt = _xml_fields(stripped), "xml"
    elif stripped.startswith(b"{"):
        fields, fmt = _json_fields(stripped), "json"
    else:
        raise MessageParseError("消息体应为 XML 或 JSON")
    if any(len(value) > MAX_FIELD_CHARS for value in fields.values()):
        raise MessageParseError("消息体中有字段过长", status=413)
    return Envelope(fields, fmt)  # type: ignore[arg-type]


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise MessageParseError(f"消息缺少 {name} 字段")
    return value


def parse_message(fields: Mapping[str, str]) -> PushMessage:
    """The typed message for a push's (decrypted) fields; ``Unsupported`` for any other type."""
    raw_time = _required(fields, "CreateTime")
    try:
        create_time = int(raw_time)
    except ValueError as exc:
        raise MessageParseError("CreateTime 应为整数") from exc
    msg_type = _required(fields, "MsgType").lower()
    common: dict[str, Any] = {
        "openid": _required(fields, "FromUserName"),
        "to": fields.get("ToUserName", "").strip(),
        "create_time": create_time,
        "msg_type": msg_type,
        "msg_id": fields.get("MsgId", "").strip() or None,
    }
    event = fields.get("Event", "").strip()
    if msg_type == "text":
        return TextMessage(**common, content=fields.get("Content", ""))
    if msg_type == "image":
        return ImageMessage(**common, pic_url=fields.get("PicUrl", ""), media_id=fields.get("MediaId", ""))
    if msg_type == "miniprogrampage":
        return MiniProgramPageMessage(
            **common,
            title=fields.get("Title", ""),
            app_id=fields.get("AppId", ""),
            page_path=fields.get("PagePath", ""),
            thumb_url=fields.get("ThumbUrl", ""),
            thumb_media_id=fields.get("ThumbMediaId", ""),
        )
    if msg_type == "event" and event == "user_enter_tempsession":
        return UserEnterTempSession(**common, session_from=fields.get("SessionFrom", ""))
    return Unsupported(**common, event=event, fields=dict(fields))


# -- the whole push -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    """A verified push: the message, the body format (a synchronous reply uses it) and whether it was encrypted."""

    message: PushMessage
    format: BodyFormat
    encrypted: bool


def read_push(
    body: bytes,
    query: Mapping[str, str],
    *,
    token: str,
    crypto: WeChatCrypto | None,
    window: int = 300,
    max_bytes: int = 65536,
    now: float | None = None,
) -> Push:
    """Verify and parse one ``POST /wechat/push``: ``query`` is the URL's parameters.

    Secure and compatible mode (``encrypt_type=aes``, or an ``Encrypt`` field with a
    ``msg_signature``) are checked by ``msg_signature`` and answered from the decrypted
    fields only; plaintext mode by ``signature``. Raises ``MessageParseError`` or a
    ``WeChatCryptoError`` (``SignatureError``, ``DecryptError``, ``AppIdMismatch``,
    ``TimestampOutOfWindow``).
    """
    envelope = parse_envelope(body, max_bytes)
    timestamp, nonce = query.get("timestamp"), query.get("nonce")
    secure = query.get("encrypt_type", "").lower() == "aes" or (
        envelope.encrypt is not None and bool(query.get("msg_signature"))
    )
    if not secure:
        if not check_signature(token, query.get("signature"), timestamp, nonce):
            raise SignatureError("signature 校验失败")
        check_timestamp(timestamp, window, now)
        return Push(parse_message(envelope.fields), envelope.format, encrypted=False)
    if crypto is None:
        raise DecryptError("未配置 WECHAT_AES_KEY，无法解密安全模式消息")
    plain = crypto.verify_and_decrypt(
        envelope.encrypt, query.get("msg_signature"), timestamp, nonce, window=window, now=now
    )
    inner = parse_envelope(plain, max_bytes)
    return Push(parse_message(inner.fields), inner.format, encrypted=True)
