"""The scheduling process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import load_settings
from cadre.scheduling.adapters.grpc_servicer import SERVICE, SchedulingServicer
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import scheduling_service_pb2_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def build(settings: SchedulingSettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS)
    host.add_service(
        scheduling_service_pb2_grpc.add_SchedulingServiceServicer_to_server,
        SchedulingServicer(host.db, host.operations),
        SERVICE,
    )
    return host


def main() -> None:
    settings = load_settings(SchedulingSettings)
    # statsmodels takes seconds to import; the forecast imports it on first use, so a fresh
    # process would make its first forecasts wait for it. Pay it once, before serving.
    importlib.import_module("statsmodels.tsa.holtwinters")
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
