"""A SQL tracker store whose per-message cost does not grow with the conversation.

A WeChat user is one conversation for months. Rasa's SQLTrackerStore loads every
event of the current session for every message, and the policies and the action
server then walk all of them, so latency climbs with each message. This store
loads only the last ``max_events`` events of the session and, before them, the
state that older events had set (the latest value of every slot, the active form,
whether a butler paused the bot). The policies only look a few turns back, so
what they predict does not change; every event is still stored, and
``retrieve_full_tracker`` still returns the whole history for audit.

On SQLite it also turns on WAL with ``synchronous=NORMAL``: one fsync per
checkpoint instead of per message.

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
from rasa.shared.core.trackers import DialogueStateTracker

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
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker, bounded to the recent events plus the state they build on."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            total = query.count()
            if total == 0 or self.domain is None:
                return None
            if total <= self.max_events:
                events = [json.loads(row.data) for row in query.all()]
            else:
                events = self._bounded_events(query, total)
        self._remember(sender_id, len(events))
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _bounded_events(self, query: Any, total: int) -> list[dict[str, Any]]:
        window = list(
            reversed(query.order_by(None).order_by(self.SQLEvent.id.desc()).limit(self.max_events).all())
        )
        first_id = window[0].id
        older = query.filter(self.SQLEvent.id < first_id)
        head = [json.loads(row.data) for row in older.limit(2).all()]  # action_session_start, session_started
        latest: dict[tuple[str, str], Any] = {}
        state_rows = older.filter(self.SQLEvent.type_name.in_(STATE_EVENT_TYPES)).all()
        for row in state_rows:
            data = json.loads(row.data)
            kind = row.type_name
            key = (
                (kind, data.get("name", ""))
                if kind == "slot"
                else ("pause", "")
                if kind in ("pause", "resume")
                else (kind, "")
            )
            latest[key] = data
        carried = [data for _, data in sorted(latest.items(), key=lambda kv: kv[1].get("timestamp") or 0)]
        log.debug("tracker.bounded total=%s window=%s carried=%s", total, len(window), len(carried))
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
