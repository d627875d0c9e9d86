"""Seats, the waitlist, clashes and certification validity, as plain rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cadre.chassis.errors import DomainError
from cadre.training.domain import certification as certs
from cadre.training.domain import session as rules
from cadre.training.domain.course import Course, CourseSpec, Delivery
from cadre.training.domain.schedule import Activity, BookedMeeting, Leave, Shift, WorkingTime, check_clashes

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = datetime(2026, 3, 4, tzinfo=UTC)
COURSE = Course(
    "c",
    CourseSpec("BILL-1", "Billing", "billing", 3, 60, 70, 12, (), (), Delivery.VIRTUAL, ()),
    NOW,
)


def _session(capacity: int = 2) -> rules.Session:
    spec = rules.SessionSpec(
        (rules.Meeting(DAY + timedelta(hours=9), DAY + timedelta(hours=10)),), "t", "", "link", capacity, 0
    )
    return rules.Session("s", "c", spec, rules.SessionState.SCHEDULED, NOW)


def _fill(session: rules.Session, count: int) -> list[rules.Enrollment]:
    holding: list[rules.Enrollment] = []
    for index in range(count):
        holding.append(
            rules.place(
                enrollment_id=f"e{index}",
                session=session,
                employee_id=f"p{index}",
                enrolled_by="x",
                holding=holding,
                now=NOW + timedelta(seconds=index),
            )
        )
    return holding


def test_seats_then_the_waitlist_in_arrival_order() -> None:
    holding = _fill(_session(), 4)
    assert [e.state for e in holding] == [rules.EnrollmentState.ENROLLED] * 2 + [
        rules.EnrollmentState.WAITLISTED
    ] * 2
    assert rules.waitlist_positions(holding) == {"e2": 1, "e3": 2}


def test_one_freed_seat_promotes_the_first_waiting_only() -> None:
    session = _session()
    holding = _fill(session, 4)
    holding[0] = rules.withdraw(holding[0], session, now=NOW)
    promoted = rules.promotions(session, holding)
    assert [p.id for p in promoted] == ["e2"]
    holding[2] = promoted[0]
    assert rules.promotions(session, holding) == []  # applied again: nobody else moves


def test_the_same_person_twice_is_refused() -> None:
    session = _session()
    holding = _fill(session, 1)
    with pytest.raises(DomainError) as raised:
        rules.place(
            enrollment_id="x", session=session, employee_id="p0", enrolled_by="x", holding=holding, now=NOW
        )
    assert raised.value.reason == "ALREADY_ENROLLED"


def test_meetings_must_add_up_to_the_course_and_not_overlap() -> None:
    spec = replace(
        _session().spec,
        meetings=(
            rules.Meeting(DAY + timedelta(hours=9), DAY + timedelta(hours=10)),
            rules.Meeting(DAY + timedelta(hours=9, minutes=30), DAY + timedelta(hours=10)),
        ),
    )
    with pytest.raises(DomainError) as raised:
        rules.check_spec(spec, COURSE, now=NOW)
    assert raised.value.reason == "MEETINGS_OVERLAP"
    with pytest.raises(DomainError) as raised:
        rules.check_spec(replace(spec, meetings=spec.meetings[1:]), COURSE, now=NOW)
    assert raised.value.reason == "DURATION_MISMATCH"


def test_passing_needs_the_mark_and_every_meeting() -> None:
    enrolled = _fill(_session(), 1)[0]
    with pytest.raises(DomainError):
        rules.assess(enrolled, score=90, course=COURSE)  # attendance not taken
    absent = replace(enrolled, attended=(False,))
    assert rules.assess(absent, score=90, course=COURSE).state is rules.EnrollmentState.FAILED
    present = replace(enrolled, attended=(True,))
    assert rules.assess(present, score=70, course=COURSE).state is rules.EnrollmentState.PASSED
    assert rules.assess(present, score=69, course=COURSE).state is rules.EnrollmentState.FAILED


SHIFT = Shift(
    "orgUnits/t/schedules/s",
    "p",
    "queues/q",
    DAY + timedelta(hours=8),
    DAY + timedelta(hours=16),
    (Activity("LUNCH", DAY + timedelta(hours=12), DAY + timedelta(hours=12, minutes=30)),),
)


def _facts(**changes: object) -> WorkingTime:
    return replace(
        WorkingTime((SHIFT,), frozenset({DAY.date(), (DAY + timedelta(days=1)).date()}), (), ()), **changes
    )


def _clash(start_hour: float, minutes: int = 60, facts: WorkingTime | None = None) -> str | None:
    start = DAY + timedelta(hours=start_hour)
    try:
        check_clashes(
            who="employees/p",
            meetings=((start, start + timedelta(minutes=minutes)),),
            facts=facts or _facts(),
            local_day=lambda m: m.date(),
        )
    except DomainError as error:
        return error.reason
    return None


def test_clash_rules() -> None:
    assert _clash(9) is None  # inside working time
    assert _clash(11.75) == "CLASHES_WITH_SHIFT"  # over lunch
    assert _clash(15.5) == "CLASHES_WITH_SHIFT"  # runs past the shift's end
    assert _clash(24 + 9) == "CLASHES_WITH_DAY_OFF"  # covered, no shift
    assert _clash(48 + 9) is None  # not covered by any published schedule yet
    assert _clash(9, facts=_facts(leave=(Leave("employees/p/leaveRequests/l", (DAY.date(),)),))) == (
        "CLASHES_WITH_LEAVE"
    )
    booked = (
        BookedMeeting(
            "courses/c/sessions/x", DAY + timedelta(hours=9, minutes=30), DAY + timedelta(hours=11)
        ),
    )
    assert _clash(9, facts=_facts(booked=booked)) == "CLASHES_WITH_SESSION"


def test_validity_runs_to_the_day_before_the_same_date_months_later() -> None:
    assert certs.last_valid_day(COURSE, date(2026, 3, 2)) == date(2027, 3, 1)
    assert certs.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert (
        certs.last_valid_day(replace(COURSE, spec=replace(COURSE.spec, validity_months=0)), date(2026, 3, 2))
        is None
    )


def test_a_certification_lapses_the_day_after_its_last_valid_day_and_renewal_restarts_it() -> None:
    granted = certs.grant_or_renew(
        None, certification_id="x", employee_id="p", course=COURSE, enrollment_id="e", today=date(2026, 3, 2)
    )
    assert certs.lapse(granted, today=date(2027, 3, 1)) is None
    lapsed = certs.lapse(granted, today=date(2027, 3, 2))
    assert lapsed is not None and lapsed.state is certs.CertificationState.EXPIRED
    renewed = certs.grant_or_renew(
        lapsed,
        certification_id="y",
        employee_id="p",
        course=COURSE,
        enrollment_id="e2",
        today=date(2027, 4, 1),
    )
    assert (renewed.id, renewed.state, renewed.expire_date) == (
        "x",
        certs.CertificationState.ACTIVE,
        date(2028, 3, 31),
    )
