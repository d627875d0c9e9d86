"""R22: generated requests for every RPC of every service (random strings, huge lists, unknown
enum values, missing fields) never crash a service, never give UNKNOWN or INTERNAL, and a
request that fails writes nothing.

Each service runs alone on its own NATS and database, so nothing but the fuzzed calls (and the
background work a successful call starts, which the test waits out) writes to its database.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, descriptor_pool, message_factory
from google.protobuf.message import Message
from google.type import date_pb2
from sqlalchemy import Engine, create_engine, inspect, select, table, text

from cadre.cli import testing
from cadre.cli.processes import SERVICES, NatsServer
from cadre.roster.v1 import roster_service_pb2 as roster_pb
from cadre.roster.v1.employee_pb2 import Employee
from cadre.roster.v1.org_unit_pb2 import OrgUnit
from cadre.scheduling.v1 import queue_pb2
from cadre.scheduling.v1 import scheduling_service_pb2 as scheduling_pb
from cadre.scheduling.v1.queue_pb2 import Queue
from cadre.training.v1 import training_service_pb2 as training_pb
from cadre.training.v1.course_pb2 import Course

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
COLLECTIONS = ["orgUnits", "employees", "queues", "transfers", "courses", "payPeriods", "schedules"]
CALLS_PER_METHOD = 12
ROSTER = "/cadre.roster.v1.RosterService/"
SCHEDULING = "/cadre.scheduling.v1.SchedulingService/"
TRAINING = "/cadre.training.v1.TrainingService/"

# A small valid world per service, created before the fuzzing (each factory gets the replies so
# far), so that generated and mutated requests also reach existing resources.
Seed = tuple[str, Callable[[list[Any]], Message]]
SEEDS: dict[str, list[Seed]] = {
    "roster": [
        (
            ROSTER + "CreateOrgUnit",
            lambda _: roster_pb.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="Center", kind=OrgUnit.KIND_CENTER, time_zone="Europe/Lisbon")
            ),
        ),
        (
            ROSTER + "CreateOrgUnit",
            lambda r: roster_pb.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="Billing", kind=OrgUnit.KIND_DEPARTMENT, parent=r[-1].name)
            ),
        ),
        (
            ROSTER + "CreateOrgUnit",
            lambda r: roster_pb.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="Billing early", kind=OrgUnit.KIND_TEAM, parent=r[-1].name)
            ),
        ),
        (
            ROSTER + "HireEmployee",
            lambda r: roster_pb.HireEmployeeRequest(
                employee=Employee(
                    display_name="Ana Costa",
                    org_unit=r[-1].name,
                    role=Employee.ROLE_AGENT,
                    employment_type=Employee.EMPLOYMENT_TYPE_PART_TIME,
                    hire_date=date_pb2.Date(year=2026, month=3, day=2),
                )
            ),
        ),
    ],
    "scheduling": [
        (
            SCHEDULING + "CreateQueue",
            lambda _: scheduling_pb.CreateQueueRequest(
                queue=Queue(
                    display_name="Billing voice",
                    service_level=queue_pb2.ServiceLevelTarget(fraction=0.8, answer_seconds=20),
                    shrinkage=0.3,
                    interval_minutes=30,
                    time_zone="Europe/Berlin",
                )
            ),
        ),
    ],
    "training": [
        (
            TRAINING + "CreateCourse",
            lambda _: training_pb.CreateCourseRequest(
                course=Course(
                    code="BILL-301",
                    title="Billing disputes",
                    skill="billing",
                    level=3,
                    duration_minutes=240,
                    pass_mark=70,
                    validity_months=12,
                    delivery=Course.DELIVERY_CLASSROOM,
                )
            ),
        ),
    ],
}


class Fuzzer:
    """Fills requests with hostile values, and with names the service itself returned earlier
    (so requests also reach past name parsing, into existing resources)."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        self.known_names: list[str] = []
        self.accepted: dict[str, list[Message]] = defaultdict(list)  # method -> requests it accepted

    def request(self, method: str, request_type: type[Message]) -> Message:
        """A generated request, or (half the time, once the method accepted one) an accepted
        request with one field made hostile."""
        accepted = self.accepted[method]
        request = request_type()
        if accepted and self.rng.random() < 0.5:
            request.CopyFrom(self.rng.choice(accepted))
            self.mutate(request)
        else:
            self.fill(request)
        return request

    def mutate(self, message: Message) -> None:
        present = message.ListFields()
        if not present:
            self.fill(message)
            return
        field, value = self.rng.choice(present)
        if field.type == F.TYPE_MESSAGE and not field.is_repeated and self.rng.random() < 0.7:
            self.mutate(value)
        elif self.rng.random() < 0.3:
            message.ClearField(field.name)
        elif field.type == F.TYPE_MESSAGE:
            message.ClearField(field.name)
            self.fill(message)
        elif field.is_repeated:
            getattr(message, field.name).append(self.value(field))
        else:
            setattr(message, field.name, self.value(field))

    def learn(self, reply: Message) -> None:
        for field, value in reply.ListFields():
            if field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                continue
            if field.type == F.TYPE_MESSAGE:
                for child in value if field.is_repeated else [value]:
                    self.learn(child)
            elif field.type == F.TYPE_STRING and not field.is_repeated and "/" in value and len(value) < 200:
                self.known_names.append(value)

    def string(self) -> str:
        rng = self.rng
        if self.known_names and rng.random() < 0.4:
            return rng.choice(self.known_names)
        if rng.random() < 0.2:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return rng.choice([*NASTY_STRINGS, f"{rng.choice(COLLECTIONS)}/{rng.random()}"])

    def fill(self, message: Message, depth: int = 0) -> None:
        rng = self.rng
        for field in message.DESCRIPTOR.fields:
            if rng.random() < 0.3:
                continue  # missing fields are part of the game
            if field.type == F.TYPE_MESSAGE:
                if depth > 3 or field.message_type.GetOptions().map_entry:
                    continue
                if field.is_repeated:
                    for _ in range(rng.choice([0, 1, 3, 200])):
                        self.fill(getattr(message, field.name).add(), depth + 1)
                else:
                    child = getattr(message, field.name)
                    if field.message_type.full_name == "google.protobuf.Timestamp":
                        child.seconds = rng.choice([0, 1, 10**9, 1_800_000_000, 253402300799, -62135596800])
                    else:
                        self.fill(child, depth + 1)
                        child.SetInParent()
            elif field.is_repeated:
                getattr(message, field.name).extend(self.value(field) for _ in range(rng.choice([0, 1, 3])))
            else:
                setattr(message, field.name, self.value(field))

    def value(self, field: descriptor.FieldDescriptor) -> object:
        return self.string() if field.type == F.TYPE_STRING else _value(field, self.rng)


