"""What the use cases need from the outside world; the adapters provide it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from cadre.scheduling.domain.events import SchedulingEvent
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.history import IntervalRecord
from cadre.scheduling.domain.queue import Queue
from cadre.scheduling.domain.staffing import Requirement

# Newest-first lists page on (creation time, id): the last item of the previous page.
NewestFirstCursor = tuple[datetime, str]


class QueueRepository(Protocol):
    def get(self, queue_id: str, *, for_update: bool = False) -> Queue | None: ...
    def add(self, queue: Queue) -> None: ...
    def replace(self, queue: Queue, *, previous_version: int) -> bool:
        """Stores `queue` if the stored one is still at `previous_version`; False if it moved on."""
        ...

    def delete(self, queue_id: str) -> None:
        """Deletes the queue with its history, forecasts and requirements."""
        ...

    def list(self, *, after: str | None, limit: int) -> Sequence[Queue]: ...


class IntervalRecordRepository(Protocol):
    def span(self, queue_id: str) -> tuple[datetime | None, datetime | None]:
        """First and last recorded interval start (None, None without history)."""
        ...

    def existing_starts(self, queue_id: str, starts: Collection[datetime]) -> set[datetime]: ...
    def upsert(self, queue_id: str, records: Sequence[IntervalRecord]) -> None: ...
    def list(
        self,
        queue_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        after: datetime | None,
        limit: int | None,
    ) -> Sequence[IntervalRecord]: ...


class ForecastRepository(Protocol):
    def get(self, queue_id: str, forecast_id: str) -> Forecast | None: ...
    def add(self, forecast: Forecast) -> None: ...
    def list(self, queue_id: str, *, after: NewestFirstCursor | None, limit: int) -> Sequence[Forecast]:
        """Newest first, without their intervals."""
        ...


class RequirementRepository(Protocol):
    def get(self, queue_id: str, requirement_id: str) -> Requirement | None: ...
    def add(self, requirement: Requirement) -> None: ...
    def list(self, queue_id: str, *, after: NewestFirstCursor | None, limit: int) -> Sequence[Requirement]:
        """Newest first, without their intervals."""
        ...


class SchedulingReads(Protocol):
    """The repositories over one read-only snapshot."""

    @property
    def queues(self) -> QueueRepository: ...
    @property
    def records(self) -> IntervalRecordRepository: ...
    @property
    def forecasts(self) -> ForecastRepository: ...
    @property
    def requirements(self) -> RequirementRepository: ...


class SchedulingUnit(SchedulingReads, Protocol):
    """One transaction over the repositories; events and audit records commit with the change."""

    def record(self, event: SchedulingEvent) -> None: ...
    def audit_queue(self, *, action: str, before: Queue | None, after: Queue | None) -> None: ...
    def audit_import(self, *, queue: Queue, inserted: int, replaced: int) -> None: ...
