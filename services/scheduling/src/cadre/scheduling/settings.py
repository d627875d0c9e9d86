"""Scheduling's settings: the chassis's, with scheduling's name and port."""

from __future__ import annotations

from typing import ClassVar

from cadre.chassis.settings import ServiceSettings

DEFAULT_GRPC_PORT = 7102


class SchedulingSettings(ServiceSettings):
    service_name: ClassVar[str] = "scheduling"
    default_grpc_port: ClassVar[int] = DEFAULT_GRPC_PORT
