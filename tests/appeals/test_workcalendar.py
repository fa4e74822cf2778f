"""2110 deadlines as an office would count them on the Chinese official calendar."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from appeals.workcalendar import WorkCalendar, WorkingHours

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


# -- the official calendar ----------------------------------------------------


def test_national_day_2026_holidays_and_adjusted_weekends(cal: WorkCalendar) -> None:
    # State Council 2026 arrangement as chinese_calendar 1.11 has it:
    # 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are 调休 working days.
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(date(2026, 9, 20))  # Sunday
    assert cal.is_working_day(date(2026, 10, 10))  # Saturday
    assert not cal.is_working_day(date(2026, 10, 11))  # ordinary Sunday
    assert cal.is_working_day(date(2026, 10, 8))
    # 中秋 2026 falls on Friday 09-25.
    assert not cal.is_working_day(date(2026, 9, 25))


def test_contact_deadline_spans_the_national_day_week(cal: WorkCalendar) -> None:
    # Wed 09-30 16:30: one hour left that day, the rest on Thu 10-08.
    assert cal.add_working_hours(at(2026, 9, 30, 16, 30), 2) == at(2026, 10, 8, 10, 0)


def test_one_working_day_before_national_day_is_due_after_it(cal: WorkCalendar) -> None:
    assert cal.add_working_days(at(2026, 9, 30, 10, 0), 1) == at(2026, 10, 8, 17, 30)


def test_ten_working_days_across_national_day_count_the_adjusted_saturday(cal: WorkCalendar) -> None:
    # Day 1..10: 10-08, 10-09, 10-10 (Sat, 调休), 10-12..10-16, 10-19, 10-20.
    assert cal.add_working_days(at(2026, 9, 30, 10, 0), 10) == at(2026, 10, 20, 17, 30)


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    # 春节 2026: 02-15..02-23 off; Saturdays 02-14 and 02-28 are working days.
    assert cal.is_working_day(date(2026, 2, 14))
    assert all(not cal.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert cal.is_working_day(date(2026, 2, 28))
    # Friday 02-13 16:00 + 2h: 1.5h on Friday, 0.5h on the working Saturday.
    assert cal.add_working_hours(at(2026, 2, 13, 16, 0), 2) == at(2026, 2, 14, 9, 30)
    # Saturday 02-14 17:00 + 1h: the rest falls on Tuesday 02-24 after the holiday.
    assert cal.add_working_hours(at(2026, 2, 14, 17, 0), 1) == at(2026, 2, 24, 9, 30)
    # Received during the holiday: day 1 is 02-24.
    assert cal.add_working_days(at(2026, 2, 18, 11, 0), 1) == at(2026, 2, 24, 17, 30)


# -- working hours --------------------------------------------------------------


def test_friday_afternoon_plus_two_hours_is_monday_morning(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(at(2026, 3, 6, 16, 30), 2) == at(2026, 3, 9, 10, 0)


def test_lunch_break_is_skipped(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(at(2026, 3, 3, 11, 0), 2) == at(2026, 3, 3, 14, 30)
    # Received during lunch: counting starts at 13:30.
    assert cal.add_working_hours(at(2026, 3, 3, 12, 20), 2) == at(2026, 3, 3, 15, 30)


def test_evening_appeal_starts_counting_next_morning(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(at(2026, 3, 3, 20, 0), 2) == at(2026, 3, 4, 11, 0)


def test_deadline_that_uses_up_the_day_is_the_end_of_the_day(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(at(2026, 3, 3, 15, 30), 2) == at(2026, 3, 3, 17, 30)


def test_fractional_hours(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(at(2026, 3, 3, 9, 0), 0.25) == at(2026, 3, 3, 9, 15)


def test_naive_input_is_local_time_and_utc_input_is_converted(cal: WorkCalendar) -> None:
    assert cal.add_working_hours(datetime(2026, 3, 3, 9, 0), 1) == at(2026, 3, 3, 10, 0)
    # 01:00 UTC is 09:00 in Beijing.
    result = cal.add_working_hours(datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc), 1)
    assert result == at(2026, 3, 3, 10, 0)
    assert result.utcoffset() == timedelta(hours=8)


def test_negative_hours_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 3, 3, 9), -1)


def test_next_working_moment(cal: WorkCalendar) -> None:
    assert cal.next_working_moment(at(2026, 3, 3, 10, 5)) == at(2026, 3, 3, 10, 5)
    assert cal.next_working_moment(at(2026, 3, 3, 12, 0)) == at(2026, 3, 3, 13, 30)
    assert cal.next_working_moment(at(2026, 3, 7, 10, 0)) == at(2026, 3, 9, 9, 0)  # Saturday
    assert cal.next_working_moment(at(2026, 10, 1, 8, 0)) == at(2026, 10, 8, 9, 0)


# -- working days ----------------------------------------------------------------


def test_one_working_day_rule(cal: WorkCalendar) -> None:
    # Received before the office opens: that day is day 1.
    assert cal.add_working_days(at(2026, 3, 3, 8, 0), 1) == at(2026, 3, 3, 17, 30)
    assert cal.add_working_days(at(2026, 3, 3, 9, 0), 1) == at(2026, 3, 3, 17, 30)
    # Received during or after working hours: the next working day is day 1.
    assert cal.add_working_days(at(2026, 3, 3, 10, 0), 1) == at(2026, 3, 4, 17, 30)
    assert cal.add_working_days(at(2026, 3, 3, 20, 0), 1) == at(2026, 3, 4, 17, 30)
    # Friday afternoon: due Monday.
    assert cal.add_working_days(at(2026, 3, 6, 15, 0), 1) == at(2026, 3, 9, 17, 30)


def test_one_working_day_is_never_less_than_a_full_working_day(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2, 0, 0)
    for step in range(0, 7 * 24 * 4):
        moment = start + timedelta(minutes=15 * step)
        deadline = cal.add_working_days(moment, 1)
        assert cal.working_seconds_between(moment, deadline) >= cal.hours.seconds_per_day


def test_zero_days_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 3, 3, 9), 0)


# -- years chinese_calendar does not know ---------------------------------------------


def test_deadline_into_2027_uses_weekend_rule_and_reports_it(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="appeals.workcalendar")
    # Day 1..10: 12-29, 12-30, 12-31, 2027-01-01 (Fri, a working day under the
    # weekend rule), 01-04..01-08, 01-11.
    deadline = cal.add_working_days(at(2026, 12, 28, 10, 0), 10)
    assert deadline == at(2027, 1, 11, 17, 30)
    assert cal.unknown_years_used == {2027}
    warnings = [r for r in caplog.records if "calendar.year_unknown" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == "calendar.year_unknown year=2027 fallback=weekend_rule"
    assert warnings[0].levelno == logging.WARNING
    assert getattr(warnings[0], "year", None) == 2027
    # Asking again does not repeat the warning.
    cal.add_working_days(at(2027, 3, 1, 10, 0), 10)
    assert len([r for r in caplog.records if "calendar.year_unknown" in r.getMessage()]) == 1


def test_known_years_do_not_report_anything(cal: WorkCalendar) -> None:
    cal.add_working_days(at(2026, 3, 3, 10, 0), 10)
    assert cal.unknown_years_used == set()


def test_override_new_year_2027_as_holiday_moves_deadline_by_one_day() -> None:
    cal = WorkCalendar(overrides={date(2027, 1, 1): False})
    assert not cal.is_working_day(date(2027, 1, 1))
    assert cal.add_working_days(at(2026, 12, 28, 10, 0), 10) == at(2027, 1, 12, 17, 30)


def test_override_wins_over_the_official_calendar() -> None:
    # An administrator marks an ordinary Saturday as a working day (调休上班)
    # and an ordinary Monday as a local holiday.
    cal = WorkCalendar(overrides={date(2026, 3, 7): True, date(2026, 3, 9): False})
    assert cal.is_working_day(date(2026, 3, 7))
    assert not cal.is_working_day(date(2026, 3, 9))
    assert cal.add_working_hours(at(2026, 3, 6, 17, 0), 1) == at(2026, 3, 7, 9, 30)
    assert cal.add_working_days(at(2026, 3, 6, 10, 0), 2) == at(2026, 3, 10, 17, 30)
    # Without the overrides the same hour lands on Monday.
    assert WorkCalendar().add_working_hours(at(2026, 3, 6, 17, 0), 1) == at(2026, 3, 9, 9, 30)


# -- custom hours ------------------------------------------------------------------


def test_custom_working_hours() -> None:
    hours = WorkingHours.from_spec("08:30-12:00,14:00-18:00")
    cal = WorkCalendar(hours=hours)
    assert hours.seconds_per_day == 7.5 * 3600
    assert cal.add_working_hours(at(2026, 3, 3, 11, 0), 2) == at(2026, 3, 3, 15, 0)
    assert cal.add_working_hours(at(2026, 3, 3, 17, 30), 1) == at(2026, 3, 4, 9, 0)
    assert cal.add_working_days(at(2026, 3, 3, 8, 0), 1) == at(2026, 3, 3, 18, 0)
    assert cal.next_working_moment(at(2026, 3, 3, 13, 0)) == at(2026, 3, 3, 14, 0)


def test_segments_can_be_given_as_a_list() -> None:
    hours = WorkingHours([(time(9, 0), time(12, 0)), (time(14, 0), time(17, 0))])  # type: ignore[arg-type]
    assert hours.segments == ((time(9, 0), time(12, 0)), (time(14, 0), time(17, 0)))
    assert hours == WorkingHours.from_spec(["9:00-12:00", "14:00-17:00"])


@pytest.mark.parametrize(
    "segments",
    [
        (),
        ((time(12, 0), time(9, 0)),),
        ((time(9, 0), time(12, 0)), (time(11, 0), time(17, 0))),
    ],
)
def test_invalid_working_hours_are_refused(segments: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(segments)


def test_default_hours() -> None:
    assert WorkingHours().segments == ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
    assert WorkingHours().seconds_per_day == 7 * 3600


# -- traffic lights -----------------------------------------------------------------


def test_working_seconds_between(cal: WorkCalendar) -> None:
    # A full working day, lunch excluded.
    assert cal.working_seconds_between(at(2026, 3, 3, 9, 0), at(2026, 3, 4, 9, 0)) == 7 * 3600
    assert cal.working_seconds_between(at(2026, 3, 3, 11, 0), at(2026, 3, 3, 14, 0)) == 1.5 * 3600
    # Friday 17:00 to Monday 10:00: half an hour plus an hour.
    assert cal.working_seconds_between(at(2026, 3, 6, 17, 0), at(2026, 3, 9, 10, 0)) == 1.5 * 3600
    # The whole national-day week contributes nothing.
    assert cal.working_seconds_between(at(2026, 10, 1, 0, 0), at(2026, 10, 8, 0, 0)) == 0
    # Overdue tickets get a negative value.
    assert cal.working_seconds_between(at(2026, 3, 3, 11, 0), at(2026, 3, 3, 10, 0)) == -3600


def test_share_of_time_left_for_a_two_hour_contact(cal: WorkCalendar) -> None:
    created = at(2026, 3, 3, 11, 0)
    deadline = cal.add_working_hours(created, 2)
    total = cal.working_seconds_between(created, deadline)
    assert total == 2 * 3600
    # At 13:30 one hour of two has passed, though 2.5 wall-clock hours went by.
    assert cal.working_seconds_between(at(2026, 3, 3, 13, 30), deadline) / total == 0.5


def test_working_seconds_between_inverts_add_working_hours(cal: WorkCalendar) -> None:
    start = at(2026, 9, 28, 7, 10)
    for quarter in range(0, 200):
        hours = quarter / 4
        end = cal.add_working_hours(start, hours)
        assert cal.working_seconds_between(start, end) == pytest.approx(hours * 3600)


# -- properties over many starts ---------------------------------------------------------


def _inside_working_time(cal: WorkCalendar, moment: datetime) -> bool:
    if not cal.is_working_day(moment.date()):
        return False
    return any(start <= moment.time() <= end for start, end in cal.hours.segments)


def test_results_always_fall_in_working_time_and_grow_with_hours(cal: WorkCalendar) -> None:
    # Starts every 47 minutes over the 2026 national-day period, including
    # nights, weekends, lunch breaks and the adjusted Saturday.
    start = at(2026, 9, 18, 0, 0)
    amounts = [0, 0.1, 0.5, 1, 2, 2.5, 3, 3.5, 7, 8, 14, 30, 70]
    for step in range(0, 30 * 24 * 60 // 47):
        moment = start + timedelta(minutes=47 * step)
        previous: datetime | None = None
        for hours in amounts:
            result = cal.add_working_hours(moment, hours)
            assert result.tzinfo is not None
            assert result >= moment
            assert _inside_working_time(cal, result), (moment, hours, result)
            if previous is not None:
                assert result > previous, (moment, hours)
            previous = result


def test_working_day_deadlines_are_end_of_a_working_day_and_grow_with_days(cal: WorkCalendar) -> None:
    start = at(2026, 12, 20, 0, 0)
    for step in range(0, 20 * 24 // 5):
        moment = start + timedelta(hours=5 * step)
        deadlines = [cal.add_working_days(moment, n) for n in range(1, 12)]
        for deadline in deadlines:
            assert cal.is_working_day(deadline.date())
            assert deadline.time() == time(17, 30)
        assert deadlines == sorted(set(deadlines))
