"""Conversation use cases: store every turn once, and move the hand-off state safely.

Every function takes the caller's session and flushes, never commits. Two
rules keep concurrent callers (two butlers, a retried WebSocket frame) honest:

- a turn takes its ``seq`` by incrementing ``conversation.last_seq`` in one
  ``UPDATE``, which also locks the conversation row until the caller commits,
  so numbers have no gaps and no duplicates; a retried client message id is
  refused by the unique constraint (``INSERT … ON CONFLICT DO NOTHING``) and
  the number is given back;
- a state change is a compare-and-set on ``version`` (``UPDATE … WHERE
  version = :seen``): whoever loses re-reads and gets the honest answer
  (``AlreadyTaken``, or nothing to do for a double click).

Functions acting for a console user take an ``Actor`` and check the
conversation is in that actor's scope; outside it they raise
``ConversationNotFound`` so existence is not revealed.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, TypeAlias

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlalchemy.sql.selectable import Select

from appeals.clock import utcnow
from appeals.models import Assignment, Butler, Department, Enterprise
from conversations import rawsql
from conversations.errors import (
    AlreadyTaken,
    ConversationBusy,
    ConversationNotFound,
    InvalidInput,
    InvalidState,
    NotHolder,
)
from conversations.models import CannedReply, Conversation, ConversationMessage
from conversations.views import (
    Actor,
    ButlerChoice,
    CannedReplyPublic,
    ConversationPublic,
    ConversationScope,
    MessagePublic,
    scope_for,
)

logger = logging.getLogger(__name__)

MAX_TEXT = 4000  # characters in one stored turn; the chat protocol allows 2,000 from the enterprise
MAX_CLIENT_ID = 64
MAX_REASON = 200
LAST_MESSAGES = 3
REPLY_ROLES = ("bot", "system")
INBOX_STATES = ("waiting", "butler", "bot", "mine", "all")
_CAS_ATTEMPTS = 3

Values = dict[str, Any]
# the chat path's statements run on an ORM session or, cheaper, on a Core connection
Executor: TypeAlias = Session | Connection


# -- small helpers ----------------------------------------------------------------------


def _clean_text(text: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise InvalidInput("消息内容必须是文字")
    if not allow_empty and not text.strip():
        raise InvalidInput("消息内容不能为空")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"消息太长（最多{MAX_TEXT}个字）")
    return text


def _clean_client_id(client_message_id: str | None) -> str | None:
    if client_message_id is None or client_message_id == "":
        return None
    if not isinstance(client_message_id, str) or len(client_message_id) > MAX_CLIENT_ID:
        raise InvalidInput(f"消息编号无效（最多{MAX_CLIENT_ID}个字符）")
    return client_message_id


def _message_public(row: Any) -> MessagePublic:
    """A stored turn, from its ORM row or a Core row of the message table's columns."""
    return MessagePublic(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        role=row.role,
        text=row.text,
        custom=row.custom,
        buttons=row.buttons,
        client_message_id=row.client_message_id,
        author=row.author or "",
        created_at=row.created_at,
    )


def _by_sender(session: Session, sender: str) -> Conversation:
    conv = session.execute(
        select(Conversation).where(Conversation.sender == sender).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if conv is None:
        raise ConversationNotFound()
    return conv


def _reload(session: Session, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id, populate_existing=True)
    if conv is None:
        raise ConversationNotFound()
    return conv


def _public(session: Session, convs: Sequence[Conversation]) -> list[ConversationPublic]:
    """Conversations with their enterprise's name and last turns, in two queries."""
    if not convs:
        return []
    ids = [c.id for c in convs]
    names: dict[int, str] = {}
    enterprise_ids = {c.enterprise_id for c in convs if c.enterprise_id is not None}
    if enterprise_ids:
        names = dict(
            session.execute(
                select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(enterprise_ids))
            ).all()
        )
    last: dict[int, list[MessagePublic]] = {i: [] for i in ids}
    # seq has no gaps, so the last three frames are those above last_seq - 3 (plus notes among them)
    rows = session.execute(
        select(ConversationMessage)
        .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
        .where(
            ConversationMessage.conversation_id.in_(ids),
            ConversationMessage.seq > Conversation.last_seq - LAST_MESSAGES,
        )
        .order_by(ConversationMessage.conversation_id, ConversationMessage.seq, ConversationMessage.id)
    ).scalars()
    for row in rows:
        last[row.conversation_id].append(_message_public(row))
    return [
        ConversationPublic(
            id=c.id,
            sender=c.sender,
            channel=c.channel or "",
            state=c.state,
            enterprise_id=c.enterprise_id,
            enterprise_name=names.get(c.enterprise_id, "") if c.enterprise_id is not None else "",
            handoff_reason=c.handoff_reason or "",
            waiting_since=c.waiting_since,
            butler_id=c.butler_id,
            butler_name=c.butler_name or "",
            last_seq=c.last_seq,
            unanswered_streak=c.unanswered_streak,
            last_butler_activity_at=c.last_butler_activity_at,
            created_at=c.created_at,
            updated_at=c.updated_at,
            version=c.version,
            last_messages=last[c.id][-LAST_MESSAGES:],
        )
        for c in convs
    ]


