import asyncio

import grpc
import pytest

from cadre.chassis import deadlines
from cadre.chassis.client import _OutgoingCall


class Recorder:
    def __init__(self) -> None:
        self.details: grpc.aio.ClientCallDetails | None = None

    async def __call__(self, details, request):
        self.details = details
        return "answer"


@pytest.mark.parametrize(
    ("incoming", "own", "expected_at_most"),
    [(None, None, 10.0), (None, 2.0, 2.0), (0.3, None, 0.3), (0.3, 5.0, 0.3)],
)
async def test_outgoing_calls_carry_a_deadline_no_later_than_the_callers(
    incoming, own, expected_at_most
) -> None:
    token = deadlines.set_remaining(incoming)
    try:
        continuation = Recorder()
        interceptor = _OutgoingCall(lambda: "t0ken", default_timeout=10.0)
        details = grpc.aio.ClientCallDetails("/svc/M", own, None, None, None)
        assert await interceptor.intercept_unary_unary(continuation, details, object()) == "answer"
        assert continuation.details is not None
        assert 0 < continuation.details.timeout <= expected_at_most
        assert ("authorization", "Bearer t0ken") in list(continuation.details.metadata)
    finally:
        deadlines.reset(token)


async def test_a_spent_deadline_stops_the_commit() -> None:
    token = deadlines.set_remaining(0.01)
    try:
        await asyncio.sleep(0.02)
        with pytest.raises(Exception) as raised:
            deadlines.check_not_expired()
        assert getattr(raised.value, "reason", "") == "DEADLINE_EXCEEDED"
    finally:
        deadlines.reset(token)
