"""Deadlines of disclosure requests: business days across weekends and public holidays of the
configured country, urgent against regular, overdue flags (fixed clocks, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domains.disclosure_clock import BusinessCalendar, DisclosureClock, late, overdue
from domains.errors import ValidationFailed
from domains.settings import DisclosureSettings
from tests.support.disclosures import GERMAN, WEDNESDAY


def berlin_midnight_after(year: int, month: int, day: int) -> datetime:
    """The end of a day in Berlin in winter (UTC+1), as UTC."""
    return datetime(year, month, day, 23, 0, tzinfo=UTC)


def test_a_regular_request_is_acknowledged_within_two_business_days_skipping_a_holiday() -> None:
    # Wednesday 23 December: Thursday 24 is a business day in Germany, Friday 25 and Saturday 26
    # are holidays, Sunday a weekend day: the second business day is Monday 28.
    deadlines = DisclosureClock(GERMAN).deadlines(WEDNESDAY, urgent=False)
    assert deadlines.acknowledge_by == berlin_midnight_after(2026, 12, 28)
    assert deadlines.answer_by == WEDNESDAY + timedelta(days=30)


def test_the_country_is_a_setting_england_also_keeps_boxing_day_on_monday() -> None:
    english = DisclosureSettings(holiday_country="GB", holiday_subdivision="ENG", time_zone="UTC")
    deadlines = DisclosureClock(english).deadlines(WEDNESDAY, urgent=False)
    # 24th a business day; 25th Christmas, 26th a Saturday (Boxing Day, kept on Monday 28th).
    assert deadlines.acknowledge_by == datetime(2026, 12, 30, 0, 0, tzinfo=UTC)


def test_a_request_on_friday_counts_monday_and_tuesday() -> None:
    friday = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    deadlines = DisclosureClock(GERMAN).deadlines(friday, urgent=False)
    assert deadlines.acknowledge_by == berlin_midnight_after(2026, 12, 1)


def test_a_request_on_a_weekend_counts_from_the_next_business_day() -> None:
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    deadlines = DisclosureClock(GERMAN).deadlines(saturday, urgent=False)
    assert deadlines.acknowledge_by == berlin_midnight_after(2026, 12, 1)


def test_the_weekend_days_are_a_setting() -> None:
    friday_saturday = GERMAN.model_copy(update={"weekend_days": [4, 5]})
    thursday = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    deadlines = DisclosureClock(friday_saturday).deadlines(thursday, urgent=False)
    # Friday and Saturday are off: Sunday 29 and Monday 30 are the two business days.
    assert deadlines.acknowledge_by == berlin_midnight_after(2026, 11, 30)


def test_an_urgent_request_is_answered_within_24_hours_and_acknowledged_by_then() -> None:
    deadlines = DisclosureClock(GERMAN).deadlines(WEDNESDAY, urgent=True)
    assert deadlines.answer_by == WEDNESDAY + timedelta(hours=24)
    assert deadlines.acknowledge_by == deadlines.answer_by


def test_a_time_without_a_zone_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        DisclosureClock(GERMAN).deadlines(datetime(2026, 12, 23, 10, 0), urgent=False)
    assert refused.value.for_field("received_at")


def test_a_calendar_the_holidays_package_does_not_know_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        BusinessCalendar("XX")
    assert refused.value.for_field("disclosures.holiday_country")


def test_overdue_and_late_flags() -> None:
    due = WEDNESDAY
    assert overdue(due, None, due + timedelta(seconds=1))
    assert not overdue(due, None, due)
    assert not overdue(due, due + timedelta(days=3), due + timedelta(days=4))
    assert late(due, due + timedelta(minutes=1))
    assert not late(due, due)
    assert not late(None, due)
