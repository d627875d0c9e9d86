"""`cadre scheduling import-history` against a real scheduling service: every row or none."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.cli.testing import serving
from cadre.scheduling.main import build
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import queue_pb2, scheduling_service_pb2, scheduling_service_pb2_grpc

pb = scheduling_service_pb2
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HEADER = "start_time,offered,handled,abandoned,aht_seconds\n"


@pytest.fixture
async def service(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[str, scheduling_service_pb2_grpc.SchedulingServiceStub]]:
    settings = testing.host_settings(
        SchedulingSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path
    )
    host = build(settings)
    address = f"127.0.0.1:{settings.grpc_port}"
    async with serving(host), testing.channel(address) as channel:
        yield address, scheduling_service_pb2_grpc.SchedulingServiceStub(channel)


async def _queue(stub: scheduling_service_pb2_grpc.SchedulingServiceStub) -> str:
    queue = await stub.CreateQueue(
        pb.CreateQueueRequest(
            queue=queue_pb2.Queue(
                display_name="Support voice",
                service_level=queue_pb2.ServiceLevelTarget(fraction=0.8, answer_seconds=20),
                interval_minutes=15,
                time_zone="America/Sao_Paulo",
            )
        )
    )
    return queue.name


def _lines(count: int) -> list[str]:
    """Rows every 15 minutes of local time in São Paulo, written with the local offset."""
    start = datetime(2026, 9, 1, 8, 0, tzinfo=SAO_PAULO)
    lines = []
    for i in range(count):
        moment = (start.astimezone(UTC) + timedelta(minutes=15 * i)).astimezone(SAO_PAULO)
        lines.append(f"{moment.isoformat()},{20 + i % 7},{19 + i % 7},1,{180 + i % 11}.5\n")
    return lines


async def _run(address: str, queue: str, csv_file: Path, *options: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cadre.cli.main",
        "scheduling",
        "import-history",
        queue,
        str(csv_file),
        "--address",
        address,
        *options,
        env={**os.environ, "CADRE_AUTH_SIGNING_KEY_FILE": str(testing.TEST_SIGNING_KEY), "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def _stored(stub: scheduling_service_pb2_grpc.SchedulingServiceStub, queue: str) -> int:
    reply = await stub.ListIntervalRecords(pb.ListIntervalRecordsRequest(parent=queue, page_size=10_000))
    return len(reply.records)


async def test_a_good_file_imports_and_a_second_run_replaces(service, tmp_path: Path) -> None:
    address, stub = service
    queue = await _queue(stub)
    good = tmp_path / "history.csv"
    good.write_text(HEADER + "".join(_lines(120)))
    code, output = await _run(address, queue, good)
    assert code == 0, output
    assert "120 records" in output and "120 new, 0 replaced" in output
    code, output = await _run(address, queue, good, "--batch-size", "50")
    assert code == 0, output
    assert "0 new, 120 replaced" in output and "part 3/3" in output
    assert await _stored(stub, queue) == 120


@pytest.mark.parametrize("batch_size", ["50000", "40"], ids=["one call", "three calls"])
async def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(
    service, tmp_path: Path, batch_size: str
) -> None:
    address, stub = service
    queue = await _queue(stub)
    lines = _lines(100)
    # Line 92 of the file (header = line 1): more handled and abandoned than offered.
    moment = lines[90].split(",")[0]
    lines[90] = f"{moment},10,10,3,200\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "".join(lines))
    code, output = await _run(address, queue, bad, "--batch-size", batch_size)
    assert code != 0
    assert "row 92: handled: handled + abandoned must not exceed offered" in output, output
    assert "nothing imported" in output
    assert await _stored(stub, queue) == 0


async def test_rows_that_are_not_records_are_refused_before_anything_is_sent(service, tmp_path: Path) -> None:
    address, stub = service
    queue = await _queue(stub)
    lines = _lines(10)
    lines[2] = "2026-09-01T08:30:00,20,19,1,180\n"  # no UTC offset
    lines[5] = lines[5].replace(",1,", ",one,")
    bad = tmp_path / "unreadable.csv"
    bad.write_text(HEADER + "".join(lines))
    code, output = await _run(address, queue, bad)
    assert code != 0
    assert "row 4: start_time: '2026-09-01T08:30:00' has no UTC offset" in output, output
    assert "row 7: abandoned: 'one' is not a whole number" in output
    assert await _stored(stub, queue) == 0