def _value(field: descriptor.FieldDescriptor, rng: random.Random) -> object:
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
        return rng.choice([b"", b"\x00\xff", b"a,b\n" * 100])
    raise AssertionError(field.type)


def _service_module(service: str) -> ModuleType:
    return importlib.import_module(f"cadre.{service}.v1.{service}_service_pb2")


def _methods(module: ModuleType) -> list[tuple[str, type[Message], type[Message]]]:
    """(full method path, request type, reply type) for every RPC of every service in the module."""
    return [
        (
            f"/{svc.full_name}/{method.name}",
            _message_class(method.input_type),
            _message_class(method.output_type),
        )
        for svc in module.DESCRIPTOR.services_by_name.values()
        for method in svc.methods
    ]


def _message_class(message: descriptor.Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(message)


def _call(channel: grpc.aio.Channel, path: str, reply_type: type[Message] | None = None) -> Any:
    if reply_type is None:
        reply_type = _message_class(_method_descriptor(path).output_type)
    return channel.unary_unary(
        path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=reply_type.FromString
    )


def _method_descriptor(path: str) -> descriptor.MethodDescriptor:
    service_name, method = path.strip("/").split("/")
    return descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[method]


def _fingerprint(engine: Engine) -> str:
    """A digest of every row of every table: equal digests mean nothing was written."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for name in sorted(inspect(connection).get_table_names()):
            rows = connection.execute(select(text("*")).select_from(table(name))).all()
            digest.update(name.encode())
            for row in sorted(repr(tuple(row)) for row in rows):
                digest.update(row.encode())
    return digest.hexdigest()


async def _settled(engine: Engine) -> str:
    """The fingerprint once background work a successful call started (relay marks, operations)
    has stopped changing it."""
    previous = await asyncio.to_thread(_fingerprint, engine)
    for _ in range(100):
        await asyncio.sleep(0.1)
        current = await asyncio.to_thread(_fingerprint, engine)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the database kept changing for 10 s after a call")


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_generated_requests_neither_crash_nor_write_when_they_fail(
    service: str, database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    fuzzer = Fuzzer(f"{service}-fuzz")
    build = importlib.import_module(f"cadre.{service}.main").build
    host = build(
        testing.host_settings(
            testing.settings_class(service), database_url=database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    methods = _methods(_service_module(service))
    crashes: list[str] = []
    writes: list[str] = []
    codes: Counter[str] = Counter()
    engine = create_engine(database_url)
    try:
        async with testing.serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
            replies: list[Any] = []
            for path, make_request in SEEDS.get(service, []):
                request = make_request(replies)
                replies.append(await _call(channel, path)(request, timeout=20))
                fuzzer.learn(replies[-1])
                fuzzer.accepted[path].append(request)
            before = await _settled(engine)
            for path, request_type, reply_type in methods:
                call = _call(channel, path, reply_type)
                for _ in range(CALLS_PER_METHOD):
                    request = fuzzer.request(path, request_type)
                    try:
                        fuzzer.learn(await call(request, timeout=20))
                        fuzzer.accepted[path].append(request)
                    except grpc.aio.AioRpcError as error:
                        codes[error.code().name] += 1
                        if error.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL):
                            crashes.append(
                                f"{path}: {error.code().name} {error.details()} <- {request}"[:600]
                            )
                        after = await asyncio.to_thread(_fingerprint, engine)
                        if after != before:
                            writes.append(f"{path}: {error.code().name} {error.details()}"[:300])
                            before = await _settled(engine)
                    else:
                        codes["OK"] += 1
                        before = await _settled(engine)
    finally:
        engine.dispose()
    assert crashes == []
    assert writes == [], "failed requests wrote to the database"
    assert codes["INVALID_ARGUMENT"] > 5 * len(methods) and "UNAUTHENTICATED" not in codes, codes
