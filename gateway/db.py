"""Database access from the event loop, and the web-chat tokens.

The domain packages are synchronous SQLAlchemy; each unit of work runs in one
transaction (``storage.transaction``) on a worker thread so a slow disk never stalls
the other WebSockets. Results are frozen dataclasses, safe to hand back to the loop.

The two transactions of a chat turn (store the message, store the replies) are a few
short statements each, and handing them to a thread and back cost more than running
them (two thread wake-ups each, measured at 0.2–0.5 ms on a busy machine, against
about 0.3 ms of work). With SQLite in WAL mode and ``synchronous=NORMAL`` they run
on the loop itself, on a connection of their own that can neither wait nor sync:
its busy timeout is zero (when another writer holds the database it fails at once,
is rolled back, and the turn's transaction runs on a thread as before), a commit
does not sync the disk, and it never checkpoints the write-ahead log (a background
task does that on a thread, ``checkpoint_wal``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from conversations import service as conversations
from conversations.service import Executor
from gateway.models import ChatToken
from gateway.typedefs import CLOCK_KEY, SESSION_FACTORY_KEY
from storage.engine import make_engine
from storage.transaction import transaction

log = logging.getLogger(__name__)

T = TypeVar("T")

WEB_CHANNEL = "web"

# the loop's own SQLite connection for the chat turn's transactions (absent when they run on threads)
LOOP_SESSIONS_KEY = web.AppKey("loop_sessions", sessionmaker)


async def run_db(app: web.Application, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in one transaction on a worker thread; commits on success."""
    factory = app[SESSION_FACTORY_KEY]

    def unit() -> T:
        with transaction(factory) as session:
            return work(session)

    return await asyncio.to_thread(unit)


async def run_turn_db(app: web.Application, work: Callable[[Executor], T]) -> T:
    """``run_db`` for a chat turn's short transactions: on the loop's own connection when there is one.

    There ``work`` gets the Core connection, not an ORM session: the session's bookkeeping
    cost more than the turn's few statements (and on it ``conversations.rawsql`` runs the
    hot ones on the ``sqlite3`` cursor itself). A database error (the database busy with
    another writer, or anything else) rolls the attempt back and runs ``work`` again on a
    worker thread through ``run_db``, which waits for the lock and reports real failures as
    usual; ``work`` must only touch what it is given.
    """
    factory = app.get(LOOP_SESSIONS_KEY)
    if factory is not None:
        connection = _loop_connection(factory.kw["bind"])
        try:
            with connection.begin():
                return work(connection)
        except SQLAlchemyError as exc:
            log.debug("gateway.db.loop_fallback error=%s", type(exc).__name__)
            _LOOP_CONNECTIONS.pop(factory.kw["bind"], None)
            with contextlib.suppress(SQLAlchemyError):
                connection.invalidate()  # whatever state it is in, the next turn starts on a fresh one
                connection.close()
    return await run_db(app, work)


# the loop engine's one connection, kept checked out (a checkout per transaction cost more than its
# commit) until the engine is disposed
_LOOP_CONNECTIONS: dict[Engine, Connection] = {}


def _loop_connection(engine: Engine) -> Connection:
    connection = _LOOP_CONNECTIONS.get(engine)
    if connection is None or connection.closed:
        connection = engine.connect()
        _LOOP_CONNECTIONS[engine] = connection
    return connection


def loop_engine(database_url: str, synchronous: str) -> Engine | None:
    """The loop's connection for ``run_turn_db``, or ``None`` where it could stall the loop.

    Only a SQLite file with ``synchronous=NORMAL`` (a commit does not sync the disk); one
    connection (only the loop uses it, one transaction at a time), no busy wait, and no
    automatic checkpoint (``checkpoint_wal`` runs them on a thread).
    """
    if synchronous != "NORMAL" or not database_url.startswith("sqlite"):
        return None
    path = database_url.split("///", 1)[-1]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    engine = make_engine(
        database_url,
        synchronous=synchronous,
        poolclass=StaticPool,
        # every transaction on it ends in a commit or a rollback, and its one connection is closed
        # by ``dispose`` before ``run_turn_db`` lets go of it: nothing to roll back on return
        pool_reset_on_return=None,
        connect_args={"timeout": 0, "check_same_thread": False},
    )
    event.listen(engine, "connect", _never_wait)
    event.listen(engine, "engine_disposed", _forget_loop_connection)
    return engine


def _forget_loop_connection(engine: Engine) -> None:
    connection = _LOOP_CONNECTIONS.pop(engine, None)
    if connection is not None:
        with contextlib.suppress(SQLAlchemyError):
            connection.close()


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # after make_engine's 30 s: fail at once, retry on a thread
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def checkpoint_wal(engine: Engine) -> None:
    """Copy the write-ahead log into the database without blocking anyone (``PASSIVE``); on a thread."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


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