def _one_public(session: Session, conv: Conversation) -> ConversationPublic:
    return _public(session, [conv])[0]


# -- scope ------------------------------------------------------------------------------


def scope_filter(scope: ConversationScope) -> ColumnElement[Any]:
    """A WHERE clause selecting the conversations ``scope`` may see."""
    if scope.everything:
        return true()
    if scope.is_empty:
        return false()
    clauses: list[ColumnElement[Any]] = [
        and_(Conversation.enterprise_id.is_(None), Conversation.state == "waiting")  # the duty queue
    ]
    if scope.butler_id is not None:
        assigned = select(Assignment.enterprise_id).where(
            or_(Assignment.butler_id == scope.butler_id, Assignment.backup_butler_id == scope.butler_id)
        )
        clauses.append(Conversation.butler_id == scope.butler_id)
        clauses.append(Conversation.enterprise_id.in_(assigned))
    if scope.department_id is not None:
        department_butlers = select(Butler.id).where(Butler.department_id == scope.department_id)
        department_enterprises = (
            select(Assignment.enterprise_id)
            .join(Butler, Butler.id == Assignment.butler_id)
            .where(Butler.department_id == scope.department_id)
        )
        clauses.append(Conversation.butler_id.in_(department_butlers))
        clauses.append(Conversation.enterprise_id.in_(department_enterprises))
    return or_(*clauses)


def in_scope(session: Session, conversation_id: int, scope: ConversationScope) -> bool:
    """Whether ``scope`` may see the conversation (the gateway filters live notifications with it)."""
    found = session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id, scope_filter(scope))
    ).scalar_one_or_none()
    return found is not None


def _in_scope_or_404(session: Session, conversation_id: int, scope: ConversationScope) -> Conversation:
    if not isinstance(conversation_id, int) or not in_scope(session, conversation_id, scope):
        raise ConversationNotFound()
    return _reload(session, conversation_id)


# -- compare-and-set on the conversation row ----------------------------------------------


