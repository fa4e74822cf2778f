"""The chat turn's hot statements on a Core connection to SQLite, run on the DBAPI connection itself.

A chat turn is two short transactions of two statements each, on the gateway's critical
path (the message is stored before Rasa sees it, every reply before it is sent). SQLAlchemy's
execution machinery (execution context, result object, events) cost about twice what SQLite
itself took for them; here each statement is compiled once for the dialect, its parameters
go through the same bind processors SQLAlchemy applies (so a ``DateTime`` or a ``JSON`` value
is stored byte for byte as before), and it runs on the connection's own ``sqlite3`` cursor.

Only a ``Connection`` qualifies: an ORM ``Session`` may hold pending objects that its own
``execute`` would flush first. The transaction stays SQLAlchemy's (``connection.begin()``
commits or rolls back the same DBAPI connection), and a ``sqlite3`` error is raised as the
SQLAlchemy error it would have been, so callers catching ``IntegrityError`` or
``SQLAlchemyError`` see no difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement

_Compiled = tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]]
_compiled_cache: dict[tuple[int, int], tuple[ClauseElement, Dialect, _Compiled]] = {}


def on_sqlite(executor: Any) -> Connection | None:
    """``executor`` when it is a Core ``Connection`` to SQLite through ``sqlite3``, else ``None``."""
    if isinstance(executor, Connection) and executor.dialect.driver == "pysqlite":
        return executor
    return None


def execute(connection: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> sqlite3.Cursor:
    """Run ``statement`` with ``params`` as SQLAlchemy would have bound them (``connection`` from ``on_sqlite``)."""
    dialect = connection.dialect
    sql, names, processors = _compile(statement, dialect)
    args = tuple(
        params[name] if process is None else process(params[name])
        for name, process in zip(names, processors, strict=True)
    )
    try:
        return connection.connection.dbapi_connection.execute(sql, args)  # type: ignore[no-any-return,union-attr]
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, args, exc, sqlite3.Error, dialect=dialect) from exc


def fetch_all(
    connection: Connection, statement: ClauseElement, params: Mapping[str, Any]
) -> Sequence[tuple[Any, ...]]:
    """``execute`` and every row (the cursor is exhausted, so the statement is finished)."""
    cursor = execute(connection, statement, params)
    try:
        return cursor.fetchall()
    except sqlite3.Error as exc:
        raise DBAPIError.instance("", (), exc, sqlite3.Error, dialect=connection.dialect) from exc


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    """The SQL text, the parameter names in order and their bind processors, once per statement."""
    key = (id(statement), id(dialect))
    cached = _compiled_cache.get(key)
    if cached is not None and cached[0] is statement and cached[1] is dialect:
        return cached[2]
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    result = (str(compiled), names, processors)
    _compiled_cache[key] = (statement, dialect, result)  # keeps both alive, so the ids stay theirs
    return result
