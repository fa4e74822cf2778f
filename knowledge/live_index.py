"""The search index of the knowledge base as it is now, rebuilt when an administrator changes it.

Every import bumps ``knowledge_state.revision``. Readers check that number (at
most once per ``check_interval`` seconds) and rebuild the index when it moved,
so edits take effect in the running assistant without retraining or restarting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import GuideItem, KnowledgeState
from knowledge.search import GuideEntry, GuideIndex
from knowledge.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    revision: int
    index: GuideIndex
    guides: Mapping[str, GuideItem]


def read_revision(session: Session) -> int:
    state = session.get(KnowledgeState, 1)
    return int(state.revision) if state is not None else 0


def load_snapshot(session: Session, synonyms: SynonymTable) -> Snapshot:
    """Read every item once and index it."""
    revision = read_revision(session)
    items = list(session.execute(select(GuideItem).order_by(GuideItem.id)).scalars())
    for item in items:
        session.expunge(item)
    entries = [
        GuideEntry(
            id=item.id,
            name=item.name,
            aliases=tuple(item.aliases or ()),
            department=item.department or "",
            has_guide=bool(item.has_guide),
            bundled_items=tuple(item.bundled_items or ()),
        )
        for item in items
    ]
    return Snapshot(revision, GuideIndex(entries, synonyms), {item.id: item for item in items})


class LiveIndex:
    """Thread-safe holder of the current snapshot."""

    def __init__(
        self,
        session_factory: sessionmaker,
        synonyms_path: Path = DEFAULT_SYNONYMS_PATH,
        check_interval: float = 2.0,
    ) -> None:
        self._session_factory = session_factory
        self._synonyms_path = synonyms_path
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0

    def current(self) -> Snapshot:
        """The snapshot for the knowledge base's current revision."""
        now = time.monotonic()
        snapshot = self._snapshot
        if snapshot is not None and now - self._checked_at < self._check_interval:
            return snapshot
        with self._lock:
            with self._session_factory() as session:
                revision = read_revision(session)
                if self._snapshot is None or self._snapshot.revision != revision:
                    started = time.perf_counter()
                    self._snapshot = load_snapshot(session, SynonymTable.load(self._synonyms_path))
                    log.info(
                        "knowledge.index.rebuilt revision=%s items=%s seconds=%.2f",
                        self._snapshot.revision,
                        len(self._snapshot.index),
                        time.perf_counter() - started,
                    )
            self._checked_at = time.monotonic()
            return self._snapshot
