"""Training's settings: the chassis's, with training's name and port."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from cadre.chassis.settings import ServiceSettings

DEFAULT_GRPC_PORT = 7104


class TrainingSettings(ServiceSettings):
    service_name: ClassVar[str] = "training"
    default_grpc_port: ClassVar[int] = DEFAULT_GRPC_PORT

    # How often certifications past their last valid day are expired (in each person's
    # team time zone, at the first pass after midnight there).
    expiry_check_seconds: float = Field(default=300.0, gt=0)
    # A session still below its minimum group size this close to its first meeting is called
    # off (checked as often as certifications); 0 keeps under-filled sessions running.
    underfilled_cancel_hours: float = Field(default=48.0, ge=0)