def _compare_and_set(
    session: Session,
    conversation_id: int,
    decide: Callable[[Conversation], Values | None],
    now: datetime,
) -> Conversation:
    """Apply ``decide(current)``'s new values only if nobody changed the row since it was read.

    ``decide`` raises a ``ConversationError`` for a refused move and returns
    ``None`` when there is nothing to do (a double click). After a lost race it
    runs again on the fresh row, so the loser sees ``AlreadyTaken`` rather than
    a vague conflict.
    """
    for _ in range(_CAS_ATTEMPTS):
        conv = _reload(session, conversation_id)
        values = decide(conv)
        if values is None:
            return conv
        result = session.execute(
            update(Conversation)
            .where(Conversation.id == conv.id, Conversation.version == conv.version)
            .values(**values, version=Conversation.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return _reload(session, conversation_id)
        logger.info(
            "conversations.cas_retry conversation=%s",
            conversation_id,
            extra={"event": "conversations.cas_retry"},
        )
    raise ConversationBusy()


# -- appending turns ----------------------------------------------------------------------


class _Taken(NamedTuple):
    """The conversation row just after ``_take_seq`` incremented it (read under the row lock)."""

    id: int
    last_seq: int
    state: str
    enterprise_id: int | None
    unanswered_streak: int


class _Which(NamedTuple):
    """Which conversation a turn goes to: by ``sender`` (the chat path) or by ``id`` (the console)."""

    column: str
    value: int | str


# the statements of the chat path are built once (per shape) on the tables, so a turn pays neither
# SQLAlchemy's statement building and cache-key walk nor the ORM's result handling
_CONVERSATION = Conversation.__table__
_MESSAGE = ConversationMessage.__table__
_STREAK_VALUES = {
    "reset": literal_column("0"),
    "increment": _CONVERSATION.c.unanswered_streak + literal_column("1"),
}


@functools.cache
def _seq_update(column: str, client_id: bool, holder: bool, streak: str | None) -> Update:
    """``UPDATE conversation SET last_seq = last_seq + :count …`` for one shape of call.

    ``client_id`` adds the guard that the client message id is not stored yet; ``holder``
    the guard that the butler ``:butler_id`` still holds the conversation (and records
    their activity); ``streak`` resets or increments the unanswered streak.
    """
    c = _CONVERSATION.c
    stmt = update(_CONVERSATION).where(c[column] == bindparam("which"))
    if client_id:
        stmt = stmt.where(
            ~exists().where(
                _MESSAGE.c.conversation_id == c.id,
                _MESSAGE.c.client_message_id == bindparam("client_message_id"),
            )
        )
    values: Values = {
        "last_seq": c.last_seq + bindparam("count", type_=Integer),
        "version": c.version + literal_column("1"),
        "updated_at": bindparam("now", type_=c.updated_at.type),
    }
    if holder:
        stmt = stmt.where(c.state == literal_column("'butler'"), c.butler_id == bindparam("holder_id"))
        values["last_butler_activity_at"] = bindparam("now", type_=c.updated_at.type)
    if streak is not None:
        values["unanswered_streak"] = _STREAK_VALUES[streak]
    return stmt.values(values)


@functools.cache
def _seq_read(column: str) -> Select:
    """The numbers ``_seq_update`` just reserved, with the state the turn was stored in."""
    c = _CONVERSATION.c
    return select(c.id, c.last_seq, c.state, c.enterprise_id, c.unanswered_streak).where(
        c[column] == bindparam("which")
    )


_TAKEN_COLUMNS = ("id", "last_seq", "state", "enterprise_id", "unanswered_streak")


@functools.cache
def _seq_update_returning(
    dialect: str, column: str, client_id: bool, holder: bool, streak: str | None
) -> TextClause:
    """``_seq_update`` … ``RETURNING`` the ``_seq_read`` columns: one statement instead of two.

    Written as text because SQLAlchemy 1.4 renders ``RETURNING`` for PostgreSQL only, while
    SQLite has it since 3.35 (``_returning_dialect``); the binds keep the columns' types.
    """
    compiler = (sqlite.dialect if dialect == "sqlite" else postgresql.dialect)(paramstyle="named")
    compiled = _seq_update(column, client_id, holder, streak).compile(dialect=compiler)
    update_sql = str(compiled)
    c = _CONVERSATION.c
    binds = [bindparam("which", type_=c[column].type), bindparam("count", type_=Integer)]
    binds.append(bindparam("now", type_=c.updated_at.type))
    if client_id:
        binds.append(bindparam("client_message_id", type_=_MESSAGE.c.client_message_id.type))
    if holder:
        binds.append(bindparam("holder_id", type_=c.butler_id.type))
    # every constant in _seq_update is a literal, so the only binds are the ones named here
    assert set(compiled.binds) == {b.key for b in binds}, sorted(compiled.binds)
    return (
        text(f"{update_sql} RETURNING {', '.join(_TAKEN_COLUMNS)}")
        .bindparams(*binds)
        .columns(*(c[name] for name in _TAKEN_COLUMNS))
    )


def _dialect_name(session: Executor) -> str:
    """``sqlite``, ``postgresql``…: of the session's bind or of the connection."""
    return str((session.get_bind() if isinstance(session, Session) else session).dialect.name)


def _returning_dialect(session: Executor) -> str | None:
    """The dialect's name when its ``UPDATE`` can return the updated row, else ``None``."""
    name = _dialect_name(session)
    if name == "postgresql" or (name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)):
        return name
    return None


def _take_seq(
    session: Executor,
    which: _Which,
    now: datetime,
    *,
    count: int = 1,
    client_message_id: str | None = None,
    holder: int | None = None,
    streak: str | None = None,
) -> _Taken | None:
    """Reserve the next ``count`` frame numbers of the conversation ``which`` names.

    ``None`` when there is no such conversation or a guard fails (the client message id is
    already stored, the butler ``holder`` no longer holds it). The ``UPDATE`` locks the row
    until commit, so the numbers read back right after it are this transaction's own.
    """
    params: Values = {"which": which.value, "count": count, "now": now}
    if client_message_id is not None:
        params["client_message_id"] = client_message_id
    if holder is not None:
        params["holder_id"] = holder
    shape = (which.column, client_message_id is not None, holder is not None, streak)
    dialect = _returning_dialect(session)
    if dialect is not None:
        statement = _seq_update_returning(dialect, *shape)
        fast = rawsql.on_sqlite(session)
        if fast is not None:
            rows = rawsql.fetch_all(fast, statement, params)
            return _Taken(*rows[0]) if rows else None
        row = session.execute(statement, params).one_or_none()
        return None if row is None else _Taken(*row)
    if session.execute(_seq_update(*shape), params).rowcount != 1:
        return None
    return _Taken(*session.execute(_seq_read(which.column), {"which": which.value}).one())


def _give_back_seq(session: Executor, conversation_id: int, seq: int) -> None:
    """Undo ``_take_seq`` after a duplicate; safe because this transaction still holds the row."""
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.last_seq == seq)
        .values(last_seq=Conversation.last_seq - 1)
        .execution_options(synchronize_session=False)
    )


_MESSAGE_COLUMNS = (
    "conversation_id",
    "seq",
    "role",
    "text",
    "custom",
    "buttons",
    "client_message_id",
    "author",
    "created_at",
)
_INSERT_MESSAGE = _MESSAGE.insert()


