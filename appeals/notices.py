"""The outbox: what an enterprise must hear about its ticket, waiting for the gateway to deliver it.

Filing and the 2110 loop add a notice in the same transaction as the change it
announces (``add_notice``), so there is a notice exactly when the change was
committed, and a retried request that changes nothing adds none. The gateway
reads ``pending_notices``, delivers each on the enterprise's live channel and
calls ``mark_delivered``; a gateway that crashes in between delivers again,
which is why the ids are kept in order and the client de-duplicates by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from appeals.clock import to_db, utcnow
from appeals.models import AppealNotice, Ticket

KINDS: tuple[str, ...] = ("routed", "butler_reply", "answered", "reopened")


@dataclass(frozen=True)
class NoticePublic:
    """One message for the enterprise, as the gateway delivers it; ``created_at`` is aware UTC."""

    id: int
    kind: str  # routed | butler_reply | answered | reopened
    ticket_number: str
    sender_id: str  # the conversation that filed the ticket ("" when filed by a butler)
    enterprise_id: int
    text: str
    urgent: bool
    created_at: datetime


def add_notice(
    session: Session, ticket: Ticket, kind: str, text: str, stamp: datetime, *, urgent: bool = False
) -> AppealNotice:
    """Queue ``text`` for the ticket's enterprise in the caller's transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    notice = AppealNotice(
        kind=kind,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        sender_id=ticket.sender_id or "",
        enterprise_id=ticket.enterprise_id,
        text=text,
        urgent=urgent,
        created_at=stamp,
    )
    session.add(notice)
    session.flush()
    return notice


def _public(notice: AppealNotice) -> NoticePublic:
    return NoticePublic(
        id=notice.id,
        kind=notice.kind,
        ticket_number=notice.ticket_number,
        sender_id=notice.sender_id,
        enterprise_id=notice.enterprise_id,
        text=notice.text,
        urgent=notice.urgent,
        created_at=notice.created_at.replace(tzinfo=timezone.utc),
    )


def pending_notices(session: Session, after_id: int = 0, limit: int = 100) -> list[NoticePublic]:
    """Undelivered notices with an id above ``after_id``, oldest first."""
    rows = session.execute(
        select(AppealNotice)
        .where(AppealNotice.delivered_at.is_(None), AppealNotice.id > after_id)
        .order_by(AppealNotice.id)
        .limit(max(1, min(limit, 1000)))
    ).scalars()
    return [_public(notice) for notice in rows]


def mark_delivered(session: Session, ids: Iterable[int], now: datetime | None = None) -> int:
    """Record that these notices reached the enterprise; returns how many were still pending.

    ``now`` may be aware (converted) or naive UTC.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    result = session.execute(
        update(AppealNotice)
        .where(AppealNotice.id.in_(wanted), AppealNotice.delivered_at.is_(None))
        .values(delivered_at=utcnow() if now is None else to_db(now, timezone.utc))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
