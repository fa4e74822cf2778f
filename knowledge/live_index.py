"""The search index of the knowledge base as it is now, rebuilt in the background when an administrator changes it.

Every import bumps ``knowledge_state.revision``. Readers check that number (at
most once per ``check_interval`` seconds); when it moved, one background thread
builds the new index while every reader keeps answering from the old snapshot
without waiting. The new snapshot replaces the old one in a single assignment,
so a reader sees one or the other, never a mix. A build that fails is logged and
leaves the old snapshot in place; the next check tries again. Only the very
first snapshot is built on the caller's thread, since there is nothing older to
answer from.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.dense import (
    DenseIndex,
    E5Embedder,
    Embedder,
    EmbeddingCache,
    passage_text,
    situation_lines,
)
from knowledge.meaning import FittedClassifiers
from knowledge.models import GuideItem, KnowledgeState
from knowledge.search import GuideEntry, GuideIndex, guide_text
from knowledge.settings import Settings
from knowledge.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable
from knowledge.text import normalize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    revision: int
    index: GuideIndex
    guides: Mapping[str, GuideItem]
    dense: DenseIndex | None = None  # None when KNOWLEDGE_DENSE=0


Builder = Callable[[Session], Snapshot]


def read_revision(session: Session) -> int:
    state = session.get(KnowledgeState, 1)
    return int(state.revision) if state is not None else 0


def entry_of(item: GuideItem) -> GuideEntry:
    """What the indexes need of an item; the guide's own text only for items with a full guide."""
    return GuideEntry(
        id=item.id,
        name=item.name,
        aliases=tuple(item.aliases or ()),
        department=item.department or "",
        has_guide=bool(item.has_guide),
        bundled_items=tuple(item.bundled_items or ()),
        level=item.level or "市",
        region=item.region or "",
        text=guide_text(item) if item.has_guide else "",
    )


def load_snapshot(
    session: Session,
    synonyms: SynonymTable,
    *,
    embedder: Embedder | None = None,
    cache: EmbeddingCache | None = None,
    classifiers: FittedClassifiers | None = None,
) -> Snapshot:
    """Read every item once and index it; with an embedder, also embed the full guides (cached)."""
    revision = read_revision(session)
    items = list(session.execute(select(GuideItem).order_by(GuideItem.id)).scalars())
    for item in items:
        session.expunge(item)
    entries = [entry_of(item) for item in items]
    dense = (
        DenseIndex(
            [(item.id, passage_text(item)) for item in items if item.has_guide],
            embedder,
            cache if cache is not None else EmbeddingCache(),
            [(item.id, line) for item in items if item.has_guide for line in situation_lines(item)],
            {item.id: normalize(item.name) for item in items if item.has_guide},
            classifiers,
        )
        if embedder is not None
        else None
    )
    return Snapshot(revision, GuideIndex(entries, synonyms), {item.id: item for item in items}, dense)


class LiveIndex:
    """Thread-safe holder of the current snapshot; rebuilds run on one background thread at a time."""

    def __init__(
        self,
        session_factory: sessionmaker,
        synonyms_path: Path = DEFAULT_SYNONYMS_PATH,
        check_interval: float = 2.0,
        *,
        settings: Settings | None = None,
        builder: Builder | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._synonyms_path = synonyms_path
        self._check_interval = check_interval
        settings = settings or Settings.from_env()
        self._embedder: Embedder | None = E5Embedder() if settings.dense else None
        self._cache = EmbeddingCache(settings.embedding_cache)  # shared by every rebuild of this process
        self._classifiers = FittedClassifiers()  # likewise: a rebuild that changed no vector reuses the fit
        self._builder = builder or self._build
        self._first_lock = threading.Lock()
        self._build_lock = threading.Lock()  # held by the one running build
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._worker: threading.Thread | None = None

    def current(self) -> Snapshot:
        """The newest snapshot built so far; never waits for a rebuild once the first one exists."""
        snapshot = self._snapshot
        if snapshot is None:
            return self._first()
        now = time.monotonic()
        if now - self._checked_at >= self._check_interval:
            self._checked_at = now
            self._check(snapshot)
        return self._snapshot or snapshot

    def wait_until_current(self, timeout: float = 60.0) -> Snapshot:
        """The snapshot of the knowledge base's revision now, waiting for its build; for tools and tests.

        Returns the newest snapshot there is when the timeout passes first (a failing build).
        """
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self._snapshot or self._first()
            worker = self._worker
            if worker is not None and worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
                if time.monotonic() < deadline:
                    continue  # look again at the snapshot it swapped in
            with self._session_factory() as session:
                fresh = read_revision(session) == snapshot.revision
            if fresh or time.monotonic() >= deadline:
                return snapshot
            self._check(snapshot)
            time.sleep(0.01)

    @property
    def classifier_fits(self) -> int:
        """How many times this process fitted the meaning classifier (a rebuild that changed no vector reuses it)."""
        return self._classifiers.fitted

    @property
    def building(self) -> bool:
        """True while a background rebuild is running."""
        return self._build_lock.locked()

    def _first(self) -> Snapshot:
        with self._first_lock:
            if self._snapshot is None:
                with self._session_factory() as session:
                    self._snapshot = self._timed_build(session)
                self._checked_at = time.monotonic()
            return self._snapshot

    def _check(self, snapshot: Snapshot) -> None:
        """Start a background rebuild when the knowledge base moved past the snapshot and none is running."""
        with self._session_factory() as session:
            revision = read_revision(session)
        if revision == snapshot.revision or not self._build_lock.acquire(blocking=False):
            return
        worker = threading.Thread(target=self._rebuild, name="knowledge-index-rebuild", daemon=True)
        self._worker = worker
        worker.start()

    def _rebuild(self) -> None:
        try:
            with self._session_factory() as session:
                fresh = self._timed_build(session)
            self._snapshot = fresh  # one reference assignment: readers see the old or the new snapshot
        except Exception:  # the old snapshot keeps answering; the next check tries again
            log.exception("knowledge.index.rebuild_failed")
        finally:
            self._build_lock.release()

    def _timed_build(self, session: Session) -> Snapshot:
        started = time.perf_counter()
        snapshot = self._builder(session)
        log.info(
            "knowledge.index.rebuilt revision=%s items=%s dense=%s seconds=%.2f",
            snapshot.revision,
            len(snapshot.index),
            len(snapshot.dense) if snapshot.dense is not None else "off",
            time.perf_counter() - started,
        )
        return snapshot

    def _build(self, session: Session) -> Snapshot:
        return load_snapshot(
            session,
            SynonymTable.load(self._synonyms_path),
            embedder=self._embedder,
            cache=self._cache,
            classifiers=self._classifiers,
        )