@functools.cache
def _insert_text(dialect: str, or_skip: bool = True) -> TextClause:
    """``INSERT … ON CONFLICT (conversation_id, client_message_id) DO NOTHING`` for SQLite and PostgreSQL.

    Written as text because SQLAlchemy 1.4 cannot cache its ``on_conflict_do_nothing``
    construct and compiled it anew for every message; the binds take the columns' types.
    PostgreSQL returns the new id (SQLite's comes from ``lastrowid``). ``or_skip=False``
    is the plain insert (SQLite's raw path, ``rawsql``).
    """
    table = _MESSAGE
    names = ", ".join(_MESSAGE_COLUMNS)
    binds = ", ".join(f":{name}" for name in _MESSAGE_COLUMNS)
    returning = " RETURNING id" if dialect == "postgresql" else ""
    conflict = " ON CONFLICT (conversation_id, client_message_id) DO NOTHING" if or_skip else ""
    return text(f"INSERT INTO {table.name} ({names}) VALUES ({binds}){conflict}{returning}").bindparams(
        *(bindparam(name, type_=table.c[name].type) for name in _MESSAGE_COLUMNS)
    )


def _insert_message(session: Executor, values: Values) -> int | None:
    """Insert one turn and return its id; ``None`` when its client message id is already stored.

    The unique constraint decides (``ON CONFLICT DO NOTHING``), so two requests racing
    with the same client message id store it once.
    """
    or_skip = values["client_message_id"] is not None  # else nothing to conflict with: a plain insert
    fast = rawsql.on_sqlite(session)
    if fast is not None:
        cursor = rawsql.execute(fast, _insert_text("sqlite", or_skip), values)
        return int(cursor.lastrowid) if cursor.rowcount == 1 and cursor.lastrowid is not None else None
    if not or_skip:
        return int(session.execute(_INSERT_MESSAGE, values).inserted_primary_key[0])
    dialect = _dialect_name(session)
    if dialect == "postgresql":
        new_id = session.execute(_insert_text(dialect), values).scalar_one_or_none()
        return None if new_id is None else int(new_id)
    if dialect == "sqlite":
        result = session.execute(_insert_text(dialect), values)
        return int(result.lastrowid) if result.rowcount == 1 else None
    try:  # other databases: a savepoint around a plain insert
        with session.begin_nested():  # type: ignore[attr-defined]  # both a session and a connection have it
            inserted = session.execute(_INSERT_MESSAGE, values).inserted_primary_key
    except IntegrityError:
        return None
    return int(inserted[0])


class _Appended(NamedTuple):
    message: MessagePublic
    duplicate: bool
    state: str
    enterprise_id: int | None


@functools.cache
def _client_message_read(column: str) -> Select:
    """The stored turn with the client message id ``:client_message_id``, with its conversation's state."""
    c = _CONVERSATION.c
    return (
        select(
            *_MESSAGE.c, c.state.label("conversation_state"), c.enterprise_id.label("conversation_enterprise")
        )
        .join(_CONVERSATION, c.id == _MESSAGE.c.conversation_id)
        .where(
            c[column] == bindparam("which"), _MESSAGE.c.client_message_id == bindparam("client_message_id")
        )
    )


def _find_client_message(session: Executor, which: _Which, client_message_id: str) -> _Appended | None:
    """The stored turn with this client message id in the conversation ``which`` names, as a repeat."""
    row = session.execute(
        _client_message_read(which.column), {"which": which.value, "client_message_id": client_message_id}
    ).one_or_none()
    if row is None:
        return None
    return _Appended(_message_public(row), True, row.conversation_state, row.conversation_enterprise)


def _append(
    session: Executor,
    which: _Which,
    *,
    role: str,
    text: str,
    now: datetime,
    custom: dict[str, Any] | None = None,
    buttons: list[dict[str, Any]] | None = None,
    author: str = "",
    client_message_id: str | None = None,
    holder: int | None = None,
    on_refused: Callable[[], Exception] | None = None,
) -> _Appended:
    """Store one turn with the next ``seq``; a known client message id returns the stored one.

    Two statements in the common case (take the number with ``UPDATE … RETURNING``, insert;
    on a Core connection to SQLite both run on its ``sqlite3`` cursor, ``rawsql``): a known
    client message id fails the ``UPDATE``'s guard, so a retry neither takes a number nor
    touches the conversation; the unique constraint still catches a race the guard missed.
    ``holder``: only while this butler holds the conversation, else ``on_refused()``.
    """
    taken = _take_seq(session, which, now, client_message_id=client_message_id, holder=holder)
    if taken is None:
        if client_message_id is not None:
            found = _find_client_message(session, which, client_message_id)
            if found is not None:
                return found
        raise on_refused() if on_refused is not None else ConversationNotFound()
    values: Values = {
        "conversation_id": taken.id,
        "seq": taken.last_seq,
        "role": role,
        "text": text,
        "custom": custom,
        "buttons": buttons,
        "client_message_id": client_message_id,
        "author": author[:50],
        "created_at": now,
    }
    new_id = _insert_message(session, values)
    if new_id is None:  # another request stored the same client message first
        _give_back_seq(session, taken.id, taken.last_seq)
        assert client_message_id is not None
        found = _find_client_message(session, _Which("id", taken.id), client_message_id)
        if found is None:  # pragma: no cover - the conflict named a row that must exist
            raise ConversationBusy()
        return found
    message = MessagePublic(
        id=new_id, **{**values, "custom": _as_stored(custom), "buttons": _as_stored(buttons)}
    )
    return _Appended(message, False, taken.state, taken.enterprise_id)


