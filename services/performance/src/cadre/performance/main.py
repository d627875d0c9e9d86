"""The performance process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import load_settings
from cadre.performance.adapters import projections
from cadre.performance.adapters.grpc_servicer import SERVICE, PerformanceServicer
from cadre.performance.settings import PerformanceSettings
from cadre.performance.v1 import performance_service_pb2_grpc

# Performance's own revisions, with the authority projection's linked in (see the
# performance_authority_* files), so one alembic run brings every table up to date.
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build(settings: PerformanceSettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS)
    host.add_service(
        performance_service_pb2_grpc.add_PerformanceServiceServicer_to_server,
        PerformanceServicer(host.db, host.operations, max_facts=settings.max_facts_per_batch),
        SERVICE,
    )
    # Every producer may start after performance (or not be deployed at all): each consumer
    # waits for its stream rather than keeping the service from serving.
    for name, stream, subjects, handler in (
        ("performance-roster", "CADRE_ROSTER", projections.ROSTER_SUBJECTS, projections.apply_roster),
        (
            "performance-scheduling",
            "CADRE_SCHEDULING",
            projections.SCHEDULING_SUBJECTS,
            projections.apply_scheduling,
        ),
        ("performance-training", "CADRE_TRAINING", projections.TRAINING_SUBJECTS, projections.apply_training),
        (
            "performance-facts",
            settings.facts_stream,
            projections.FACT_SUBJECTS,
            projections.fact_handler(settings.max_facts_per_batch),
        ),
    ):
        host.add_consumer(
            name=name,
            stream=stream,
            subjects=subjects,
            handler=handler,
            required=False,
            # A hire passes a change to the person held until it is in (cadre.authority.projection).
            opening_types=projections.ROSTER_OPENING_TYPES if handler is projections.apply_roster else (),
        )
    return host


def main() -> None:
    settings = load_settings(PerformanceSettings)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
