"""Reading and writing the knowledge base tables.

Every function takes the session as a keyword and never commits: the caller owns the
transaction, so an import of many files is one all-or-nothing unit and a failure rolls
everything back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from knowledge.models import GuideItem, GuideRevision, KnowledgeState, UnansweredQuestion, utcnow
from knowledge.records import GuideRecord

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 100
_ID_CHUNK = 500  # stays under SQLite's bound-parameter limit
_STATE_ID = 1


@dataclass(frozen=True)
class ImportReport:
    """What an import did; ``kept`` counts name-only entries that did not overwrite a full guide
    (they are included in ``unchanged``)."""

    created: int
    updated: int
    unchanged: int
    kept: int
    revision: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _existing_items(session: Session, ids: Sequence[str]) -> dict[str, GuideItem]:
    items: dict[str, GuideItem] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _ID_CHUNK):
        chunk = unique[start : start + _ID_CHUNK]
        for item in session.execute(select(GuideItem).where(GuideItem.id.in_(chunk))).scalars():
            items[item.id] = item
    return items


def _columns(record: GuideRecord, source: str) -> dict[str, object]:
    """The record as guide_item column values (a date object for the Date column)."""
    values = record.to_dict()
    values["updated"] = record.updated
    values["source"] = record.source or source
    return values


def _bump_revision(session: Session, now: dt.datetime) -> int:
    """Increment in SQL, so two concurrent writers cannot both read N and write N+1."""
    result = session.execute(
        update(KnowledgeState)
        .where(KnowledgeState.id == _STATE_ID)
        .values(revision=KnowledgeState.revision + 1, changed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        session.add(KnowledgeState(id=_STATE_ID, revision=1, changed_at=now))
        session.flush()
    return knowledge_revision(session=session)


def import_records(
    *,
    session: Session,
    records: Sequence[GuideRecord],
    source: str,
    has_guide: bool = True,
    progress: Progress | None = None,
    revision_source: str | None = None,
) -> ImportReport:
    """Create or update items from validated records.

    An item whose content hash is unchanged is not written at all; a changed item gets
    version + 1 and a ``GuideRevision`` row. Name-only records (``has_guide=False``) never
    overwrite an item that has a full guide. ``knowledge_state.revision`` grows once per
    import that changed anything, which tells running assistants to reload. ``revision_source``
    names the change in the revision rows when it is not where the guide came from (a taught question).
    """
    existing = _existing_items(session, [r.id for r in records])
    created = updated = unchanged = kept = 0
    now = utcnow()
    total = len(records)
    for done, record in enumerate(records, start=1):
        digest = record.content_hash()
        values = _columns(record, source)
        item = existing.get(record.id)
        if item is None:
            item = GuideItem(
                **values, version=1, content_hash=digest, has_guide=has_guide, created_at=now, modified_at=now
            )
            session.add(item)
            existing[record.id] = item
            created += 1
        elif item.content_hash == digest or (item.has_guide and not has_guide):
            unchanged += 1
            kept += int(item.content_hash != digest)
            item = None
        else:
            for name, value in values.items():
                setattr(item, name, value)
            item.version += 1
            item.content_hash = digest
            item.has_guide = has_guide
            item.modified_at = now
            updated += 1
        if item is not None:  # created or changed: keep this version for audit
            session.add(
                GuideRevision(
                    guide_id=record.id,
                    version=item.version,
                    content={**record.to_dict(), "source": values["source"]},
                    content_hash=digest,
                    source=revision_source or str(values["source"]),
                    created_at=now,
                )
            )
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    session.flush()
    revision = _bump_revision(session, now) if created or updated else knowledge_revision(session=session)
    return ImportReport(created=created, updated=updated, unchanged=unchanged, kept=kept, revision=revision)


def get_guide(*, session: Session, guide_id: str) -> GuideItem | None:
    """One item by its id, or None."""
    return session.get(GuideItem, guide_id)


def list_guides(
    *,
    session: Session,
    has_guide: bool | None = None,
    item_type: str | None = None,
    department: str | None = None,
    name_contains: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[GuideItem]:
    """Items ordered by id, optionally filtered; ``has_guide=True`` leaves out name-only catalogue entries."""
    query = select(GuideItem).order_by(GuideItem.id)
    if has_guide is not None:
        query = query.where(GuideItem.has_guide.is_(has_guide))
    if item_type:
        query = query.where(GuideItem.item_type == item_type)
    if department:
        query = query.where(GuideItem.department == department)
    if name_contains:
        query = query.where(GuideItem.name.contains(name_contains, autoescape=True))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def list_revisions(*, session: Session, guide_id: str) -> list[GuideRevision]:
    """Every stored version of one item, oldest first."""
    query = select(GuideRevision).where(GuideRevision.guide_id == guide_id).order_by(GuideRevision.version)
    return list(session.execute(query).scalars())


def knowledge_revision(*, session: Session) -> int:
    """The counter that grows with every committed change; 0 for a knowledge base never imported into."""
    value = session.execute(select(KnowledgeState.revision).where(KnowledgeState.id == _STATE_ID)).scalar()
    return int(value or 0)


def log_unanswered(
    *,
    session: Session,
    text: str,
    sender_id: str = "",
    best_guess: str | None = None,
    confidence: str | float | None = None,
) -> UnansweredQuestion:
    """Record a question the assistant could not answer; values are cut to the column widths."""
    text = (text or "").strip()
    if not text:
        raise ValueError("问题内容为空，无需记录")
    if isinstance(confidence, float):
        confidence = f"{confidence:.2f}"
    question = UnansweredQuestion(
        text=text,
        sender_id=(sender_id or "")[:128],
        best_guess=(best_guess or "")[:200],
        confidence=(confidence or "")[:20],
        asked_at=utcnow(),
    )
    session.add(question)
    session.flush()
    return question


def list_unanswered(
    *, session: Session, since: dt.datetime | None = None, limit: int = 100
) -> list[UnansweredQuestion]:
    """Newest first; ``since`` (naive UTC, like the stored times) keeps only later questions."""
    query = select(UnansweredQuestion).order_by(
        UnansweredQuestion.asked_at.desc(), UnansweredQuestion.id.desc()
    )
    if since is not None:
        query = query.where(UnansweredQuestion.asked_at >= since)
    return list(session.execute(query.limit(limit)).scalars())