def _as_stored(value: Any) -> Any:
    """What reading the JSON column back would give: the live frame equals the resumed one."""
    return None if value is None else json.loads(json.dumps(value))


# -- the enterprise's side ----------------------------------------------------------------


def get_or_open(
    session: Session,
    sender: str,
    channel: str,
    enterprise_id: int | None = None,
    *,
    now: datetime | None = None,
) -> ConversationPublic:
    """The sender's conversation, opened on first contact (safe when two requests race).

    ``enterprise_id`` must come from verified identity only; it binds the
    conversation to that enterprise (a later verified log-in may bind it, never unbind it).
    """
    if not isinstance(sender, str) or not sender or len(sender) > 128:
        raise InvalidInput("会话标识无效")
    moment = now or utcnow()
    values = {
        "sender": sender,
        "channel": channel[:30],
        "enterprise_id": enterprise_id,
        "state": "bot",
        "handoff_reason": "",
        "butler_name": "",
        "last_seq": 0,
        "unanswered_streak": 0,
        "created_at": moment,
        "updated_at": moment,
        "version": 1,
    }
    dialect = session.get_bind().dialect.name
    table = Conversation.__table__
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        session.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=["sender"]))
    elif session.execute(select(Conversation.id).where(Conversation.sender == sender)).first() is None:
        session.execute(table.insert().values(**values))
    conv = _by_sender(session, sender)
    if enterprise_id is not None and conv.enterprise_id != enterprise_id:
        conv = _compare_and_set(session, conv.id, lambda _c: {"enterprise_id": enterprise_id}, moment)
    return _one_public(session, conv)


def conversation_for_sender(session: Session, sender: str) -> ConversationPublic | None:
    """The sender's conversation, or ``None`` before the first contact."""
    try:
        return _one_public(session, _by_sender(session, sender))
    except ConversationNotFound:
        return None


@dataclass(frozen=True)
class EnterpriseTurn:
    """What storing one enterprise message found: the stored turn, and the conversation at that moment.

    ``state`` and ``enterprise_id`` are read under the same row lock that numbered the turn,
    so the caller routes the message (assistant or butler) without reading the conversation again.
    """

    message: MessagePublic
    duplicate: bool
    state: str
    enterprise_id: int | None


def record_enterprise_turn(
    session: Executor,
    sender: str,
    client_message_id: str | None,
    text: str,
    *,
    now: datetime | None = None,
) -> EnterpriseTurn:
    """Store what the enterprise typed (once per client message id) and return the conversation's state."""
    text = _clean_text(text)
    client_id = _clean_client_id(client_message_id)
    appended = _append(
        session,
        _Which("sender", sender),
        role="enterprise",
        text=text,
        now=now or utcnow(),
        client_message_id=client_id,
    )
    return EnterpriseTurn(*appended)


def record_enterprise_message(
    session: Session,
    sender: str,
    client_message_id: str | None,
    text: str,
    *,
    now: datetime | None = None,
) -> tuple[MessagePublic, bool]:
    """Store what the enterprise typed; ``(message, True)`` when this client id was already stored."""
    turn = record_enterprise_turn(session, sender, client_message_id, text, now=now)
    return turn.message, turn.duplicate


def record_reply(
    session: Session,
    sender: str,
    role: str,
    text: str,
    custom: dict[str, Any] | None = None,
    buttons: list[dict[str, Any]] | None = None,
    author: str = "",
    *,
    now: datetime | None = None,
) -> MessagePublic:
    """Store a frame the enterprise will receive from the assistant (``bot``) or the system (``system``)."""
    if role not in REPLY_ROLES:
        raise InvalidInput("回复角色无效")
    text = _clean_text(text or "", allow_empty=bool(custom or buttons))
    appended = _append(
        session,
        _Which("sender", sender),
        role=role,
        text=text,
        now=now or utcnow(),
        custom=custom,
        buttons=buttons,
        author=author,
    )
    return appended.message


@dataclass(frozen=True)
class ReplyDraft:
    """One frame to store with ``record_replies``: a ``bot`` or ``system`` turn."""

    role: str
    text: str
    custom: dict[str, Any] | None = None
    buttons: list[dict[str, Any]] | None = None


