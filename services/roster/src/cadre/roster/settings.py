"""Roster's settings: the chassis's, with roster's name and port."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cadre.chassis.settings import ServiceSettings

DEFAULT_GRPC_PORT = 7101


class RosterSettings(ServiceSettings):
    service_name: ClassVar[str] = "roster"
    default_grpc_port: ClassVar[int] = DEFAULT_GRPC_PORT

    # How often due transfers are put into effect (they take effect on their date, in the
    # new team's time zone, at the first pass after midnight there).
    transfer_check_seconds: float = Field(default=60.0, gt=0)
    # Streams whose services report decisions taken under grants (for ListGrantUses); a
    # stream that does not exist yet is waited for.
    authority_report_streams: tuple[str, ...] = ("CADRE_SCHEDULING", "CADRE_PERFORMANCE", "CADRE_TRAINING")
