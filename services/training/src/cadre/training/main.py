"""The training process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cadre.authority import projection
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import load_settings
from cadre.training.adapters import projections
from cadre.training.adapters.grpc_servicer import SERVICE, TrainingServicer
from cadre.training.adapters.repository import SqlCertifications, SqlSessions, SqlTrainingUnit
from cadre.training.app import catalog, enrollment
from cadre.training.settings import TrainingSettings
from cadre.training.v1 import training_service_pb2_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build(
    settings: TrainingSettings, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS, projection.MIGRATIONS)
    host.add_service(
        training_service_pb2_grpc.add_TrainingServiceServicer_to_server,
        TrainingServicer(host.db, clock=clock),
        SERVICE,
    )
    # Roster or scheduling may start later (or not be deployed): their streams are waited for.
    host.add_consumer(
        name="training-roster",
        stream="CADRE_ROSTER",
        subjects=projections.ROSTER_SUBJECTS,
        handler=projections.apply_roster,
        required=False,
    )
    host.add_consumer(
        name="training-scheduling",
        stream="CADRE_SCHEDULING",
        subjects=projections.SCHEDULING_SUBJECTS,
        handler=projections.apply_scheduling,
        required=False,
    )

    def expire_certifications() -> None:
        now = clock()
        with host.db.reader() as connection:
            if not SqlCertifications(connection).lapsing(before=(now + timedelta(hours=14)).date(), limit=1):
                return  # the common case: no write transaction, no lock taken
        with host.db.transaction() as unit:
            enrollment.expire_due(SqlTrainingUnit(unit), now=now)

    host.add_periodic("certification-expiry", settings.expiry_check_seconds, expire_certifications)

    notice = timedelta(hours=settings.underfilled_cancel_hours)

    def cancel_underfilled_sessions() -> None:
        now = clock()
        with host.db.reader() as connection:
            if not SqlSessions(connection).needing_a_minimum(after=now, until=now + notice):
                return  # the common case: no write transaction, no lock taken
        with host.db.transaction() as unit:
            catalog.cancel_underfilled(SqlTrainingUnit(unit), now=now, notice=notice)

    if settings.underfilled_cancel_hours > 0:
        host.add_periodic("underfilled-sessions", settings.expiry_check_seconds, cancel_underfilled_sessions)
    return host


def main() -> None:
    asyncio.run(build(load_settings(TrainingSettings)).serve())


if __name__ == "__main__":
    main()
