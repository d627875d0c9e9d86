"""`cadre scheduling …`: load a queue's interval history from a CSV file.

A file with one bad row imports nothing. Rows are read and parsed here first (a row that is
not a record at all never leaves the machine). The rules a record must follow (counts,
handle time, the queue's interval grid in its time zone, duplicates) live in the scheduling
service alone, and it checks each call all or nothing. A file larger than one call
(50,000 records) is therefore sent twice: first every part with `validate_only`, which writes
nothing, and only when every part passed, for real. Each part carries its own request id and
is retried with it on UNAVAILABLE only, so a retry never imports twice; if the import stops
half-way (a crash, the service going away), running the same command again replaces what
was imported and adds the rest.
"""

from __future__ import annotations

import asyncio
import csv
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import grpc
import typer
from google.protobuf import timestamp_pb2
from rich.console import Console

from cadre.chassis.client import open_channel
from cadre.chassis.grpc_errors import error_info
from cadre.cli.platform import LocalPlatform
from cadre.scheduling.v1 import queue_pb2, scheduling_service_pb2, scheduling_service_pb2_grpc

pb = scheduling_service_pb2
scheduling_app = typer.Typer(help="Scheduling: queues and their interval history.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

COLUMNS = ("start_time", "offered", "handled", "abandoned", "aht_seconds")
MAX_BATCH = 50_000  # ImportIntervalRecords' limit per call
_ATTEMPTS = 3


@dataclass(frozen=True)
class Row:
    line: int  # the row's line in the file (the header is line 1)
    record: queue_pb2.IntervalRecord


class RowProblem(ValueError):
    pass


def _whole_number(text: str, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RowProblem(f"{column}: {text!r} is not a whole number") from None


def _record(values: dict[str, str]) -> queue_pb2.IntervalRecord:
    text = values["start_time"].strip()
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise RowProblem(f"start_time: {text!r} is not an ISO 8601 date and time") from None
    if start.utcoffset() is None:
        raise RowProblem(f"start_time: {text!r} has no UTC offset (e.g. 2026-09-01T08:00:00+02:00)")
    try:
        aht = float(values["aht_seconds"])
    except ValueError:
        raise RowProblem(f"aht_seconds: {values['aht_seconds']!r} is not a number") from None
    if not math.isfinite(aht):
        raise RowProblem(f"aht_seconds: {values['aht_seconds']!r} is not a finite number")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(start)
    return queue_pb2.IntervalRecord(
        start_time=stamp,
        offered=_whole_number(values["offered"], "offered"),
        handled=_whole_number(values["handled"], "handled"),
        abandoned=_whole_number(values["abandoned"], "abandoned"),
        aht_seconds=aht,
    )


def read_rows(path: Path) -> tuple[list[Row], list[str]]:
    """The file's records, and what is wrong with the rows that are not records."""
    rows: list[Row] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            return [], [f"header: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"]
        for values in reader:
            try:
                if any(values.get(c) is None for c in COLUMNS):
                    raise RowProblem(f"has fewer than the {len(COLUMNS)} columns")
                rows.append(Row(reader.line_num, _record(values)))
            except RowProblem as problem:
                problems.append(f"row {reader.line_num}: {problem}")
    if not rows and not problems:
        problems.append("the file has no rows")
    return rows, problems


def _row_problems(error: grpc.aio.AioRpcError, batch: Sequence[Row]) -> list[str]:
    """The service's field violations (`records[i].field`) as the file's rows."""
    info, bad_request = error_info(error)
    if bad_request is None:
        return [f"{error.code().name} {info.reason if info else ''}: {error.details()}"]
    problems = []
    rows_named = set()
    for violation in bad_request.field_violations:
        field = violation.field
        if field.startswith("records[") and "]" in field:
            index_text, _, rest = field[len("records[") :].partition("]")
            row = batch[int(index_text)]
            rows_named.add(row.line)
            problems.append(f"row {row.line}: {rest.lstrip('.')}: {violation.description}")
        else:
            problems.append(f"{field}: {violation.description}")
    bad_rows = int(info.metadata.get("bad_records", "0")) if info is not None else 0
    if bad_rows > len(rows_named):
        # The service lists a bounded number of problems per call.
        problems.append(f"… and {bad_rows - len(rows_named)} more bad rows in this part")
    return problems


async def _call(
    stub: scheduling_service_pb2_grpc.SchedulingServiceStub, request: pb.ImportIntervalRecordsRequest
) -> pb.ImportIntervalRecordsResponse:
    """One part, retried with the same request id while the service is UNAVAILABLE (only then)."""
    for attempt in range(_ATTEMPTS):
        try:
            return await stub.ImportIntervalRecords(request)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == _ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def _import(address: str, token: str, queue: str, batches: list[list[Row]]) -> int:
    async with open_channel(address, token_source=lambda: token, default_timeout=120) as channel:
        stub = scheduling_service_pb2_grpc.SchedulingServiceStub(channel)
        problems: list[str] = []
        if len(batches) > 1:
            for batch in batches:
                try:
                    await _call(
                        stub,
                        pb.ImportIntervalRecordsRequest(
                            parent=queue, records=[r.record for r in batch], validate_only=True
                        ),
                    )
                except grpc.aio.AioRpcError as error:
                    problems += _row_problems(error, batch)
            if problems:
                return _refused(problems)
        inserted = replaced = 0
        for number, batch in enumerate(batches, start=1):
            request = pb.ImportIntervalRecordsRequest(
                parent=queue, records=[r.record for r in batch], request_id=str(uuid.uuid4())
            )
            try:
                reply = await _call(stub, request)
            except grpc.aio.AioRpcError as error:
                if number > 1:
                    err.print(
                        f"[red]part {number} of {len(batches)} failed after {number - 1} were imported;[/] "
                        "running the same command again is safe (it replaces what is there)"
                    )
                return _refused(_row_problems(error, batch))
            inserted, replaced = inserted + reply.inserted, replaced + reply.replaced
            if len(batches) > 1:
                console.print(f"part {number}/{len(batches)}: {len(batch)} records")
        console.print(
            f"imported {inserted + replaced} records into {queue}: {inserted} new, {replaced} replaced"
        )
        return 0


def _refused(problems: list[str]) -> int:
    for problem in problems:
        err.print(problem, markup=False, highlight=False)
    err.print("[red]nothing imported[/]")
    return 1


@scheduling_app.command("import-history")
def import_history(
    queue: Annotated[str, typer.Argument(help="The queue's resource name, queues/{id}")],
    file: Annotated[
        Path,
        typer.Argument(
            help=f"CSV with the columns {', '.join(COLUMNS)}; start_time in ISO 8601 with a UTC offset",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Records per call (the service takes at most 50,000)")
    ] = MAX_BATCH,
    address: Annotated[
        str | None, typer.Option(help="host:port of the scheduling service (default: the local platform's)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="CADRE_TOKEN", help="Bearer token (default: the local platform's admin token)"),
    ] = None,
) -> None:
    """Import a queue's interval history from a CSV file: every row or none."""
    rows, problems = read_rows(file)
    if problems:
        raise typer.Exit(_refused(problems))
    platform = LocalPlatform.from_environment()
    try:
        bearer = token or platform.admin_token()
    except FileNotFoundError as error:
        err.print(f"[red]{error}[/] (or pass --token)")
        raise typer.Exit(1) from None
    batches = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    code = asyncio.run(_import(address or platform.address("scheduling"), bearer, queue, batches))
    raise typer.Exit(code)
