"""A SQL tracker store whose per-message cost does not grow with the conversation.

A WeChat user is one conversation for months. Rasa's SQLTrackerStore loads every
event of the current session for every message, and the policies and the action
server then walk all of them, so latency climbs with each message. This store
loads only the last ``max_events`` events of the session and, before them, the
state that older events had set (the latest value of every slot, the active form,
whether a butler paused the bot). The policies only look a few turns back, so
what they predict does not change; every event is still stored, and
``retrieve_full_tracker`` still returns the whole history for audit.

Per message it also does less work than the stock store: one query instead of a
count and a fetch, events turned back into objects through a type table built once
(Rasa looks each event's class up by walking every Event subclass, every time), and
on SQLite a pooled connection in WAL mode with ``synchronous=NORMAL`` (one fsync per
checkpoint instead of per message) instead of a new connection per query.

Use it in endpoints.yml::

    tracker_store:
      type: bot.tracker_store.BoundedSQLTrackerStore
      dialect: sqlite
      db: var/rasa_tracker.db
      max_events: 60
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

log = logging.getLogger(__name__)

DEFAULT_MAX_EVENTS = 60
STATE_EVENT_TYPES = ("slot", "active_loop", "pause", "resume")
MAX_REMEMBERED_SENDERS = 10_000


class BoundedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, max_events: int | str = DEFAULT_MAX_EVENTS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_events = max(int(max_events), 10)
        # sender -> how many events of the tracker handed out are already stored
        self._stored_counts: OrderedDict[str, int] = OrderedDict()
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
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            newest_first = query.order_by(None).order_by(self.SQLEvent.id.desc()).limit(self.max_events).all()
            if not newest_first or self.domain is None:
                return None
            window = list(reversed(newest_first))
            if len(window) < self.max_events:
                events = [json.loads(row.data) for row in window]
            else:
                events = self._with_carried_state(query, window)
        self._remember(sender_id, len(events))
        return DialogueStateTracker.from_events(sender_id, _deserialise(events), self.domain.slots)

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
        await super().save(tracker)
        self._remember(tracker.sender_id, len(tracker.events))

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
