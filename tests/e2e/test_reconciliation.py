"""R20: a gap between what a producer published and what a consumer applied is found and repaired.

The broker loses an acknowledged event (as an OS crash before its disk sync can): roster's
outbox still has it, the witness consumer never sees it. Reconciliation reports exactly that
event and, asked to repair, has roster publish it again; the witness then holds every event
once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import nats
import pytest

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.cli.reconciliation import reconcile
from cadre.cli.tally import TallySettings, counts
from cadre.cli.tally import build as build_tally
from cadre.roster.main import build as build_roster
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import roster_service_pb2_grpc
from tests.e2e.roster_world import hire_request, make_team

pytestmark = pytest.mark.e2e


async def test_reconciliation_finds_the_event_the_broker_lost_and_repairs_it(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    roster = build_roster(
        testing.host_settings(
            RosterSettings,
            database_url=database_url,
            nats=nats_server,
            data_dir=tmp_path,
            # A short duplicate window, so the repair is not dropped as a repeat within the test.
            stream_duplicate_window_seconds=0.5,
        )
    )
    tally = build_tally(
        testing.host_settings(
            TallySettings, database_url=second_database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    async with testing.serving(roster):
        roster_address = f"127.0.0.1:{roster.bound_port}"
        async with testing.channel(roster_address) as channel:
            stub = roster_service_pb2_grpc.RosterServiceStub(channel)
            team = await make_team(stub)
            for i in range(5):
                await stub.HireEmployee(hire_request(team, i))

        connection = await nats.connect(nats_server.url)
        js = connection.jetstream()

        async def all_on_the_stream() -> bool:
            return (await js.stream_info("CADRE_ROSTER")).state.messages == 8  # 3 units + 5 hires

        await testing.until(all_on_the_stream)
        lost = await js.get_msg("CADRE_ROSTER", 5)
        await js.delete_msg("CADRE_ROSTER", 5)
        await connection.close()
        lost_id = lost.headers["Nats-Msg-Id"]
        await asyncio.sleep(1.0)  # past the duplicate window

        async with testing.serving(tally):
            addresses = {"roster": roster_address, "tally": f"127.0.0.1:{tally.bound_port}"}

            async def seven_applied() -> bool:
                return await tally.db.run(counts, tally.db) == (7, 7)

            await testing.until(seven_applied)
            now = datetime.now(UTC)
            window = {"start": now - timedelta(hours=1), "end": now}
            admin_token = testing.token()

            (report,) = await reconcile(addresses, admin_token, repair=False, **window)
            assert (report.consumer, report.producer, report.checked) == ("tally", "roster", 8)
            assert report.missing == [lost_id] and report.republished == 0

            (repaired,) = await reconcile(addresses, admin_token, repair=True, **window)
            assert repaired.missing == [lost_id] and repaired.republished == 1

            async def eight_applied() -> bool:
                return await tally.db.run(counts, tally.db) == (8, 8)

            await testing.until(eight_applied)
            # The repaired event counts as published when it was published again.
            window["end"] = datetime.now(UTC)
            (after,) = await reconcile(addresses, admin_token, repair=False, **window)
            assert after.checked == 8 and after.missing == []


async def test_only_the_platform_administrator_reaches_the_admin_service(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    roster = build_roster(
        testing.host_settings(RosterSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path)
    )
    async with (
        testing.serving(roster),
        testing.channel(f"127.0.0.1:{roster.bound_port}", subject="employees/team-leader") as channel,
    ):
        admin = admin_service_pb2_grpc.AdminServiceStub(channel)
        for call, request in (
            (admin.RepublishEvents, admin_service_pb2.RepublishEventsRequest(event_ids=["x"])),
            (admin.GetEventStatus, admin_service_pb2.GetEventStatusRequest()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await call(request)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
