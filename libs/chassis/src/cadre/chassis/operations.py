"""Long-running operations (google.longrunning): work that takes longer than a call should.

`OperationRunner.start` records the operation, returns it at once and runs the work in
the background: `compute` off the event loop (reporting progress), then `finish` in one
transaction that stores the result, raises its events and marks the operation done. An
operation still running when the process dies is marked failed (ABORTED) at the next
start, so a client polling it gets an answer and can start it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2, empty_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from sqlalchemy import Connection, Row, insert, select, update

from cadre.chassis import deadlines, paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import DomainError, failed_precondition, invalid_field, not_found
from cadre.chassis.grpc_errors import status_message
from cadre.chassis.tables import operations

log = logging.getLogger(__name__)
T = TypeVar("T")
COLLECTION = "operations"
_PROGRESS_EVERY = 0.5  # seconds between progress writes


class Cancelled(Exception):
    """Raised inside `compute` (by `Progress.report`) once a cancel was requested."""


def _pack(message: Message) -> bytes:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed.SerializeToString()


class Progress(Generic[T]):
    """Handed to `compute`: updates the operation's metadata now and then, and notices cancels."""

    def __init__(self, db: Database, name: str, metadata: Message) -> None:
        self._db = db
        self._name = name
        self.metadata = metadata
        self._last = 0.0
        self._lock = threading.Lock()

    def report(self, update_metadata: Callable[[Any], None], *, force: bool = False) -> None:
        with self._lock:
            update_metadata(self.metadata)
            now = time.monotonic()
            if not force and now - self._last < _PROGRESS_EVERY:
                return
            self._last = now
        with self._db.engine.begin() as connection:
            row = connection.execute(
                select(operations.c.cancel_requested).where(operations.c.name == self._name)
            ).one()
            connection.execute(
                update(operations)
                .where(operations.c.name == self._name)
                .values(metadata=_pack(self.metadata), update_time=datetime.now(UTC))
            )
        if row.cancel_requested:
            raise Cancelled()


def _to_proto(row: Row) -> operations_pb2.Operation:
    operation = operations_pb2.Operation(name=row.name, done=row.done)
    operation.metadata.ParseFromString(row.metadata)
    if row.error is not None:
        operation.error.ParseFromString(row.error)
    elif row.response is not None:
        operation.response.ParseFromString(row.response)
    return operation


