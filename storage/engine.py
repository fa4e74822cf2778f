"""Engines and sessions in SQLAlchemy 2.0 style (``future=True``) on SQLAlchemy 1.4."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

# SQLite's ``synchronous`` levels this project uses. NORMAL syncs the write-ahead log at
# checkpoints only (in WAL mode still never corrupt, and nothing is lost when a process
# crashes, only possibly the last commits on a power cut); FULL syncs it on every commit.
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")


def make_engine(
    url: str, *, synchronous: str = "FULL", keep_connections: bool = False, **kwargs: Any
) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so concurrent writers wait.

    ``synchronous`` is SQLite's durability pragma (``FULL`` unless a caller decided it can
    use ``NORMAL``; see ``SQLITE_SYNCHRONOUS``); other databases ignore it.
    ``keep_connections`` pools file SQLite connections: SQLAlchemy 1.4 otherwise opens a
    new connection (and runs the pragmas) for every transaction, which a long-running server
    pays on each request. Pooled connections keep the write-ahead log open until
    ``engine.dispose()``, so short-lived tools that copy database files leave it off.
    """
    level = synchronous.strip().upper()
    if level not in SQLITE_SYNCHRONOUS:
        raise ValueError(
            f"SQLite synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}, not {synchronous!r}"
        )
    sqlite = url.startswith("sqlite")
    if sqlite:
        path = url.split("///", 1)[-1]
        file_database = bool(path) and path != ":memory:" and not path.startswith("file:")
        if file_database:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        if keep_connections and file_database:
            kwargs.setdefault("poolclass", QueuePool)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, future=True, **kwargs)
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas(level))
    return engine


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        with contextlib.suppress(Exception):  # in-memory databases have no WAL; their default journal is fine
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # one of SQLITE_SYNCHRONOUS, checked above
        cursor.close()

    return on_connect


def make_session_factory(engine: Engine) -> sessionmaker:
    """One factory per process; callers own the session (``with factory.begin() as s``)."""
    return sessionmaker(engine, future=True, expire_on_commit=False, class_=Session)
