"""A SQL tracker store whose per-message cost does not grow with the conversation.

A WeChat user is one conversation for months. Rasa's SQLTrackerStore loads every
event of the current session for every message, and the policies and the action
server then walk all of them, so latency climbs with each message. This store
loads only the last ``max_events`` events of the session and, before them, the
state that older events had set (the latest value of every slot, the active form,
whether a butler paused the bot). The policies only look a few turns back, so
what they predict does not change; every event is still stored, and
``retrieve_full_tracker`` still returns the whole history for audit.

Per message it also does less work than the stock store. The events of the
conversations active lately stay in memory (``cache_size`` conversations) and are
reused while the database's newest event id for the sender is still the one this
store wrote last: one indexed query instead of loading, parsing and replaying, and
still correct when another replica or a restart wrote in between. Otherwise one
query instead of a count and a fetch, events turned back into objects through a
type table built once (Rasa looks each event's class up by walking every Event
subclass, every time), and on SQLite a pooled connection in WAL mode with
``synchronous=NORMAL`` (one fsync per checkpoint instead of per message) instead
of a new connection per query.

Use it in endpoints.yml::

    tracker_store:
      type: bot.tracker_store.BoundedSQLTrackerStore
      dialect: sqlite
      db: var/rasa_tracker.db
      max_events: 40
      cache_size: 500
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, Restarted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 40  # about six turns: the rules look back one or two
DEFAULT_CACHE_SIZE = 500  # conversations whose events stay in memory between messages
STATE_EVENT_TYPES = ("slot", "active_loop", "pause", "resume")
MAX_REMEMBERED_SENDERS = 10_000


class BoundedSQLTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        *args: Any,
        max_events: int | str = DEFAULT_MAX_EVENTS,
        cache_size: int | str = DEFAULT_CACHE_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_events = max(int(max_events), 10)
        self.cache_size = max(int(cache_size), 0)
        # sender -> how many events of the tracker handed out are already stored
        self._stored_counts: OrderedDict[str, int] = OrderedDict()
        # sender -> (id of the newest stored event, the session's events as last handed out and saved)
        self._recent: OrderedDict[str, tuple[int, list[Event]]] = OrderedDict()
        stock_engine: sa.engine.Engine = self.engine  # type: ignore[has-type]  # untyped in Rasa
        if stock_engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection per session (NullPool): keep them open.
            stock_engine.dispose()
            engine = sa.create_engine(
                stock_engine.url, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            self.engine = engine
            self.sessionmaker = sa.orm.sessionmaker(bind=engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker, bounded to the recent events plus the state they build on."""
        if self.domain is None:
            return None
        with self.session_scope() as session:
            cached = self._recent.get(sender_id)
            if cached is not None and self._newest_id(session, sender_id) == cached[0]:
                self._recent.move_to_end(sender_id)
                events = cached[1]
            else:
                self._recent.pop(sender_id, None)
                loaded = self._load(session, sender_id)
                if not loaded:
                    return None
                events = _deserialise(loaded)
        self._remember(sender_id, len(events))
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    def _newest_id(self, session: Any, sender_id: str) -> int | None:
        event = self.SQLEvent
        return session.query(sa.func.max(event.id)).filter(event.sender_id == sender_id).scalar()

    def _load(self, session: Any, sender_id: str) -> list[dict[str, Any]]:
        query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        newest_first = query.order_by(None).order_by(self.SQLEvent.id.desc()).limit(self.max_events).all()
        window = list(reversed(newest_first))
        if len(window) < self.max_events:
            return [json.loads(row.data) for row in window]
        return self._with_carried_state(query, window)

    def _with_carried_state(self, query: Any, window: list[Any]) -> list[dict[str, Any]]:
        event = self.SQLEvent
        older = query.filter(event.id < window[0].id)
        head = [json.loads(row.data) for row in older.limit(2).all()]  # action_session_start, session_started
        # The latest event per piece of state, found by the database: slots by name (stored in
        # action_name), pause and resume as one switch, the active form.
        kind = sa.case((event.type_name.in_(("pause", "resume")), sa.literal("pause")), else_=event.type_name)
        name = sa.case((event.type_name == "slot", event.action_name), else_=sa.literal(""))
        latest_ids = (
            older.order_by(None)
            .filter(event.type_name.in_(STATE_EVENT_TYPES))
            .with_entities(sa.func.max(event.id))
            .group_by(kind, name)
        )
        ids = [row[0] for row in latest_ids.all()]
        rows = query.session.query(event).filter(event.id.in_(ids)).order_by(event.id).all() if ids else []
        carried = [json.loads(row.data) for row in rows]
        log.debug("tracker.bounded window=%s carried=%s", len(window), len(carried))
        return head + carried + [json.loads(row.data) for row in window]

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        self._recent.pop(sender_id, None)  # a failed write must not leave a cache ahead of the database
        await super().save(tracker)
        self._remember(sender_id, len(tracker.events))
        events = self._session_events(list(tracker.events)) if self.cache_size else None
        if events is not None:
            with self.session_scope() as session:
                newest = self._newest_id(session, sender_id)
            if newest is not None:
                self._recent[sender_id] = (newest, events)
                while len(self._recent) > self.cache_size:
                    self._recent.popitem(last=False)

    def _session_events(self, events: list[Event]) -> list[Event] | None:
        """Exactly what loading from the database would give: the latest session, bounded the same way."""
        starts = [i for i, e in enumerate(events) if isinstance(e, SessionStarted)]
        session = events[starts[-1] :] if starts else events
        if any(isinstance(e, Restarted) for e in session):
            return None
        if len(session) < self.max_events:
            return session
        older, window = session[: -self.max_events], session[-self.max_events :]
        latest: dict[tuple[str, str], int] = {}
        for position, event in enumerate(older):
            if event.type_name in STATE_EVENT_TYPES:
                latest[_state_key(event.type_name, getattr(event, "key", None) or "")] = position
        return older[:2] + [older[i] for i in sorted(latest.values())] + window

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = self._stored_counts.get(tracker.sender_id)
        if stored is None or stored > len(tracker.events):
            return super()._additional_events(session, tracker)
        return iter(list(tracker.events)[stored:])

    def _remember(self, sender_id: str, count: int) -> None:
        self._stored_counts[sender_id] = count
        self._stored_counts.move_to_end(sender_id)
        while len(self._stored_counts) > MAX_REMEMBERED_SENDERS:
            self._stored_counts.popitem(last=False)


def _state_key(type_name: str, name: str) -> tuple[str, str]:
    """One piece of state: a slot by its name, pause and resume as one switch, the active form."""
    if type_name == "slot":
        return (type_name, name)
    return ("pause", "") if type_name in ("pause", "resume") else (type_name, "")


_event_types: dict[str, type[Event]] = {}


def _deserialise(serialised: list[dict[str, Any]]) -> list[Event]:
    """Rasa's ``deserialise_events`` without its per-event walk over every Event subclass."""
    if not _event_types:
        for cls in all_subclasses(Event):
            _event_types.setdefault(cls.type_name, cls)
    events = []
    for data in serialised:
        cls = _event_types.get(data.get("event", ""))
        event = cls._from_parameters(data) if cls is not None else Event.from_parameters(data)
        if event is not None:
            events.append(event)
    return events


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
