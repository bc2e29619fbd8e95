"""The monthly report of disclosure requests against a hand-made set of requests, and the
`interlink disclosures report|due` commands that print and write it."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domains.disclosure_models import DisclosureDecision, DisclosureRequest
from domains.disclosure_report import monthly_report
from domains.errors import ValidationFailed
from domains.store import Store
from domains.vocabulary import DisclosureGround as G
from domains.vocabulary import DisclosureOutcome as O
from domains.vocabulary import RequestorKind as K
from domains.vocabulary import StaffRole, UrgencyCategory
from tests.support.cli import on, one_error
from tests.support.staff import add_me

H = timedelta(hours=1)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def day(d: int, month: int = 11) -> datetime:
    return datetime(2026, month, d, 0, 0, tzinfo=UTC)


#: (kind, ground, urgency, received, hours to acknowledge (None: not yet), acknowledge due in
#: hours, hours to answer (None: undecided), answer due in hours, outcome)
HAND_MADE = [
    (K.LAW_ENFORCEMENT, G.LEGAL_PROCESS, None, day(2), 2, 48, 10, 720, O.DISCLOSED),
    (K.RIGHTS_HOLDER, G.HARM_OR_INTERFERENCE, None, day(10), 4, 48, 100, 720, O.DENIED),
    (
        K.SECURITY_RESEARCHER,
        G.HARM_OR_INTERFERENCE,
        UrgencyCategory.THREAT_TO_LIFE,
        day(20),
        6,
        24,
        30,  # answered after its 24 hours: late
        24,
        O.PARTLY_DISCLOSED,
    ),
    (K.LAW_ENFORCEMENT, G.LAW_REQUIRES, None, day(25), 60, 48, None, 720, None),  # late ack
    # Outside November: the last hour of October and the first instant of December.
    (K.OTHER, G.PROVIDE_SERVICE, None, day(31, 10) + 23 * H, 1, 48, 1, 720, O.DENIED),
    (K.OTHER, G.PROVIDE_SERVICE, None, day(1, 12), 1, 48, None, 720, None),
]


@pytest.fixture
def hand_made(store: Store) -> Store:
    with store.write() as session:
        for n, (kind, ground, urgency, received, ack, ack_due, answer, due, outcome) in enumerate(
            HAND_MADE
        ):
            row = DisclosureRequest(
                reference=f"DR-TEST{n}-00000",
                state="decided" if outcome else "acknowledged",
                channel="email",
                entered_by="staff:sam",
                requestor_name="Requestor",
                requestor_kind=kind,
                jurisdiction="DE",
                ground=ground,
                legal_basis="basis",
                urgency=urgency,
                received_at=received,
                acknowledged_at=received + ack * H,
                acknowledge_due_at=received + ack_due * H,
                answer_due_at=received + due * H,
                decided_at=received + answer * H if answer is not None else None,
            )
            session.add(row)
            session.flush()
            if outcome:
                session.add(
                    DisclosureDecision(
                        request_id=row.id or 0,
                        outcome=outcome,
                        explanation="why",
                        decided_by="staff:pia",
                        decided_at=received + (answer or 0) * H,
                    )
                )
    return store


def test_the_figures_of_a_hand_made_month(hand_made: Store) -> None:
    report = monthly_report(hand_made, "2026-11", now=NOW)
    assert report.received == 4
    assert report.by_requestor_kind == {
        "law enforcement": 2,
        "legal representative": 0,
        "rights holder": 1,
        "security researcher": 1,
        "other": 0,
    }
    assert report.by_ground["harm or interference with rights or property"] == 2
    assert report.by_ground["valid legal process"] == 1
    assert report.by_ground["required by law"] == 1
    assert report.by_ground["to provide the service"] == 0
    assert report.by_urgency["regular"] == 3 and report.by_urgency["imminent threat to life"] == 1
    assert report.by_outcome == {
        "disclosed": 1,
        "partly disclosed": 1,
        "denied": 1,
        "pending": 1,
    }
    # Acknowledged after 2, 4, 6 and 60 hours; answered after 10, 30 and 100 hours.
    assert (report.acknowledge.count, report.acknowledge.median_hours) == (4, 5.0)
    assert report.acknowledge.p90_hours == 43.8  # 6 + 0.7 * (60 - 6)
    assert (report.answer.count, report.answer.median_hours, report.answer.p90_hours) == (
        3,
        30.0,
        86.0,  # 30 + 0.8 * (100 - 30)
    )
    assert (report.acknowledged_late, report.answered_late) == (1, 1)


def test_an_open_request_past_its_deadline_counts_as_late(hand_made: Store) -> None:
    much_later = day(25) + 721 * H  # the pending request's 30 days are over
    assert monthly_report(hand_made, "2026-11", now=much_later).answered_late == 2


def test_a_month_that_is_not_one_is_refused_naming_the_field(store: Store) -> None:
    with pytest.raises(ValidationFailed) as refused:
        monthly_report(store, "November")
    assert refused.value.for_field("month")


def test_the_command_prints_and_writes_csv_and_json(hand_made: Store, tmp_path: Path) -> None:
    add_me(hand_made, StaffRole.SUPPORT)
    result = on(hand_made, "disclosures", "report", "--month", "2026-11", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "security researcher" in result.stdout
    written = json.loads((tmp_path / "disclosures-2026-11.json").read_text())
    assert written["received"] == 4 and written["answered_late"] == 1
    assert written["time_to_answer"]["median_hours"] == 30.0
    with (tmp_path / "disclosures-2026-11.csv").open() as handle:
        rows = {(r["section"], r["item"]): r["value"] for r in csv.DictReader(handle)}
    assert rows[("outcome", "pending")] == "1"
    assert rows[("time to acknowledge", "90th percentile hours")] == "43.80"


def test_the_due_command_lists_open_requests_and_flags_overdue(hand_made: Store) -> None:
    add_me(hand_made, StaffRole.SUPPORT)
    early = on(hand_made, "disclosures", "due", "--at", "2026-12-02T00:00:00")
    assert early.exit_code == 0, early.output
    lines = [line for line in early.stdout.splitlines() if "DR-TEST" in line]
    # The two open ones, the one due first on top (answers due 25 and 31 December).
    assert [line.split()[1] for line in lines] == ["DR-TEST3-00000", "DR-TEST5-00000"]
    assert not any("OVERDUE" in line for line in lines)
    late = on(hand_made, "disclosures", "due", "--at", "2026-12-28T00:00:00")
    lines = [line for line in late.stdout.splitlines() if "DR-TEST" in line]
    assert ["OVERDUE" in line for line in lines] == [True, False]


def test_the_commands_need_a_member_of_staff(hand_made: Store) -> None:
    add_me(hand_made, StaffRole.ADMIN)
    error = one_error(on(hand_made, "disclosures", "due"))
    assert "may not enter disclosure requests" in error
