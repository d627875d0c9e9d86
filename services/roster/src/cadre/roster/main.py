"""The roster process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from cadre.authority import usage
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import load_settings
from cadre.roster.adapters import certifications
from cadre.roster.adapters.grants_used import record_reported_use
from cadre.roster.adapters.grpc_servicer import SERVICE, RosterServicer
from cadre.roster.adapters.repository import SqlEmployees, SqlRosterUnit, SqlTransfers
from cadre.roster.app import employees, transfers
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import roster_service_pb2_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build(settings: RosterSettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS)
    host.add_service(
        roster_service_pb2_grpc.add_RosterServiceServicer_to_server, RosterServicer(host.db), SERVICE
    )

    def put_due_changes_into_effect() -> None:
        """Transfers, hires and lifecycle changes whose date has come, in the team's time zone."""
        with host.db.reader() as connection:
            if not SqlTransfers(connection).due(limit=1) and not SqlEmployees(connection).onboarding_due(
                limit=1
            ):
                return  # the common case: no write transaction, no lock taken
        with host.db.transaction() as unit:
            now = datetime.now(UTC)
            transfers.complete_due_transfers(SqlRosterUnit(unit), now=now)
            employees.put_due_lifecycle_changes_into_effect(SqlRosterUnit(unit), now=now)

    for stream in settings.authority_report_streams:
        service = stream.removeprefix("CADRE_").lower()
        host.add_consumer(
            name=f"roster-{service}-authority",
            stream=stream,
            subjects=[usage.event_type(service)],
            handler=record_reported_use,
            required=False,
        )
    # Certifications become skills; training may start later than roster (or not be deployed).
    host.add_consumer(
        name="roster-training-certifications",
        stream="CADRE_TRAINING",
        subjects=certifications.SUBJECTS,
        handler=certifications.apply,
        required=False,
    )
    host.add_periodic("due-changes", settings.transfer_check_seconds, put_due_changes_into_effect)
    return host


def main() -> None:
    settings = load_settings(RosterSettings)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
