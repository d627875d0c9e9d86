"""The scheduling process: the one place where its parts are put together."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from cadre.authority import projection as authority_projection
from cadre.chassis.db import UnitOfWork
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import load_settings
from cadre.events.v1 import envelope_pb2
from cadre.scheduling.adapters import roster_projection, training_projection
from cadre.scheduling.adapters.grpc_servicer import SERVICE, SchedulingServicer
from cadre.scheduling.adapters.workforce_servicer import state_changes
from cadre.scheduling.adapters.workforce_unit import Authorities, SqlWorkforce
from cadre.scheduling.app import attendance
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import scheduling_service_pb2_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
# Telephony adapters publish agent states here (an envelope with AgentStatesReportedEvent),
# into scheduling's own stream.
AGENT_STATES_SUBJECT = "cadre.scheduling.v1.agent_state.reported"


def build(settings: SchedulingSettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS, authority_projection.MIGRATIONS)
    authorities = Authorities()
    host.add_service(
        scheduling_service_pb2_grpc.add_SchedulingServiceServicer_to_server,
        SchedulingServicer(host.db, host.operations, authorities=authorities),
        SERVICE,
    )
    # Roster may start after scheduling: the projection waits for its stream.
    host.add_consumer(
        name="scheduling-roster",
        stream="CADRE_ROSTER",
        subjects=roster_projection.SUBJECTS,
        handler=roster_projection.apply,
        required=False,
        # A hire passes a change to the person held until it is in (cadre.authority.projection).
        opening_types=roster_projection.OPENING_TYPES,
    )
    host.add_consumer(
        name="scheduling-training",
        stream=training_projection.STREAM,
        subjects=training_projection.SUBJECTS,
        handler=training_projection.apply,
        required=False,
    )

    def record_reported_states(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        p: Any = payload
        changes = state_changes(p.changes, "changes")
        attendance.record_states(
            SqlWorkforce(unit.connection, authorities, unit), None, changes, now=datetime.now(UTC)
        )

    host.add_consumer(
        name="scheduling-agent-states",
        stream=settings.stream_name,
        subjects=[AGENT_STATES_SUBJECT],
        handler=record_reported_states,
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
