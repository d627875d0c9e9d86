"""Facts the scheduling domain raises; the adapters publish them through the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from cadre.scheduling.domain.attendance import DayFigures
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.leave import LeaveRequest
from cadre.scheduling.domain.overtime import OvertimeOffer
from cadre.scheduling.domain.schedule import Schedule
from cadre.scheduling.domain.staffing import Requirement


@dataclass(frozen=True)
class ForecastPublished:
    forecast: Forecast


@dataclass(frozen=True)
class RequirementPublished:
    requirement: Requirement


@dataclass(frozen=True)
class SchedulePublished:
    schedule: Schedule
    changed_employees: tuple[str, ...]


@dataclass(frozen=True)
class LeaveApproved:
    request: LeaveRequest


@dataclass(frozen=True)
class LeaveCancelled:
    request: LeaveRequest


@dataclass(frozen=True)
class AttendanceRecorded:
    figures: DayFigures
    org_unit_id: str
    revision: int


@dataclass(frozen=True)
class OvertimeAccepted:
    offer: OvertimeOffer
    work_day: bool


SchedulingEvent = (
    ForecastPublished
    | RequirementPublished
    | SchedulePublished
    | LeaveApproved
    | LeaveCancelled
    | AttendanceRecorded
    | OvertimeAccepted
)
