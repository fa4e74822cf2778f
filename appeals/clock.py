"""One rule for time: the database stores naive UTC, people see office-local time.

Naive UTC matches the rest of the project's tables and sorts the same on SQLite
and PostgreSQL; conversion happens only here so no module guesses a zone.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def utcnow() -> datetime:
    """Now as naive UTC, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_db(moment: datetime, tz: tzinfo) -> datetime:
    """Naive UTC for storage; a naive ``moment`` is taken as office-local time ``tz``."""
    aware = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
    return aware.astimezone(timezone.utc).replace(tzinfo=None)


def from_db(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """Aware office-local time from a stored naive UTC value."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(tz)


def local(moment: datetime, tz: tzinfo) -> datetime:
    """Aware office-local time from any input; naive input is already office-local."""
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
