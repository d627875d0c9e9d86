"""NATS subject filters, as reconciliation matches a consumer's filters against published events."""

import pytest

from cadre.chassis.events import subject_matches


@pytest.mark.parametrize(
    ("filters", "subject", "expected"),
    [
        ([], "cadre.roster.v1.employee.hired", True),
        (["cadre.roster.v1.>"], "cadre.roster.v1.employee.hired", True),
        (["cadre.roster.v1.>"], "cadre.roster.v1", False),
        (["cadre.roster.v1.employee.*"], "cadre.roster.v1.employee.hired", True),
        (["cadre.roster.v1.employee.*"], "cadre.roster.v1.employee.hired.late", False),
        (["cadre.*.v1.authority.exercised"], "cadre.training.v1.authority.exercised", True),
        (["cadre.roster.v1.grant.created"], "cadre.roster.v1.grant.revoked", False),
        (["cadre.scheduling.v1.>", "cadre.roster.v1.grant.*"], "cadre.roster.v1.grant.revoked", True),
    ],
)
def test_subject_filters_match_like_nats(filters: list[str], subject: str, expected: bool) -> None:
    assert subject_matches(filters, subject) is expected
