"""The monthly report of disclosure requests: the figures ICANN publishes for RDRS.

Requests received in the month (UTC), counted by requestor kind, ground, urgency and outcome
(an undecided request counts as "pending"); the median and 90th percentile of the hours to
acknowledge and to answer; and how many were acknowledged or answered late (or are overdue at
the report's time). Percentiles are the standard library's (`statistics.quantiles`, inclusive
method). No requestor or customer is named.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from domains.disclosure_clock import aware_utc, late, overdue
from domains.disclosure_models import DisclosureDecision, DisclosureRequest
from domains.errors import FieldError, ValidationFailed
from domains.store_sessions import StoreSessions
from domains.vocabulary import (
    REGULAR,
    DisclosureGround,
    DisclosureOutcome,
    RequestorKind,
    UrgencyCategory,
)

PENDING = "pending"


@dataclass(frozen=True)
class Timing:
    """Hours from receipt to a step: how many, the median and the 90th percentile."""

    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class MonthlyReport:
    """The month's figures."""

    month: str
    received: int
    by_requestor_kind: dict[str, int]
    by_ground: dict[str, int]
    by_urgency: dict[str, int]
    by_outcome: dict[str, int]
    acknowledge: Timing
    answer: Timing
    acknowledged_late: int
    answered_late: int

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "month": self.month,
            "received": self.received,
            "by_requestor_kind": self.by_requestor_kind,
            "by_ground": self.by_ground,
            "by_urgency": self.by_urgency,
            "by_outcome": self.by_outcome,
            "time_to_acknowledge": self.acknowledge.__dict__,
            "time_to_answer": self.answer.__dict__,
            "acknowledged_late": self.acknowledged_late,
            "answered_late": self.answered_late,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, item, value) rows: what the CSV holds and the command prints."""
        out: list[tuple[str, str, str]] = [("requests", "received", str(self.received))]
        for section, counts in (
            ("requestor kind", self.by_requestor_kind),
            ("ground", self.by_ground),
            ("urgency", self.by_urgency),
            ("outcome", self.by_outcome),
        ):
            out += [(section, item, str(n)) for item, n in counts.items()]
        for section, timing in (("acknowledge", self.acknowledge), ("answer", self.answer)):
            out += [
                (f"time to {section}", "count", str(timing.count)),
                (f"time to {section}", "median hours", _hours(timing.median_hours)),
                (f"time to {section}", "90th percentile hours", _hours(timing.p90_hours)),
            ]
        out += [
            ("late", "acknowledged late", str(self.acknowledged_late)),
            ("late", "answered late", str(self.answered_late)),
        ]
        return out

    def csv(self) -> str:
        """The rows as CSV with a header line."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("section", "item", "value"))
        writer.writerows(self.rows())
        return buffer.getvalue()


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of the month YYYY-MM (UTC) and of the next one."""
    try:
        start = datetime.strptime(month.strip(), "%Y-%m").replace(tzinfo=UTC)
    except (ValueError, AttributeError):
        raise ValidationFailed(
            FieldError("month", f"{month!r} is not a month as YYYY-MM")
        ) from None
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, end


def timing(hours: list[float]) -> Timing:
    """The count, median and 90th percentile of durations in hours."""
    if not hours:
        return Timing(0, None, None)
    if len(hours) == 1:
        return Timing(1, round(hours[0], 2), round(hours[0], 2))
    p90 = statistics.quantiles(hours, n=10, method="inclusive")[8]
    return Timing(len(hours), round(statistics.median(hours), 2), round(p90, 2))


def _hours_between(start: datetime, end: datetime) -> float:
    return (aware_utc(end) - aware_utc(start)).total_seconds() / 3600


def monthly_report(
    store: StoreSessions, month: str, *, now: datetime | None = None
) -> MonthlyReport:
    """The figures of the requests received in `month` (YYYY-MM), as known at `now`."""
    start, end = month_bounds(month)
    now = now or datetime.now(UTC)
    with store.read() as session:
        rows = session.execute(
            select(DisclosureRequest, DisclosureDecision)
            .outerjoin(
                DisclosureDecision,
                col(DisclosureDecision.request_id) == col(DisclosureRequest.id),
            )
            .where(
                col(DisclosureRequest.received_at) >= start,
                col(DisclosureRequest.received_at) < end,
            )
        ).all()
    kinds: Counter[str] = Counter({k.value: 0 for k in RequestorKind})
    grounds: Counter[str] = Counter({g.value: 0 for g in DisclosureGround})
    urgencies: Counter[str] = Counter({REGULAR: 0, **{u.value: 0 for u in UrgencyCategory}})
    outcomes: Counter[str] = Counter({**{o.value: 0 for o in DisclosureOutcome}, PENDING: 0})
    to_acknowledge, to_answer = [], []
    ack_late = answer_late = 0
    for request, decision in rows:
        kinds[request.requestor_kind] += 1
        grounds[request.ground] += 1
        urgencies[request.urgency or REGULAR] += 1
        outcomes[decision.outcome if decision else PENDING] += 1
        received = request.received_at
        if request.acknowledged_at is not None:
            to_acknowledge.append(_hours_between(received, request.acknowledged_at))
        if request.decided_at is not None:
            to_answer.append(_hours_between(received, request.decided_at))
        ack_due, answer_due = request.acknowledge_due_at, request.answer_due_at
        if late(ack_due, request.acknowledged_at) or overdue(ack_due, request.acknowledged_at, now):
            ack_late += 1
        if late(answer_due, request.decided_at) or overdue(answer_due, request.decided_at, now):
            answer_late += 1
    return MonthlyReport(
        month=f"{start:%Y-%m}",
        received=len(rows),
        by_requestor_kind=dict(kinds),
        by_ground=dict(grounds),
        by_urgency=dict(urgencies),
        by_outcome=dict(outcomes),
        acknowledge=timing(to_acknowledge),
        answer=timing(to_answer),
        acknowledged_late=ack_late,
        answered_late=answer_late,
    )
