"""Database access from the event loop, and the web-chat tokens.

The domain packages are synchronous SQLAlchemy; each unit of work runs in one
transaction (``storage.transaction``) on a worker thread so a slow disk never stalls
the other WebSockets. Results are frozen dataclasses, safe to hand back to the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations import service as conversations
from gateway.models import ChatToken
from gateway.typedefs import CLOCK_KEY, SESSION_FACTORY_KEY
from storage.transaction import transaction

T = TypeVar("T")

WEB_CHANNEL = "web"


async def run_db(app: web.Application, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction on a worker thread; commits on success."""
    factory = app[SESSION_FACTORY_KEY]

    def unit() -> T:
        with transaction(factory) as session:
            return work(session)

    return await asyncio.to_thread(unit)


def now_utc(app: web.Application) -> datetime:
    """Now as aware UTC, from the app's clock (tests move it)."""
    return app[CLOCK_KEY]().astimezone(timezone.utc)


def naive(moment: datetime) -> datetime:
    """The naive-UTC form the tables store."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


# -- web-chat tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSession:
    """A conversation a client may use: who it is, and which conversation."""

    sender: str
    conversation_id: int


def hash_token(token: str) -> str:
    """SHA-256 hex of a token; the only form that is stored."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def open_web_session(session: Session, now: datetime) -> tuple[str, ChatSession]:
    """A new web visitor: a fresh random sender, its conversation (no enterprise) and a token."""
    token = secrets.token_urlsafe(32)  # 43 characters
    sender = f"web-{secrets.token_hex(12)}"
    conversation = conversations.get_or_open(session, sender, WEB_CHANNEL, None, now=naive(now))
    session.add(
        ChatToken(
            token_hash=hash_token(token),
            conversation_id=conversation.id,
            sender=sender,
            created_at=naive(now),
        )
    )
    session.flush()
    return token, ChatSession(sender=sender, conversation_id=conversation.id)


def session_for_token(session: Session, token: str, now: datetime) -> ChatSession | None:
    """The conversation a token opens, or ``None`` for an unknown or expired token."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(ChatToken).where(ChatToken.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if row is None or (row.expires_at is not None and row.expires_at <= naive(now)):
        return None
    return ChatSession(sender=row.sender, conversation_id=row.conversation_id)
