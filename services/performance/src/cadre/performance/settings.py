"""Performance's settings: the chassis's, with performance's name, port and fact stream."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cadre.chassis.settings import ServiceSettings

DEFAULT_GRPC_PORT = 7103


class PerformanceSettings(ServiceSettings):
    service_name: ClassVar[str] = "performance"
    default_grpc_port: ClassVar[int] = DEFAULT_GRPC_PORT

    # The stream a contact-center platform publishes fact batches on
    # (`cadre.facts.v1.batch.published`); waited for when it does not exist yet.
    facts_stream: str = "CADRE_FACTS"
    # Facts in one IngestFacts call or one fact event.
    max_facts_per_batch: int = Field(default=100_000, ge=1, le=1_000_000)
