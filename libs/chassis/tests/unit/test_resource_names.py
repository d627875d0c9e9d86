import uuid

import pytest

from cadre.chassis.errors import DomainError
from cadre.chassis.resource_names import parse_name


def test_parses_the_id_of_a_well_formed_name() -> None:
    ident = str(uuid.uuid4())
    assert parse_name(f"employees/{ident}", "employees", "name") == ident


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "REQUIRED_FIELD_MISSING"),
        ("orgUnits/3f1c0c0e-7a51-4f0c-9d1e-0e4b8b1f8f11", "MALFORMED_RESOURCE_NAME"),
        ("employees/42", "MALFORMED_RESOURCE_NAME"),
        ("employees/3F1C0C0E-7A51-4F0C-9D1E-0E4B8B1F8F11", "MALFORMED_RESOURCE_NAME"),
        ("employees/3f1c0c0e-7a51-4f0c-9d1e-0e4b8b1f8f11/x", "MALFORMED_RESOURCE_NAME"),
    ],
)
def test_malformed_names_name_the_field(name: str, reason: str) -> None:
    with pytest.raises(DomainError) as raised:
        parse_name(name, "employees", "employee.manager")
    assert raised.value.reason == reason
    assert raised.value.violations[0].field == "employee.manager"
