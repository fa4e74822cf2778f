"""The three 2110 deadlines of a ticket and their traffic lights.

Deadlines count working time on the office's calendar (``WorkCalendar``), whose
overrides come from the administrator-maintained ``holiday_override`` table, so
a newly published holiday schedule takes effect without a release. A light is
green while more than ``yellow_fraction`` of the working time is left, yellow
below that, red once the deadline has passed; a met deadline stays green (or
red if it was met late) so the history stays honest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.clock import from_db, local
from appeals.errors import InvalidInput
from appeals.models import HolidayOverride, Ticket
from appeals.settings import AppealsSettings
from appeals.tablefile import Table
from appeals.views import DeadlineView
from appeals.workcalendar import WorkCalendar

GREEN, YELLOW, RED = "green", "yellow", "red"
LIGHTS: tuple[str, ...] = (GREEN, YELLOW, RED)
DEADLINE_KEYS: tuple[str, ...] = ("contact", "answer", "resolve")

CALENDAR_HEADERS: tuple[str, ...] = ("日期", "是否工作日", "名称")
_TRUE = {"是", "上班", "工作日", "班", "1", "true", "yes", "y"}
_FALSE = {"否", "休息", "休息日", "节假日", "休", "0", "false", "no", "n"}


@dataclass(frozen=True)
class Deadlines:
    """The three due moments of one round, aware in the office's time zone."""

    contact_due: datetime
    answer_due: datetime
    resolve_due: datetime


def deadline_labels(settings: AppealsSettings) -> dict[str, str]:
    """How each deadline reads to a user, following the configured numbers."""
    return {
        "contact": f"{settings.contact_hours:g}个工作小时内联系企业",
        "answer": f"{settings.answer_days}个工作日内初步答复",
        "resolve": f"{settings.resolve_days}个工作日内办结",
    }


def load_calendar(session: Session, settings: AppealsSettings) -> WorkCalendar:
    """The office calendar with the administrator's overrides applied."""
    rows = session.execute(select(HolidayOverride.day, HolidayOverride.is_working_day)).all()
    return WorkCalendar(
        hours=settings.working_hours,
        overrides={day: bool(working) for day, working in rows},
        tz=settings.tz,
    )


def compute_deadlines(calendar: WorkCalendar, start: datetime, settings: AppealsSettings) -> Deadlines:
    """Deadlines for a round starting at ``start`` (filing or re-opening)."""
    return Deadlines(
        contact_due=calendar.add_working_hours(start, settings.contact_hours),
        answer_due=calendar.add_working_days(start, settings.answer_days),
        resolve_due=calendar.add_working_days(start, settings.resolve_days),
    )


def traffic_light(
    calendar: WorkCalendar,
    *,
    start: datetime,
    due: datetime,
    done_at: datetime | None,
    now: datetime,
    yellow_fraction: float,
) -> str:
    """green / yellow / red for one deadline, measured in working time."""
    if done_at is not None:
        return GREEN if done_at <= due else RED
    if now > due:
        return RED
    total = calendar.working_seconds_between(start, due)
    left = calendar.working_seconds_between(now, due)
    if total <= 0:  # a start after office hours on the due day: fall back to wall-clock time
        total, left = (due - start).total_seconds(), (due - now).total_seconds()
    if total <= 0:
        return YELLOW
    return YELLOW if left < yellow_fraction * total else GREEN


def light_label(light: str, done: bool) -> str:
    """Chinese wording for a light."""
    if done:
        return "按时完成" if light == GREEN else "超时完成"
    return {GREEN: "正常", YELLOW: "即将超时", RED: "已超时"}[light]


def deadline_views(
    calendar: WorkCalendar, ticket: Ticket, now: datetime, settings: AppealsSettings
) -> list[DeadlineView]:
    """The three deadlines of ``ticket``'s current round with their lights."""
    tz = settings.tz
    now_local = local(now, tz)
    start = from_db(ticket.deadline_start, tz)
    assert start is not None
    labels = deadline_labels(settings)
    views = []
    for key, due_value, done_value in (
        ("contact", ticket.contact_due, ticket.contacted_at),
        ("answer", ticket.answer_due, ticket.answered_at),
        ("resolve", ticket.resolve_due, ticket.resolved_at),
    ):
        due = from_db(due_value, tz)
        done = from_db(done_value, tz)
        assert due is not None
        light = traffic_light(
            calendar,
            start=start,
            due=due,
            done_at=done,
            now=now_local,
            yellow_fraction=settings.yellow_fraction,
        )
        views.append(
            DeadlineView(
                key=key,
                label=labels[key],
                due=due,
                done_at=done,
                light=light,
                light_label=light_label(light, done is not None),
            )
        )
    return views


def current_deadline(views: Iterable[DeadlineView], status: str) -> DeadlineView | None:
    """The first deadline not yet met, or ``None`` once the butler has reported it done."""
    if status in ("answered", "closed"):
        return None
    return next((view for view in views if view.done_at is None), None)


# -- the administrator's holiday table -------------------------------------------------


@dataclass(frozen=True)
class HolidayRow:
    """One parsed row of a holiday file."""

    day: date
    is_working_day: bool
    name: str


def parse_holidays(table: Table) -> tuple[list[HolidayRow], list[str]]:
    """Rows and row-level error messages; callers write nothing when errors is non-empty."""
    missing = [h for h in CALENDAR_HEADERS[:2] if h not in table.headers]
    if missing:
        return [], [f"缺少列：{'、'.join(missing)}（表头应为：{'、'.join(CALENDAR_HEADERS)}）"]
    rows: list[HolidayRow] = []
    errors: list[str] = []
    seen: dict[date, int] = {}
    for number, cells in table.rows:
        text = cells.get("日期", "")
        try:
            day = date.fromisoformat(text.replace("/", "-").replace(".", "-")[:10])
        except ValueError:
            errors.append(f"第{number}行「日期」：「{text}」不是日期，应写作 2026-10-01")
            continue
        flag = cells.get("是否工作日", "").strip().lower()
        if flag not in _TRUE | _FALSE:
            errors.append(f"第{number}行「是否工作日」：应填“是”（上班）或“否”（休息），不能是「{flag}」")
            continue
        if day in seen:
            errors.append(f"第{number}行「日期」：{day} 与第{seen[day]}行重复")
            continue
        seen[day] = number
        rows.append(HolidayRow(day=day, is_working_day=flag in _TRUE, name=cells.get("名称", "")[:50]))
    return rows, errors


def save_holidays(session: Session, rows: Iterable[HolidayRow]) -> int:
    """Insert or replace overrides; returns how many rows were written."""
    count = 0
    for row in rows:
        existing = session.get(HolidayOverride, row.day)
        if existing is None:
            session.add(HolidayOverride(day=row.day, is_working_day=row.is_working_day, name=row.name))
        else:
            existing.is_working_day = row.is_working_day
            existing.name = row.name
        count += 1
    session.flush()
    return count


def list_holidays(session: Session, year: int | None = None) -> list[HolidayRow]:
    """Overrides in date order, optionally for one year."""
    query = select(HolidayOverride).order_by(HolidayOverride.day)
    if year is not None:
        if not 1900 <= year <= 2999:
            raise InvalidInput(f"年份「{year}」不正确")
        query = query.where(
            HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31)
        )
    return [
        HolidayRow(day=row.day, is_working_day=row.is_working_day, name=row.name)
        for row in session.execute(query).scalars()
    ]
