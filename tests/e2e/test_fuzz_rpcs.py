"""R22: generated requests for every RPC of roster and scheduling (random strings, huge
lists, unknown enum values, missing fields) never crash a service: no UNKNOWN, no INTERNAL."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor
from google.protobuf.message import Message

from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.main import build as build_roster
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import roster_service_pb2
from cadre.scheduling.main import build as build_scheduling
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import scheduling_service_pb2

F = descriptor.FieldDescriptor
NASTY_STRINGS = [
    "",
    " ",
    "x" * 5000,
    "orgUnits/",
    "employees/../../etc",
    "queues/%00",
    "☃" * 50,
    "grants/1",
    "*",
]


def _value(field: descriptor.FieldDescriptor, rng: random.Random, depth: int) -> object:
    if field.type == F.TYPE_STRING:
        return rng.choice(
            [*NASTY_STRINGS, f"{rng.choice(['orgUnits', 'employees', 'queues', 'transfers'])}/{rng.random()}"]
        )
    if field.type == F.TYPE_BOOL:
        return rng.random() < 0.5
    if field.type in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return rng.choice([0, -1, 1, 7, 2**31 - 1, -(2**31)])
    if field.type in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return rng.choice([0, -1, 1, 2**63 - 1])
    if field.type in (F.TYPE_UINT32, F.TYPE_FIXED32, F.TYPE_UINT64, F.TYPE_FIXED64):
        return rng.choice([0, 1, 2**32 - 1])
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return rng.choice([0.0, -1.0, 0.5, 1e308, float("nan"), float("inf")])
    if field.type == F.TYPE_ENUM:
        return rng.choice([*[v.number for v in field.enum_type.values], 999])
    if field.type == F.TYPE_BYTES:
        return b"\x00" * rng.randrange(3)
    raise AssertionError(field.type)


def _fill(message: Message, rng: random.Random, depth: int = 0) -> None:
    for field in message.DESCRIPTOR.fields:
        if rng.random() < 0.3:
            continue  # missing fields are part of the game
        if field.type == F.TYPE_MESSAGE:
            if depth > 3 or field.message_type.GetOptions().map_entry:
                continue
            if field.is_repeated:
                for _ in range(rng.choice([0, 1, 3, 200])):
                    _fill(getattr(message, field.name).add(), rng, depth + 1)
            else:
                child = getattr(message, field.name)
                if field.message_type.full_name == "google.protobuf.Timestamp":
                    child.seconds = rng.choice([0, 1, 10**9, 253402300799, -62135596800])
                else:
                    _fill(child, rng, depth + 1)
                    child.SetInParent()
        elif field.is_repeated:
            getattr(message, field.name).extend(
                _value(field, rng, depth) for _ in range(rng.choice([0, 1, 3]))
            )
        else:
            setattr(message, field.name, _value(field, rng, depth))


def _methods(service_descriptor: descriptor.ServiceDescriptor, module) -> list[tuple[str, type[Message]]]:
    return [(m.name, getattr(module, m.input_type.name)) for m in service_descriptor.methods]


@pytest.mark.parametrize("seed", [1, 2])
async def test_no_generated_request_crashes_roster_or_scheduling(
    seed: int, database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    roster = build_roster(
        testing.host_settings(
            RosterSettings,
            database_url=database_url,
            nats=nats_server,
            data_dir=tmp_path,
            authority_report_streams=(),
        )
    )
    scheduling = build_scheduling(
        testing.host_settings(
            SchedulingSettings, database_url=second_database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    targets = [
        (
            roster,
            "/cadre.roster.v1.RosterService/",
            _methods(roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"], roster_service_pb2),
        ),
        (
            scheduling,
            "/cadre.scheduling.v1.SchedulingService/",
            _methods(
                scheduling_service_pb2.DESCRIPTOR.services_by_name["SchedulingService"],
                scheduling_service_pb2,
            ),
        ),
    ]
    crashes: list[str] = []
    codes: Counter[str] = Counter()
    async with testing.serving(roster), testing.serving(scheduling):
        for host, prefix, methods in targets:
            async with testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
                for name, request_type in methods:
                    call = channel.unary_unary(
                        prefix + name,
                        request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=lambda b: b,
                    )
                    for _ in range(12):
                        request = request_type()
                        _fill(request, rng)
                        try:
                            await call(request, timeout=20)
                        except grpc.aio.AioRpcError as error:
                            codes[error.code().name] += 1
                            if error.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
                                crashes.append(
                                    f"{name}: {error.code().name} {error.details()} <- {request}"[:600]
                                )
    assert crashes == []
    assert codes["INVALID_ARGUMENT"] > 100 and "UNAUTHENTICATED" not in codes, codes
