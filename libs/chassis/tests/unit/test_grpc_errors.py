import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from cadre.chassis.errors import DomainError, Violations, invalid_field, not_found
from cadre.chassis.grpc_errors import internal_status, to_status


def _details(status: grpc.Status) -> status_pb2.Status:
    ((_key, value),) = [(k, v) for k, v in status.trailing_metadata if k == "grpc-status-details-bin"]
    return status_pb2.Status.FromString(value)


def test_field_error_carries_code_reason_and_violation() -> None:
    status = to_status(
        invalid_field("employee.hire_date", "INVALID_DATE", "is not a calendar date"),
        domain="roster.cadre.dev",
    )
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    rich = _details(status)
    info = error_details_pb2.ErrorInfo()
    rich.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("INVALID_DATE", "roster.cadre.dev")
    bad = error_details_pb2.BadRequest()
    rich.details[1].Unpack(bad)
    assert [v.field for v in bad.field_violations] == ["employee.hire_date"]


def test_not_found_maps_to_not_found_without_field_violations() -> None:
    status = to_status(not_found("EMPLOYEE_NOT_FOUND", "no such employee"), domain="d")
    assert status.code == grpc.StatusCode.NOT_FOUND
    assert len(_details(status).details) == 1


def test_all_violations_are_reported_together() -> None:
    violations = Violations()
    violations.add("a", "R1", "bad a")
    violations.add("b", "R2", "bad b")
    with pytest.raises(DomainError) as raised:
        violations.raise_if_any()
    assert [v.field for v in raised.value.violations] == ["a", "b"]
    assert raised.value.reason == "R1"


def test_internal_error_leaks_nothing_but_a_trace_id() -> None:
    status = internal_status(domain="d", trace_id="abc123")
    assert status.code == grpc.StatusCode.INTERNAL
    assert "abc123" in status.details
    assert "Traceback" not in status.details
