"""Pytest fixtures every Cadre test suite shares: a real database and a real NATS server.

The database is a SQLite file per test by default, or a fresh PostgreSQL database per
test when `CADRE_TEST_DATABASE_URL` names a server (the database in that URL is only
used to create and drop the per-test ones). NATS is a `nats-server` with JetStream on
a free loopback port and a temporary store directory.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cadre.chassis.auth import SYSTEM_ADMIN, ensure_dev_keys, issue_token
from cadre.chassis.client import open_channel
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import ServiceSettings
from cadre.cli.processes import NatsServer, free_port

POSTGRES_URL_VARIABLE = "CADRE_TEST_DATABASE_URL"


def new_database_url(tmp_path: Path, name: str = "service") -> Iterator[str]:
    """Yields the URL of an empty database and drops it afterwards."""
    server_url = os.environ.get(POSTGRES_URL_VARIABLE, "")
    if not server_url:
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    database = f"cadre_test_{name}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(server_url).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": database},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield from new_database_url(tmp_path)


@pytest.fixture
def second_database_url(tmp_path: Path) -> Iterator[str]:
    yield from new_database_url(tmp_path, "consumer")


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path / "nats-store", log_file=tmp_path / "nats.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 20.0, what: str = "condition"
) -> None:
    """Waits, polling every 50 ms, until `condition` (plain or async) holds; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if await result if inspect.isawaitable(result) else result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def serving(
    host: ServiceHost, *, timeout: float = 20.0, probe_port: int = 0
) -> AsyncIterator[ServiceHost]:
    """Runs a service host in this event loop until the block ends; yields once it is SERVING
    (read on `probe_port` when the service serves mutual TLS and health in plaintext there)."""
    task = asyncio.create_task(host.serve())
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            if task.done():
                task.result()
                raise RuntimeError("service stopped before serving")
            if host.bound_port:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{probe_port or host.bound_port}") as channel:
                    try:
                        reply = await health_pb2_grpc.HealthStub(channel).Check(
                            health_pb2.HealthCheckRequest(), timeout=1
                        )
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            break
                    except grpc.aio.AioRpcError:
                        pass
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("service not SERVING in time")
            await asyncio.sleep(0.05)
        yield host
    finally:
        host.request_shutdown()
        await asyncio.wait_for(task, timeout=timeout)


# One signing key for the whole test run: every service started by a test (in-process or
# as a child process, which inherits the environment) verifies with its public half.
_TEST_KEYS = Path(tempfile.mkdtemp(prefix="cadre-test-keys-"))
TEST_SIGNING_KEY, _TEST_VERIFYING_KEY = ensure_dev_keys(_TEST_KEYS)
os.environ["CADRE_AUTH_PUBLIC_KEY_FILE"] = str(_TEST_VERIFYING_KEY)


def token(subject: str = SYSTEM_ADMIN, **options: Any) -> str:
    return issue_token(TEST_SIGNING_KEY, subject, **options)


def channel(
    address: str, subject: str = SYSTEM_ADMIN, *, credentials: grpc.ChannelCredentials | None = None
) -> grpc.aio.Channel:
    """A client channel to a service under test, acting as `subject` (the platform admin by default)."""
    signed = token(subject)
    return open_channel(address, token_source=lambda: signed, default_timeout=30, credentials=credentials)


def service_env(database_url: str, nats: NatsServer, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a service process under test: quick timings, readable logs."""
    return {
        "CADRE_DATABASE_URL": database_url,
        "CADRE_NATS_URL": nats.url,
        "CADRE_DATA_DIR": str(data_dir),
        "CADRE_LOG_FORMAT": "text",
        "CADRE_READINESS_DRAIN_SECONDS": "0.3",
        "CADRE_CONSUMER_ACK_WAIT_SECONDS": "2",
        "CADRE_CONSUMER_BACKOFF_SECONDS": "[0.2, 0.5]",
        "CADRE_CONSUMER_MAX_DELIVER": "3",
        "CADRE_RELAY_POLL_SECONDS": "0.2",
        **extra,
    }


S = TypeVar("S", bound=ServiceSettings)


def host_settings(
    cls: type[S], *, database_url: str, nats: NatsServer, data_dir: Path, **overrides: Any
) -> S:
    """Settings for a service host run in-process by a test: a free port, no readiness drain,
    readable logs; `overrides` for what the test is about."""
    fields: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats.url,
        "grpc_port": free_port(),
        "data_dir": data_dir,
        "readiness_drain_seconds": 0,
        "log_format": "text",
    }
    return cls(**{**fields, **overrides})


def settings_class(service: str) -> type[ServiceSettings]:
    """The one `ServiceSettings` subclass a service defines in `cadre.<service>.settings`."""
    module = importlib.import_module(f"cadre.{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ServiceSettings)
        and value is not ServiceSettings
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise LookupError(f"cadre.{service}.settings should define one ServiceSettings subclass: {found}")
    return found[0]