def record_replies(
    session: Executor,
    sender: str,
    drafts: Sequence[ReplyDraft],
    *,
    answered: bool | None = None,
    now: datetime | None = None,
) -> tuple[list[MessagePublic], int]:
    """Store the frames of one reply together, and count the assistant's unanswered streak with them.

    The same as ``record_reply`` for each draft followed by ``record_answer_outcome``
    (unless ``answered`` is ``None``), in one ``UPDATE`` of the conversation instead of
    one per frame: the turn costs two statements plus one insert per frame. Returns the
    stored frames in order and the streak after them.
    """
    if not drafts:
        raise InvalidInput("没有要保存的回复")
    cleaned = []
    for draft in drafts:
        if draft.role not in REPLY_ROLES:
            raise InvalidInput("回复角色无效")
        body = _clean_text(draft.text or "", allow_empty=bool(draft.custom or draft.buttons))
        cleaned.append((draft, body))
    moment = now or utcnow()
    streak = None if answered is None else ("reset" if answered else "increment")
    taken = _take_seq(session, _Which("sender", sender), moment, count=len(cleaned), streak=streak)
    if taken is None:
        raise ConversationNotFound()
    first_seq = taken.last_seq - len(cleaned) + 1
    stored = []
    for offset, (draft, body) in enumerate(cleaned):
        values: Values = {
            "conversation_id": taken.id,
            "seq": first_seq + offset,
            "role": draft.role,
            "text": body,
            "custom": draft.custom,
            "buttons": draft.buttons,
            "client_message_id": None,
            "author": "",
            "created_at": moment,
        }
        new_id = _insert_message(session, values)
        assert new_id is not None  # no client message id: nothing to conflict with
        stored.append(
            MessagePublic(
                id=new_id,
                **{**values, "custom": _as_stored(draft.custom), "buttons": _as_stored(draft.buttons)},
            )
        )
    return stored, taken.unanswered_streak


def messages_after(session: Executor, sender: str, after_seq: int, limit: int = 200) -> list[MessagePublic]:
    """Frames the enterprise has not seen (``seq > after_seq``), oldest first; internal notes never."""
    c = _CONVERSATION.c
    conv = session.execute(select(c.id).where(c.sender == sender)).scalar_one_or_none()
    if conv is None:
        return []
    m = _MESSAGE.c
    rows = session.execute(
        select(_MESSAGE)
        .where(m.conversation_id == conv, m.seq > max(int(after_seq), 0), m.role != "note")
        .order_by(m.seq)
        .limit(max(1, min(int(limit), 1000)))
    )
    return [_message_public(row) for row in rows]


