"""How a certification changes a person's skills (roster's side of the training loop)."""

from __future__ import annotations

from datetime import date

from cadre.roster.adapters.certifications import skills_after_expiry, skills_after_grant
from cadre.roster.domain.employee import Skill

CERT = "employees/e/certifications/c1"


def test_a_grant_adds_the_skill_with_its_expiry_and_source() -> None:
    skills = skills_after_grant(
        (Skill("voice", 2, None, "hire"),), code="billing", level=3, expire_date=date(2027, 3, 1), source=CERT
    )
    assert skills == (Skill("voice", 2, None, "hire"), Skill("billing", 3, date(2027, 3, 1), CERT))


def test_a_renewal_moves_the_expiry_and_replaces_a_lower_level() -> None:
    held = (Skill("billing", 2, date(2026, 1, 1), "manual"),)
    renewed = skills_after_grant(held, code="billing", level=3, expire_date=date(2027, 1, 1), source=CERT)
    assert renewed == (Skill("billing", 3, date(2027, 1, 1), CERT),)


def test_a_certification_never_lowers_a_higher_level_held_from_elsewhere() -> None:
    held = (Skill("billing", 5, None, "manual"),)
    assert (
        skills_after_grant(held, code="billing", level=3, expire_date=date(2027, 1, 1), source=CERT) == held
    )
    # ...and its expiry does not take away what it did not give.
    assert skills_after_expiry(held, code="billing", source=CERT) == held


def test_expiry_removes_only_the_skill_that_certification_gave() -> None:
    held = (Skill("billing", 3, date(2027, 1, 1), CERT), Skill("voice", 2, None, "hire"))
    assert skills_after_expiry(held, code="billing", source=CERT) == (Skill("voice", 2, None, "hire"),)
