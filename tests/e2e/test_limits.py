"""R21: one caller cannot take a service for itself, and an oversized message is refused whole."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from cadre.chassis.grpc_errors import error_info
from cadre.cli import testing
from cadre.cli.processes import ServiceProcess
from cadre.roster.v1 import employee_pb2, roster_service_pb2, roster_service_pb2_grpc
from tests.e2e.roster_world import hire_request, make_team

pytestmark = pytest.mark.e2e


async def test_calls_beyond_a_callers_share_are_refused_while_other_callers_go_on(
    roster_process: ServiceProcess,
) -> None:
    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        team = await make_team(roster_service_pb2_grpc.RosterServiceStub(channel))
    roster_process.terminate()
    # Every commit is held 1 s, so calls pile up in flight.
    roster_process.start(
        extra_env={
            "CADRE_PAUSE_AT": "before_commit",
            "CADRE_PAUSE_MS": "1000",
            "CADRE_MAX_CALLS_IN_FLIGHT_PER_CALLER": "3",
        }
    )
    async with (
        testing.channel(roster_process.address) as busy_channel,
        testing.channel(roster_process.address, subject="employees/someone-else") as other_channel,
    ):
        busy = roster_service_pb2_grpc.RosterServiceStub(busy_channel)
        results = await asyncio.gather(
            *(busy.HireEmployee(hire_request(team, i), timeout=20) for i in range(5)), return_exceptions=True
        )
        hired = [r for r in results if isinstance(r, employee_pb2.Employee)]
        refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(hired) == 3 and len(refused) == 2, results
        assert {e.code() for e in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        info, _ = error_info(refused[0])
        assert info is not None and info.reason == "CALLER_CONCURRENCY_EXCEEDED"

        # Another caller is not held back by the first one's share: it gets its own answer
        # (here: the platform's scope check), not RESOURCE_EXHAUSTED.
        pending = [
            asyncio.ensure_future(busy.HireEmployee(hire_request(team, i), timeout=20)) for i in range(5, 8)
        ]
        await asyncio.sleep(0.3)
        with pytest.raises(grpc.aio.AioRpcError) as other:
            await roster_service_pb2_grpc.RosterServiceStub(other_channel).GetOrgUnit(
                roster_service_pb2.GetOrgUnitRequest(name=team), timeout=20
            )
        assert other.value.code() != grpc.StatusCode.RESOURCE_EXHAUSTED
        assert all(isinstance(e, employee_pb2.Employee) for e in await asyncio.gather(*pending))

        listed = await busy.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=team))
        assert len(listed.employees) == 6  # the refused calls wrote nothing


async def test_an_oversized_request_is_refused_and_writes_nothing(roster_process: ServiceProcess) -> None:
    roster_process.start(extra_env={"CADRE_MAX_MESSAGE_BYTES": str(64 * 1024)})
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        team = await make_team(roster)
        request = hire_request(team, 1)
        request.employee.display_name = "x" * (100 * 1024)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await roster.HireEmployee(request, timeout=20)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        listed = await roster.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=team))
        assert list(listed.employees) == []
