"""Escalate overdue tickets: ``butler tickets sweep`` and a periodic task in the server.

A deadline that passes unmet raises the ticket's escalation level (contact and
preliminary answer → the department head, resolution → 营商环境督办) and
writes an ``escalate`` event. Each deadline of a round is escalated once (the
``*_overdue`` flags), so running the sweep again, or from two processes, does
not pile up events; a re-open clears the flags with the new deadlines.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from appeals.clock import from_db, to_db
from appeals.deadlines import deadline_labels
from appeals.lifecycle import escalate_ticket
from appeals.models import Ticket
from appeals.queries import office_now, settings_or_default
from appeals.settings import AppealsSettings
from appeals.states import CONTACTED, IN_PROGRESS, SUBMITTED
from appeals.views import format_time
from storage.transaction import transaction

logger = logging.getLogger(__name__)

# deadline key -> (due column, done column, flag column, escalation level)
_CHECKS: tuple[tuple[str, str, str, str, int], ...] = (
    ("contact", "contact_due", "contacted_at", "contact_overdue", 1),
    ("answer", "answer_due", "answered_at", "answer_overdue", 1),
    ("resolve", "resolve_due", "resolved_at", "resolve_overdue", 2),
)


@dataclass(frozen=True)
class Escalation:
    """One deadline found overdue and escalated."""

    number: str
    deadline: str
    level: int
    note: str


@dataclass
class SweepReport:
    """What one sweep looked at and did."""

    checked: int = 0
    escalations: list[Escalation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return asdict(self)


def sweep(
    session: Session, *, now: datetime | None = None, settings: AppealsSettings | None = None
) -> SweepReport:
    """Escalate every newly overdue deadline of open tickets, in the caller's transaction."""
    cfg = settings_or_default(settings)
    stamp = to_db(office_now(now, cfg), cfg.tz)
    labels = deadline_labels(cfg)
    overdue = or_(
        *[
            and_(
                getattr(Ticket, done).is_(None),
                getattr(Ticket, due) < stamp,
                getattr(Ticket, flag).is_(False),
            )
            for _, due, done, flag, _ in _CHECKS
        ]
    )
    tickets = session.execute(
        select(Ticket)
        .where(Ticket.status.in_((SUBMITTED, CONTACTED, IN_PROGRESS)), overdue)
        .order_by(Ticket.id)
    ).scalars()
    report = SweepReport()
    for ticket in tickets:
        report.checked += 1
        for key, due, done, flag, level in _CHECKS:
            due_at = getattr(ticket, due)
            if getattr(ticket, done) is not None or due_at >= stamp or getattr(ticket, flag):
                continue
            setattr(ticket, flag, True)
            shown = from_db(due_at, cfg.tz)
            assert shown is not None
            why = f"{labels[key]}已超时（时限{format_time(shown)}）"
            escalate_ticket(session, ticket, level, why, stamp)
            report.escalations.append(Escalation(number=ticket.number, deadline=key, level=level, note=why))
    if report.escalations:
        logger.warning(
            "tickets.sweep escalated=%d tickets=%d",
            len(report.escalations),
            report.checked,
            extra={"event": "tickets.sweep", "escalated": len(report.escalations), "tickets": report.checked},
        )
    return report


def sweep_once(
    session_factory: sessionmaker, settings: AppealsSettings | None = None, now: datetime | None = None
) -> SweepReport:
    """One sweep in its own transaction; nothing is kept if it fails."""
    with transaction(session_factory) as session:
        return sweep(session, now=now, settings=settings)


async def run_sweeper(
    session_factory: sessionmaker, settings: AppealsSettings | None = None, interval: float | None = None
) -> None:
    """Sweep every ``interval`` seconds (default ``settings.sweep_interval``) until cancelled.

    A failed sweep is logged and retried at the next interval, so a database
    hiccup never stops the loop; the blocking work runs in a worker thread.
    """
    cfg = settings_or_default(settings)
    every = interval if interval is not None else cfg.sweep_interval
    logger.info("tickets.sweeper_started interval=%s", every, extra={"event": "tickets.sweeper_started"})
    while True:
        try:
            await asyncio.to_thread(sweep_once, session_factory, cfg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep the loop alive; the next sweep retries
            logger.error(
                "tickets.sweep_failed error=%s",  # no message: SQL errors carry parameters, phones among them
                type(exc).__name__,
                extra={"event": "tickets.sweep_failed", "error": type(exc).__name__},
            )
        await asyncio.sleep(every)


def main() -> int:
    """``python -m appeals.sweeper``: sweep every APPEALS_SWEEP_INTERVAL seconds until stopped."""
    import asyncio
    import contextlib
    import sys

    from appeals.settings import SettingsError, get_settings
    from storage.engine import make_engine, make_session_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"sweeper: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C under `make run` is the normal way to stop
        asyncio.run(run_sweeper(make_session_factory(make_engine(settings.database_url)), settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
