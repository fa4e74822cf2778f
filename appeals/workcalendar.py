"""Working-time arithmetic for the "2110" appeal deadlines.

Appeal deadlines (contact within 2 working hours, preliminary answer within 1
working day, resolution within 10 working days) are counted on the Chinese
official calendar, including adjusted working weekends (调休). The State Council
publishes each year's holidays only in late autumn, and the ``chinese_calendar``
package only knows the years it shipped with, so:

* an administrator-maintained override table wins over ``chinese_calendar``;
* for a year neither knows, Monday-Friday are working days, and the calendar
  records and logs it once, so the gap is visible instead of silently wrong.

All arithmetic is done in wall-clock time of the office's time zone; results
are time-zone aware in that zone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from itertools import islice

import chinese_calendar

__all__ = ["DEFAULT_TZ", "WorkCalendar", "WorkingHours"]

logger = logging.getLogger(__name__)


def _default_tz() -> tzinfo:
    """Asia/Shanghai, or a fixed UTC+8 where the host has no tz database.

    Slim on-premises images often lack tzdata; China has had no daylight saving
    since 1991, so a fixed offset gives the same answers for appeal dates.
    """
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Shanghai")
    except Exception:  # zoneinfo raises ZoneInfoNotFoundError or OSError variants
        return timezone(timedelta(hours=8), "Asia/Shanghai")


DEFAULT_TZ = _default_tz()

Segment = tuple[time, time]


def _parse_hhmm(text: str) -> time:
    hour, _, minute = text.strip().partition(":")
    return time(int(hour), int(minute or 0))


@dataclass(frozen=True)
class WorkingHours:
    """The office's daily working segments, e.g. 09:00-12:00 and 13:30-17:30.

    Configurable because cities set their own hours (and some change them in
    summer); only time inside a segment counts towards a deadline.
    """

    segments: tuple[Segment, ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

    def __post_init__(self) -> None:
        segments = tuple((start, end) for start, end in self.segments)
        if not segments:
            raise ValueError("working hours need at least one segment")
        previous_end: time | None = None
        for start, end in segments:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working-hour segments are local wall-clock times without tzinfo")
            if not start < end:
                raise ValueError(f"segment {start}-{end} must start before it ends")
            if previous_end is not None and start < previous_end:
                raise ValueError("segments must be in order and must not overlap")
            previous_end = end
        # Accept lists from configuration but keep the frozen value hashable.
        object.__setattr__(self, "segments", segments)

    @classmethod
    def from_spec(cls, spec: str | Sequence[str]) -> WorkingHours:
        """Build from configuration text such as ``"09:00-12:00,13:30-17:30"``."""
        parts = spec.split(",") if isinstance(spec, str) else list(spec)
        segments = []
        for part in parts:
            start, sep, end = part.partition("-")
            if not sep:
                raise ValueError(f"working-hour segment {part!r} should look like 09:00-12:00")
            segments.append((_parse_hhmm(start), _parse_hhmm(end)))
        return cls(tuple(segments))

    @property
    def seconds_per_day(self) -> float:
        """Working seconds in one full working day."""
        day = date(2000, 1, 1)
        return sum(
            (datetime.combine(day, end) - datetime.combine(day, start)).total_seconds()
            for start, end in self.segments
        )


class WorkCalendar:
    """Working days and working hours of one office, for deadline arithmetic."""

    def __init__(
        self,
        *,
        hours: WorkingHours | None = None,
        overrides: Mapping[date, bool] | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.hours = hours if hours is not None else WorkingHours()
        self.tz = tz if tz is not None else DEFAULT_TZ
        self.overrides: dict[date, bool] = {}
        for day, working in (overrides or {}).items():
            # A datetime key would never equal the date we look up.
            key = day.date() if isinstance(day, datetime) else day
            self.overrides[key] = bool(working)
        self.unknown_years_used: set[int] = set()

    # -- days -------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Override table first, then the official calendar, then Mon-Fri."""
        if isinstance(d, datetime):
            d = d.date()
        if d in self.overrides:
            return self.overrides[d]
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            self._note_unknown_year(d.year)
            return d.weekday() < 5

    def _note_unknown_year(self, year: int) -> None:
        if year in self.unknown_years_used:
            return
        self.unknown_years_used.add(year)
        logger.warning(
            "calendar.year_unknown year=%d fallback=weekend_rule",
            year,
            extra={"event": "calendar.year_unknown", "year": year, "fallback": "weekend_rule"},
        )

    def _working_days_from(self, day: date) -> Iterator[date]:
        """Working days on or after ``day``, in order."""
        while True:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    # -- moments ----------------------------------------------------------

    def localize(self, dt: datetime) -> datetime:
        """Aware datetime in the office's zone; naive input is taken as local time."""
        if dt.tzinfo is None or dt.utcoffset() is None:
            return dt.replace(tzinfo=self.tz)
        return dt.astimezone(self.tz)

    def _segments_on(self, day: date) -> list[tuple[datetime, datetime]]:
        return [
            (datetime.combine(day, start, tzinfo=self.tz), datetime.combine(day, end, tzinfo=self.tz))
            for start, end in self.hours.segments
        ]

    def _segments_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working segments of working days that end after ``moment``, clipped to start at it."""
        for day in self._working_days_from(moment.date()):
            for start, end in self._segments_on(day):
                if end <= moment:
                    continue
                yield max(start, moment), end

    def is_working_moment(self, dt: datetime) -> bool:
        """True if ``dt`` lies in a working segment (start inclusive, end exclusive)."""
        moment = self.localize(dt)
        if not self.is_working_day(moment.date()):
            return False
        return any(start <= moment < end for start, end in self._segments_on(moment.date()))

    def next_working_moment(self, dt: datetime) -> datetime:
        """``dt`` itself if the office is working then, else the next segment start.

        A moment exactly at a segment's end has no working time left in it, so
        the next segment's start is returned.
        """
        start, _ = next(self._segments_from(self.localize(dt)))
        return start

    # -- arithmetic -------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start`` (the 2-hour contact limit).

        Only time inside working segments of working days counts; a start
        outside working time begins at the next segment start. A result that
        uses up a segment exactly is that segment's end (e.g. 17:30), not the
        next morning.
        """
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        moment = self.localize(start)
        if not remaining:
            return self.next_working_moment(moment)
        for seg_start, seg_end in self._segments_from(moment):
            available = seg_end - seg_start
            if remaining <= available:
                return seg_start + remaining
            remaining -= available
        raise AssertionError("unreachable: the working-day sequence is infinite")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Deadline for "within ``days`` working days" (1个工作日 / 10个工作日).

        Rule: day 1 is the first working day whose working time has not begun
        at ``start``, i.e. the start day itself if ``start`` is at or before its
        first segment start, otherwise the next working day. The deadline is
        the end of the last working segment of working day ``days``. This
        follows 民法典 第二百零一条 (the partial day of the start is not
        counted) and always gives at least ``days`` full working days; an
        appeal received Monday 10:00 with 1 working day is due Tuesday 17:30.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        moment = self.localize(start)
        first_start = datetime.combine(moment.date(), self.hours.segments[0][0], tzinfo=self.tz)
        day = moment.date() if moment <= first_start else moment.date() + timedelta(days=1)
        last_day = next(islice(self._working_days_from(day), days - 1, None))
        return datetime.combine(last_day, self.hours.segments[-1][1], tzinfo=self.tz)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds from ``a`` to ``b``; negative if ``b`` is before ``a``.

        Used for traffic lights: the share of working time left is
        ``working_seconds_between(now, deadline) / working_seconds_between(created,
        deadline)``, and a negative value is how far past the deadline a ticket is.
        """
        lo, hi = self.localize(a), self.localize(b)
        if hi < lo:
            return -self.working_seconds_between(hi, lo)
        total = 0.0
        day = lo.date()
        while day <= hi.date():
            if self.is_working_day(day):
                for seg_start, seg_end in self._segments_on(day):
                    overlap = min(seg_end, hi) - max(seg_start, lo)
                    if overlap > timedelta(0):
                        total += overlap.total_seconds()
            day += timedelta(days=1)
        return total