def record_answer_outcome(session: Session, sender: str, answered: bool) -> int:
    """Count the assistant's unanswered turns in a row (reset by an answer); returns the streak.

    The gateway hands the conversation off when it reaches two.
    """
    which = Conversation.sender == sender
    streak = 0 if answered else Conversation.unanswered_streak + 1
    result = session.execute(
        update(Conversation)
        .where(which)
        .values(unanswered_streak=streak, version=Conversation.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConversationNotFound()
    return int(session.execute(select(Conversation.unanswered_streak).where(which)).scalar_one())


def request_handoff(
    session: Session, sender: str, reason: str, now: datetime | None = None
) -> ConversationPublic:
    """``bot`` → ``waiting``: the enterprise asked for a person, or the assistant gave up.

    Already waiting or held by a butler: unchanged (asking twice is not two requests).
    """
    moment = now or utcnow()
    conv = _by_sender(session, sender)
    reason = (reason or "").strip()[:MAX_REASON] or "企业请求人工服务"

    def decide(current: Conversation) -> Values | None:
        if current.state != "bot":
            return None
        return {"state": "waiting", "waiting_since": moment, "handoff_reason": reason, "unanswered_streak": 0}

    conv = _compare_and_set(session, conv.id, decide, moment)
    logger.info(
        "conversations.handoff_requested conversation=%s state=%s",
        conv.id,
        conv.state,
        extra={"event": "conversations.handoff_requested"},
    )
    return _one_public(session, conv)


def cancel_handoff(session: Session, sender: str, now: datetime | None = None) -> ConversationPublic:
    """``waiting`` → ``bot``: the enterprise no longer waits for a person. Refused once a butler is in."""
    moment = now or utcnow()
    conv = _by_sender(session, sender)

    def decide(current: Conversation) -> Values | None:
        if current.state == "bot":
            return None
        if current.state == "butler":
            raise InvalidState("管家已经接入，会话无法取消转人工")
        return {"state": "bot", "waiting_since": None, "handoff_reason": "", "unanswered_streak": 0}

    return _one_public(session, _compare_and_set(session, conv.id, decide, moment))


# -- the console's side -------------------------------------------------------------------


def _require_butler(actor: Actor) -> int:
    if actor.butler_id is None:
        raise InvalidInput("您的账号未关联企业管家，不能接管或接待会话")
    return actor.butler_id


def take_over(session: Session, conversation_id: int, butler: Actor, now: datetime) -> ConversationPublic:
    """``bot``/``waiting`` → ``butler`` held by ``butler``.

    A double click by the holder returns the conversation unchanged; another
    holder raises ``AlreadyTaken`` (heads and administrators move a held
    conversation only through ``transfer``).
    """
    scope = scope_for(butler)
    try:
        conv = _in_scope_or_404(session, conversation_id, scope)
    except ConversationNotFound:
        # a duty-queue conversation leaves the others' scope the moment one butler takes it;
        # whoever clicked a moment later deserves "already taken", not "does not exist"
        taken = session.execute(
            select(Conversation).where(
                Conversation.id == conversation_id,
                Conversation.enterprise_id.is_(None),
                Conversation.state == "butler",
            )
        ).scalar_one_or_none()
        if taken is not None and not scope.is_empty:
            raise AlreadyTaken(taken.butler_name or "") from None
        raise

    def decide(current: Conversation) -> Values | None:
        if current.state == "butler":
            if butler.butler_id is not None and current.butler_id == butler.butler_id:
                return None
            raise AlreadyTaken(current.butler_name or "")
        butler_id = _require_butler(butler)
        return {
            "state": "butler",
            "butler_id": butler_id,
            "butler_name": butler.name[:50],
            "waiting_since": None,
            "handoff_reason": current.handoff_reason or "管家主动接管",
            "last_butler_activity_at": now,
            "unanswered_streak": 0,
        }

    conv = _compare_and_set(session, conv.id, decide, now)
    logger.info(
        "conversations.taken_over conversation=%s butler=%s",
        conv.id,
        conv.butler_id,
        extra={"event": "conversations.taken_over"},
    )
    return _one_public(session, conv)


def send_butler_message(
    session: Session,
    conversation_id: int,
    butler: Actor,
    text: str,
    now: datetime,
    client_message_id: str | None = None,
) -> MessagePublic:
    """The holder's reply to the enterprise; anyone else gets ``NotHolder``.

    A retried send with the same ``client_message_id`` is stored once.
    """
    text = _clean_text(text)
    client_id = _clean_client_id(client_message_id)
    conv = _in_scope_or_404(session, conversation_id, scope_for(butler))
    if butler.butler_id is None or conv.state != "butler" or conv.butler_id != butler.butler_id:
        raise NotHolder()
    appended = _append(
        session,
        _Which("id", conv.id),
        role="butler",
        text=text,
        now=now,
        author=butler.name,
        client_message_id=client_id,
        # checked again under the row lock: a transfer may have committed since the read above
        holder=butler.butler_id,
        on_refused=NotHolder,
    )
    return appended.message


def add_note(session: Session, conversation_id: int, actor: Actor, text: str, now: datetime) -> MessagePublic:
    """An internal note in the transcript (for colleagues and heads); never sent to the enterprise.

    It carries the ``seq`` of the frame it follows, so the enterprise's frame numbers keep no gaps.
    """
    text = _clean_text(text)
    conv = _in_scope_or_404(session, conversation_id, scope_for(actor))
    # lock the row so the note is ordered after every frame committed before it
    session.execute(
        update(Conversation)
        .where(Conversation.id == conv.id)
        .values(version=Conversation.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    seq = session.execute(select(Conversation.last_seq).where(Conversation.id == conv.id)).scalar_one()
    note = ConversationMessage(
        conversation_id=conv.id, seq=seq, role="note", text=text, author=actor.label[:50], created_at=now
    )
    session.add(note)
    session.flush()
    return _message_public(note)


def hand_back(session: Session, conversation_id: int, butler: Actor, now: datetime) -> ConversationPublic:
    """``butler`` → ``bot`` by its holder (or the system's idle timer); ``waiting`` → ``bot`` by anyone in scope.

    The last holder stays recorded so they still find the conversation; a second click changes nothing.
    """
    conv = _in_scope_or_404(session, conversation_id, scope_for(butler))

    def decide(current: Conversation) -> Values | None:
        if current.state == "bot":
            return None
        if (
            current.state == "butler"
            and butler.role != "system"
            and (butler.butler_id is None or current.butler_id != butler.butler_id)
        ):
            raise NotHolder("只有接待该会话的管家可以交还给智能助手")
        return {"state": "bot", "waiting_since": None, "handoff_reason": "", "unanswered_streak": 0}

    conv = _compare_and_set(session, conv.id, decide, now)
    logger.info(
        "conversations.handed_back conversation=%s by=%s",
        conv.id,
        butler.role,
        extra={"event": "conversations.handed_back"},
    )
    return _one_public(session, conv)


def transfer(
    session: Session, conversation_id: int, from_actor: Actor, to_butler_id: int, now: datetime
) -> ConversationPublic:
    """Give a waiting or held conversation to another butler; the state is ``butler`` with the new holder.

    A held conversation may be transferred by its holder, a head or an
    administrator (within their scope); a waiting one by anyone who sees it.
    """
    conv = _in_scope_or_404(session, conversation_id, scope_for(from_actor))
    target = session.get(Butler, to_butler_id) if isinstance(to_butler_id, int) else None
    if target is None or not target.active:
        raise InvalidInput("要转交的管家不存在或已停用")

    def decide(current: Conversation) -> Values | None:
        if current.state == "bot":
            raise InvalidState("会话当前由智能助手接待，请先接管后再转交")
        if current.state == "butler":
            if current.butler_id == target.id:
                return None
            is_holder = from_actor.butler_id is not None and current.butler_id == from_actor.butler_id
            if not is_holder and from_actor.role not in ("head", "admin", "system"):
                raise NotHolder("只有接待该会话的管家或负责人可以转交")
        return {
            "state": "butler",
            "butler_id": target.id,
            "butler_name": target.name,
            "waiting_since": None,
            "handoff_reason": current.handoff_reason or "管家转交",
            "last_butler_activity_at": now,
        }

    conv = _compare_and_set(session, conv.id, decide, now)
    logger.info(
        "conversations.transferred conversation=%s to=%s",
        conv.id,
        target.id,
        extra={"event": "conversations.transferred"},
    )
    return _one_public(session, conv)


def idle_butler_conversations(session: Session, older_than: datetime) -> list[ConversationPublic]:
    """Held conversations whose butler has been silent since before ``older_than`` (naive UTC)."""
    last_activity = func.coalesce(Conversation.last_butler_activity_at, Conversation.updated_at)
    convs = (
        session.execute(
            select(Conversation)
            .where(Conversation.state == "butler", last_activity < older_than)
            .order_by(last_activity)
        )
        .scalars()
        .all()
    )
    return _public(session, convs)


def inbox(
    session: Session, scope: ConversationScope, state: str | None = None, limit: int = 200
) -> list[ConversationPublic]:
    """The console's list: waiting ones first, longest wait first, then the most recently active.

    ``state`` ``None`` lists those waiting for or held by a person; ``waiting``,
    ``butler`` or ``bot`` one state; ``mine`` those the scope's butler holds; ``all`` every state.
    """
    if state not in (None, *INBOX_STATES):
        raise InvalidInput("会话状态筛选无效（可选 waiting、butler、bot、mine、all）")
    stmt = select(Conversation).where(scope_filter(scope))
    if state is None:
        stmt = stmt.where(Conversation.state.in_(("waiting", "butler")))
    elif state == "mine":
        if scope.butler_id is None:
            return []
        stmt = stmt.where(Conversation.state == "butler", Conversation.butler_id == scope.butler_id)
    elif state != "all":
        stmt = stmt.where(Conversation.state == state)
    waiting_last = Conversation.state != "waiting"  # False (waiting) sorts first
    stmt = stmt.order_by(
        waiting_last, Conversation.waiting_since, Conversation.updated_at.desc(), Conversation.id.desc()
    ).limit(max(1, min(int(limit), 1000)))
    return _public(session, session.execute(stmt).scalars().all())


def get_conversation(session: Session, conversation_id: int, scope: ConversationScope) -> ConversationPublic:
    """One conversation in the caller's scope, else ``ConversationNotFound``."""
    return _one_public(session, _in_scope_or_404(session, conversation_id, scope))


def transcript(session: Session, conversation_id: int, scope: ConversationScope) -> list[MessagePublic]:
    """Every turn in order, bot, enterprise, butler, system and internal notes."""
    conv = _in_scope_or_404(session, conversation_id, scope)
    rows = session.execute(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conv.id)
        .order_by(ConversationMessage.seq, ConversationMessage.id)
    ).scalars()
    return [_message_public(row) for row in rows]


def canned_replies(session: Session) -> list[CannedReplyPublic]:
    """The active 常用语, in the administrator's order."""
    rows = session.execute(
        select(CannedReply).where(CannedReply.active.is_(True)).order_by(CannedReply.position, CannedReply.id)
    ).scalars()
    return [CannedReplyPublic(id=r.id, title=r.title, text=r.text) for r in rows]


def transfer_targets(session: Session) -> list[ButlerChoice]:
    """Active butlers a conversation can be transferred to, by department then name."""
    rows = session.execute(
        select(Butler.id, Butler.name, func.coalesce(Department.name, ""))
        .outerjoin(Department, Department.id == Butler.department_id)
        .where(Butler.active.is_(True))
        .order_by(func.coalesce(Department.name, ""), Butler.name, Butler.id)
    ).all()
    return [ButlerChoice(id=i, name=n, department=d) for i, n, d in rows]
