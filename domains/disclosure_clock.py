"""The deadlines of disclosure requests: business days of a configured calendar, overdue flags.

ICANN's Registration Data Policy: a request is acknowledged within two business days and
answered within 30 calendar days; an urgent one is answered within 24 hours. A business day is
a day that is neither a weekend day nor a public holiday of the configured country (the
`holidays` package), counted in the configured time zone: the acknowledgement is due at the end
of the second business day after the day the request was received.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from domains.errors import FieldError, ValidationFailed
from domains.settings import DisclosureSettings


def aware_utc(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back naive UTC); refuse naive input elsewhere."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def require_aware(name: str, value: datetime) -> datetime:
    """`value` in UTC, or ValidationFailed naming `name` for a time without a zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(FieldError(name, "must be a time with its time zone (UTC)"))
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Deadlines:
    """When a request must be acknowledged and answered (aware UTC)."""

    acknowledge_by: datetime
    answer_by: datetime


class BusinessCalendar:
    """Business days: not a weekend day, not a public holiday of the country (and subdivision)."""

    def __init__(
        self,
        country: str,
        subdivision: str | None = None,
        weekend_days: tuple[int, ...] = (5, 6),
        time_zone: str = "UTC",
    ) -> None:
        try:
            self._holidays = holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise ValidationFailed(
                FieldError(
                    "disclosures.holiday_country",
                    f"{country!r} (subdivision {subdivision!r}) is not a calendar the holidays "
                    "package knows",
                )
            ) from None
        if not set(weekend_days) <= set(range(7)) or len(set(weekend_days)) > 6:
            raise ValidationFailed(
                FieldError("disclosures.weekend_days", "days of the week are 0 (Monday) to 6")
            )
        self.weekend_days = frozenset(weekend_days)
        self.zone = ZoneInfo(time_zone)

    @classmethod
    def from_settings(cls, settings: DisclosureSettings) -> BusinessCalendar:
        """The calendar the settings configure."""
        return cls(
            settings.holiday_country,
            settings.holiday_subdivision,
            tuple(settings.weekend_days),
            settings.time_zone,
        )

    def is_business_day(self, day: date) -> bool:
        """True when `day` is neither a weekend day nor a public holiday."""
        return day.weekday() not in self.weekend_days and day not in self._holidays

    def end_of_business_days(self, start: datetime, count: int) -> datetime:
        """The end (local midnight, as UTC) of the `count`-th business day after `start`'s day."""
        day = start.astimezone(self.zone).date()
        found = 0
        while found < count:
            day += timedelta(days=1)
            if self.is_business_day(day):
                found += 1
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        return midnight.astimezone(UTC)


class DisclosureClock:
    """The deadlines of requests under the settings' calendar and time limits."""

    def __init__(self, settings: DisclosureSettings) -> None:
        self.settings = settings

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """The configured business-day calendar (built on first use)."""
        return BusinessCalendar.from_settings(self.settings)

    def deadlines(self, received_at: datetime, urgent: bool) -> Deadlines:
        """The deadlines of a request received at `received_at`: an urgent one is answered
        within `urgent_answer_hours` (and acknowledged by then at the latest)."""
        received_at = require_aware("received_at", received_at)
        acknowledge = self.calendar.end_of_business_days(
            received_at, self.settings.acknowledge_business_days
        )
        if urgent:
            answer = received_at + timedelta(hours=self.settings.urgent_answer_hours)
            return Deadlines(min(acknowledge, answer), answer)
        return Deadlines(acknowledge, received_at + timedelta(days=self.settings.answer_days))


def overdue(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    """True when a step due at `due` is not done and the time has passed."""
    return due is not None and done is None and aware_utc(due) < now


def late(due: datetime | None, done: datetime | None) -> bool:
    """True when a step was done after it was due."""
    return due is not None and done is not None and aware_utc(done) > aware_utc(due)
