"""Turns domain errors into `google.rpc.Status` with ErrorInfo and BadRequest details.

The one place where errors are mapped: every service gets the same codes and reasons,
and nothing internal leaks into a message (RELIABILITY R13).
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from cadre.chassis.errors import DomainError, ErrorKind

_CODES: dict[ErrorKind, int] = {
    ErrorKind.INVALID_ARGUMENT: code_pb2.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: code_pb2.NOT_FOUND,
    ErrorKind.ALREADY_EXISTS: code_pb2.ALREADY_EXISTS,
    ErrorKind.PERMISSION_DENIED: code_pb2.PERMISSION_DENIED,
    ErrorKind.UNAUTHENTICATED: code_pb2.UNAUTHENTICATED,
    ErrorKind.FAILED_PRECONDITION: code_pb2.FAILED_PRECONDITION,
    ErrorKind.ABORTED: code_pb2.ABORTED,
    ErrorKind.RESOURCE_EXHAUSTED: code_pb2.RESOURCE_EXHAUSTED,
    ErrorKind.UNAVAILABLE: code_pb2.UNAVAILABLE,
    ErrorKind.DEADLINE_EXCEEDED: code_pb2.DEADLINE_EXCEEDED,
}


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def status_message(error: DomainError, *, domain: str = "cadre.dev") -> status_pb2.Status:
    """The `google.rpc.Status` of a domain error (also what a failed operation carries)."""
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=dict(error.metadata)))
    ]
    if error.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description, reason=v.reason
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    return status_pb2.Status(code=_CODES[error.kind], message=error.message, details=details)


def to_status(error: DomainError, *, domain: str) -> grpc.Status:
    return rpc_status.to_status(status_message(error, domain=domain))


def internal_status(*, domain: str, trace_id: str) -> grpc.Status:
    """For a bug: the caller gets a reason and a trace id to quote, never the traceback."""
    info = error_details_pb2.ErrorInfo(reason="INTERNAL", domain=domain, metadata={"trace_id": trace_id})
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; quote trace id {trace_id} to the operator",
        details=[_pack(info)],
    )
    return rpc_status.to_status(status)


def error_info(
    call_error: grpc.aio.AioRpcError | grpc.RpcError,
) -> tuple[error_details_pb2.ErrorInfo | None, error_details_pb2.BadRequest | None]:
    """Client side: the ErrorInfo and BadRequest details of a failed call, if any."""
    status = rpc_status.from_call(call_error)  # type: ignore[arg-type]
    info = bad_request = None
    if status is None:
        return None, None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
    return info, bad_request