class OperationRunner:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._tasks: set[asyncio.Task[None]] = set()

    def create(self, unit: UnitOfWork, *, method: str, metadata: Message) -> operations_pb2.Operation:
        """Records a new operation inside the caller's transaction (so a request id covers it)."""
        name = f"{COLLECTION}/{uuid.uuid4()}"
        now = datetime.now(UTC)
        unit.connection.execute(
            insert(operations).values(
                name=name,
                method=method,
                done=False,
                cancel_requested=False,
                metadata=_pack(metadata),
                create_time=now,
                update_time=now,
            )
        )
        operation = operations_pb2.Operation(name=name, done=False)
        operation.metadata.Pack(metadata)
        return operation

    def run(
        self,
        operation: operations_pb2.Operation,
        metadata: Message,
        compute: Callable[[Progress[Any]], T],
        finish: Callable[[UnitOfWork, T], Message],
    ) -> None:
        """Starts the work of a recorded operation in the background (idempotent per name)."""
        if operation.done or any(t.get_name() == operation.name for t in self._tasks):
            return
        task = asyncio.create_task(self._work(operation.name, metadata, compute, finish), name=operation.name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(
        self,
        name: str,
        metadata: Message,
        compute: Callable[[Progress[Any]], T],
        finish: Callable[[UnitOfWork, T], Message],
    ) -> None:
        # The operation outlives the call that started it: the caller's deadline is not its own.
        deadlines.set_remaining(None)
        progress: Progress[Any] = Progress(self._db, name, metadata)
        try:
            result = await self._db.run(compute, progress)
            await self._db.run(self._finish, name, progress, finish, result)
        except Cancelled:
            await self._db.run(
                self._fail, name, status_pb2.Status(code=code_pb2.CANCELLED, message="cancelled")
            )
        except DomainError as error:
            await self._db.run(self._fail, name, status_message(error))
        except Exception:
            log.exception("operation %s failed", name)
            await self._db.run(
                self._fail,
                name,
                status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error in {name}"),
            )

    def _finish(
        self, name: str, progress: Progress[Any], finish: Callable[[UnitOfWork, T], Message], result: T
    ) -> None:
        with self._db.transaction() as unit:
            response = finish(unit, result)
            unit.connection.execute(
                update(operations)
                .where(operations.c.name == name)
                .values(
                    done=True,
                    response=_pack(response),
                    metadata=_pack(progress.metadata),
                    update_time=datetime.now(UTC),
                )
            )

    def _fail(self, name: str, error: status_pb2.Status) -> None:
        with self._db.engine.begin() as connection:
            connection.execute(
                update(operations)
                .where(operations.c.name == name)
                .values(done=True, error=error.SerializeToString(), update_time=datetime.now(UTC))
            )

    def abandon_interrupted(self) -> int:
        """At start: operations a previous process left running will never finish; say so."""
        error = status_pb2.Status(
            code=code_pb2.ABORTED, message="interrupted by a service restart; start the operation again"
        ).SerializeToString()
        with self._db.engine.begin() as connection:
            result = connection.execute(
                update(operations)
                .where(operations.c.done.is_(False))
                .values(done=True, error=error, update_time=datetime.now(UTC))
            )
        return int(result.rowcount or 0)

    async def wait_idle(self, timeout: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def parse_operation_name(name: str) -> str:
    prefix = f"{COLLECTION}/"
    try:
        uuid.UUID(name.removeprefix(prefix))
    except ValueError:
        raise invalid_field("name", "MALFORMED_RESOURCE_NAME", f"must look like {prefix}{{uuid}}") from None
    if not name.startswith(prefix):
        raise invalid_field("name", "MALFORMED_RESOURCE_NAME", f"must look like {prefix}{{uuid}}")
    return name


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    """google.longrunning.Operations over the chassis_operations table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _get(self, connection: Connection, name: str) -> Row:
        row = connection.execute(select(operations).where(operations.c.name == name)).first()
        if row is None:
            raise not_found("OPERATION_NOT_FOUND", "name: no such operation")
        return row

    def _read(self, name: str) -> operations_pb2.Operation:
        with self._db.reader() as connection:
            return _to_proto(self._get(connection, name))

    async def GetOperation(
        self, request: operations_pb2.GetOperationRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        return await self._db.run(self._read, parse_operation_name(request.name))

    async def ListOperations(
        self, request: operations_pb2.ListOperationsRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.ListOperationsResponse:
        limit = paging.page_size(request.page_size)
        if request.filter:
            raise invalid_field("filter", "FILTER_NOT_SUPPORTED", "filtering operations is not supported")
        cursor = paging.decode_page_token(request.page_token, {})

        def query() -> list[Row]:
            statement = select(operations).order_by(operations.c.name).limit(limit + 1)
            if cursor:
                statement = statement.where(operations.c.name > cursor.after[0])
            with self._db.reader() as connection:
                return list(connection.execute(statement))

        rows = await self._db.run(query)
        page, token = paging.trim_page(rows, limit, lambda row: (row.name,), {})
        return operations_pb2.ListOperationsResponse(
            operations=[_to_proto(r) for r in page], next_page_token=token
        )

    async def DeleteOperation(
        self, request: operations_pb2.DeleteOperationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        name = parse_operation_name(request.name)

        def delete() -> None:
            with self._db.engine.begin() as connection:
                if not self._get(connection, name).done:
                    raise failed_precondition("OPERATION_RUNNING", "cancel the operation before deleting it")
                connection.execute(operations.delete().where(operations.c.name == name))

        await self._db.run(delete)
        return empty_pb2.Empty()

    async def CancelOperation(
        self, request: operations_pb2.CancelOperationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        name = parse_operation_name(request.name)

        def cancel() -> None:
            with self._db.engine.begin() as connection:
                self._get(connection, name)
                connection.execute(
                    update(operations).where(operations.c.name == name).values(cancel_requested=True)
                )

        await self._db.run(cancel)
        return empty_pb2.Empty()

    async def WaitOperation(
        self, request: operations_pb2.WaitOperationRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        name = parse_operation_name(request.name)
        limit = request.timeout.ToTimedelta().total_seconds() if request.HasField("timeout") else 60.0
        remaining = context.time_remaining()
        if remaining is not None:
            limit = min(limit, max(0.0, remaining - 0.1))
        deadline = time.monotonic() + limit
        while True:
            operation = await self._db.run(self._read, name)
            if operation.done or time.monotonic() >= deadline:
                return operation
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
