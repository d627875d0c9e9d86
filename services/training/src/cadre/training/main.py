"""The training process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import Connection

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
        # A hire passes a change to the person held until it is in (cadre.authority.projection).
        opening_types=projections.ROSTER_OPENING_TYPES,
    )
    host.add_consumer(
        name="training-scheduling",
        stream="CADRE_SCHEDULING",
        subjects=projections.SCHEDULING_SUBJECTS,
        handler=projections.apply_scheduling,
        required=False,
    )

    def when_due(name: str, due: Callable[[Connection, datetime], bool], work: Callable[..., object]) -> None:
        """A periodic job that writes only when a read says there is something to do: the
        common case takes no write transaction and no lock."""

        def run() -> None:
            now = clock()
            with host.db.reader() as connection:
                if not due(connection, now):
                    return
            with host.db.transaction() as unit:
                work(SqlTrainingUnit(unit), now=now)

        host.add_periodic(name, settings.expiry_check_seconds, run)

    when_due(
        "certification-expiry",
        lambda c, now: bool(SqlCertifications(c).lapsing(before=(now + timedelta(hours=14)).date(), limit=1)),
        enrollment.expire_due,
    )
    if settings.underfilled_cancel_hours > 0:
        notice = timedelta(hours=settings.underfilled_cancel_hours)
        when_due(
            "underfilled-sessions",
            lambda c, now: bool(SqlSessions(c).needing_a_minimum(after=now, until=now + notice)),
            partial(catalog.cancel_underfilled, notice=notice),
        )
    return host


def main() -> None:
    asyncio.run(build(load_settings(TrainingSettings)).serve())


if __name__ == "__main__":
    main()
