"""Roster's settings: the chassis's, with roster's name and port."""

from __future__ import annotations

from typing import ClassVar

from cadre.chassis.settings import ServiceSettings

DEFAULT_GRPC_PORT = 7101


class RosterSettings(ServiceSettings):
    service_name: ClassVar[str] = "roster"
    default_grpc_port: ClassVar[int] = DEFAULT_GRPC_PORT
