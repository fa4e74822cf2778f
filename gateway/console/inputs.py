"""Reading what the page sent: the JSON body, its fields and the path ids, each refused in Chinese.

Malformed JSON is a 400 (``bad_json``); a body that parses but lacks a field or
has the wrong kind of value is a 422 naming the field; an id that cannot be one
of ours is a 404, exactly like an unknown one.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from gateway.console.errors import bad_json, conversation_not_found, invalid

# ids are 32-bit in PostgreSQL's INTEGER; anything larger is not one of ours
MAX_ID = 2**31 - 1

Body = dict[str, Any]


async def read_body(request: web.Request, *, optional: bool = False) -> Body:
    """The JSON object in the body; ``{}`` for an empty body when ``optional``."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise bad_json()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad_json() from exc
    if not isinstance(data, dict):
        raise invalid('请求体应为JSON对象，例如 {"text": "…"}')
    return data


def text_field(body: Body, name: str, label: str, *, max_chars: int, required: bool = True) -> str:
    """A string field, trimmed of surrounding blanks; 1..``max_chars`` characters when required."""
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise invalid(f"请填写{label}（字段 {name} 应为文字）")
    text = value.strip()
    if required and not text:
        raise invalid(f"{label}不能为空")
    if len(text) > max_chars:
        raise invalid(f"{label}太长（最多{max_chars}个字，现有{len(text)}个字）")
    return text


def id_field(body: Body, name: str, label: str) -> int:
    """A positive integer id field (``true`` is not an id)."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"请选择{label}（字段 {name} 应为整数编号）")
    if not 1 <= value <= MAX_ID:
        raise invalid(f"{label}不存在")
    return value


def conversation_id(request: web.Request) -> int:
    """The ``{conversation_id}`` of the path; anything but a plausible id is an unknown conversation."""
    raw = request.match_info.get("conversation_id", "")
    if not raw.isascii() or not raw.isdigit():
        raise conversation_not_found()
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise conversation_not_found()
    return value


def query_choice(request: web.Request, name: str, label: str, choices: tuple[str, ...]) -> str | None:
    """An optional query parameter that must be one of ``choices``; empty means not given."""
    value = request.query.get(name, "").strip()
    if not value:
        return None
    if value not in choices:
        raise invalid(f"{label}「{value[:40]}」无法识别，可选：{'、'.join(choices)}")
    return value
