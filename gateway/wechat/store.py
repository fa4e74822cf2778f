"""The WeChat tables' use cases (synchronous, on the caller's session): users, pushes seen, quota, cursor.

An openid is never used as a name: its conversations are ``wx-<key>`` (customer-service
pushes) and ``mp-<key>`` (the mini-program's own chat page), and its enterprise binding
is ``wechat:<key>``, where ``key`` is a hash of the appid and the openid. The openid
itself is kept only in ``wechat_user``, because ``custom/send`` and ``subscribe/send``
need it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from conversations.models import Conversation
from gateway.wechat.models import WeChatPush, WeChatUser

PUSH_PREFIX = "wx-"
APP_PREFIX = "mp-"
PUSH_CHANNEL = "wechat"
APP_CHANNEL = "miniprogram"
KEY_CHARS = 24


def openid_key(appid: str, openid: str) -> str:
    """The stable, non-reversible name of an openid (the same on every log-in and every push)."""
    return hashlib.sha256(f"{appid}\n{openid}".encode()).hexdigest()[:KEY_CHARS]


def push_sender(key: str) -> str:
    """The conversation of the customer-service chat (客服消息) of this openid."""
    return f"{PUSH_PREFIX}{key}"


def app_sender(key: str) -> str:
    """The conversation of the mini-program's own chat page of this openid."""
    return f"{APP_PREFIX}{key}"


def binding_subject(key: str) -> str:
    """Who binds to an enterprise in ``appeals.bindings``: the openid, whichever path it uses."""
    return f"wechat:{key}"


def key_of_sender(sender: str) -> str | None:
    """The openid key behind a WeChat conversation's sender, ``None`` for other channels."""
    for prefix in (PUSH_PREFIX, APP_PREFIX):
        if sender.startswith(prefix) and len(sender) == len(prefix) + KEY_CHARS:
            return sender[len(prefix) :]
    return None


def _insert_ignoring_conflict(session: Session, table: object, values: dict[str, object], column: str) -> int:
    """Insert a row unless its unique ``column`` exists; returns how many rows were inserted (0 or 1)."""
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=[column])  # type: ignore[arg-type]
        return int(session.execute(statement).rowcount or 0)
    model = WeChatUser if table is WeChatUser.__table__ else WeChatPush
    found = session.execute(select(getattr(model, column)).where(getattr(model, column) == values[column]))
    if found.first() is not None:
        return 0
    session.execute(model.__table__.insert().values(**values))
    return 1


def ensure_user(session: Session, openid: str, key: str, now: datetime) -> None:
    """Remember the openid behind ``key`` (safe when two requests race)."""
    values: dict[str, object] = {
        "openid": openid,
        "key": key,
        "window_limit": 0,
        "window_sent": 0,
        "window_expires_at": None,
        "last_delivered_seq": 0,
        "fallback_seq": 0,
        "choices_from_seq": 0,
        "choices_to_seq": 0,
        "created_at": now,
        "updated_at": now,
    }
    _insert_ignoring_conflict(session, WeChatUser.__table__, values, "openid")


def openid_for_key(session: Session, key: str) -> str | None:
    """The openid behind a key, or ``None`` when it never reached this gateway."""
    return session.execute(select(WeChatUser.openid).where(WeChatUser.key == key)).scalar_one_or_none()


def remember_push(session: Session, dedupe_key: str, now: datetime) -> bool:
    """Record a push's dedupe key; ``False`` when it was seen before (a retry: do nothing)."""
    values: dict[str, object] = {"dedupe_key": dedupe_key[:200], "received_at": now}
    return _insert_ignoring_conflict(session, WeChatPush.__table__, values, "dedupe_key") == 1


def open_window(session: Session, key: str, limit: int, expires_at: datetime, now: datetime) -> None:
    """The user acted: ``limit`` ``custom/send`` messages until ``expires_at`` (quotas do not add up).

    A smaller allowance (entering the session) does not cut short a larger one still running.
    """
    user = session.execute(select(WeChatUser).where(WeChatUser.key == key)).scalar_one_or_none()
    if user is None:
        return
    running = user.window_expires_at is not None and user.window_expires_at > now
    if running and user.window_limit - user.window_sent >= limit and user.window_expires_at >= expires_at:
        return
    user.window_limit, user.window_sent, user.window_expires_at = limit, 0, expires_at
    user.updated_at = now
    session.flush()


@dataclass(frozen=True)
class DeliveryState:
    """What the deliverer needs about one openid: where to send, how many messages are left, and from where."""

    openid: str
    remaining: int
    last_delivered_seq: int
    fallback_seq: int
    choices: tuple[int, int]


def delivery_state(session: Session, key: str, now: datetime) -> DeliveryState | None:
    """The openid's send allowance at ``now``, the last frame delivered and the last one announced."""
    user = session.execute(select(WeChatUser).where(WeChatUser.key == key)).scalar_one_or_none()
    if user is None:
        return None
    live = user.window_expires_at is not None and user.window_expires_at > now
    remaining = max(0, user.window_limit - user.window_sent) if live else 0
    return DeliveryState(
        user.openid,
        remaining,
        user.last_delivered_seq,
        user.fallback_seq,
        (user.choices_from_seq, user.choices_to_seq),
    )


def record_delivery(
    session: Session,
    key: str,
    now: datetime,
    *,
    up_to_seq: int | None = None,
    sent: int = 0,
    choices: tuple[int, int] | None = None,
    fallback_seq: int | None = None,
) -> None:
    """Frames up to ``up_to_seq`` are delivered, ``sent`` messages of the window used, ``choices`` shown."""
    values: dict[str, object] = {"window_sent": WeChatUser.window_sent + sent, "updated_at": now}
    if up_to_seq is not None:
        values["last_delivered_seq"] = up_to_seq
    if choices is not None:
        values["choices_from_seq"], values["choices_to_seq"] = choices
    if fallback_seq is not None:
        values["fallback_seq"] = fallback_seq
    session.execute(
        update(WeChatUser)
        .where(WeChatUser.key == key)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def pending_keys(session: Session, limit: int = 200) -> list[str]:
    """Keys whose push conversation may hold frames not yet delivered (checked at start-up)."""
    rows = session.execute(
        select(WeChatUser.key)
        .join(Conversation, Conversation.sender == PUSH_PREFIX + WeChatUser.key)
        .where(Conversation.last_seq > WeChatUser.last_delivered_seq)
        .limit(limit)
    ).scalars()
    return list(rows)
