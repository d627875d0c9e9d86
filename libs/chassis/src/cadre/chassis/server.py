"""The process around a service: gRPC server, health, reflection, relay, consumers, shutdown.

Health tells the truth: NOT_SERVING until the database answers and the event bus is
connected with its stream in place, and NOT_SERVING again as soon as SIGTERM arrives,
before in-flight calls drain (RELIABILITY R12).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from sqlalchemy import text

from cadre.admin.v1 import admin_service_pb2_grpc
from cadre.chassis import service_identity
from cadre.chassis.admin import SERVICE as ADMIN_SERVICE
from cadre.chassis.admin import AdminServicer
from cadre.chassis.auth import TokenVerifier, ensure_dev_keys
from cadre.chassis.bus import EventBus
from cadre.chassis.consumer import DurableConsumer, Handler
from cadre.chassis.db import Database
from cadre.chassis.interceptors import ChassisInterceptor
from cadre.chassis.operations import OperationRunner, OperationsServicer
from cadre.chassis.relay import OutboxRelay
from cadre.chassis.settings import ServiceSettings
from cadre.chassis.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)
OPERATIONS_SERVICE = operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name

AddServicer = Callable[[Any, grpc.aio.Server], None]


def _traced(details: grpc.HandlerCallDetails) -> bool:
    # A plain prefix test: the instrumentation's own filter combinators cost ~6% of a call.
    return not details.method.startswith(("/grpc.health", "/grpc.reflection"))


def token_verifier(settings: ServiceSettings) -> TokenVerifier:
    public_key = settings.auth_public_key_file
    if not public_key and not settings.auth_jwks_url:
        _, public_key = ensure_dev_keys(settings.auth_key_dir)
    return TokenVerifier(
        algorithm=settings.auth_algorithm,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        public_key_file=public_key,
        jwks_url=settings.auth_jwks_url,
    )


class ServiceHost:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        setup_logging(settings.service_name, level=settings.log_level, fmt=settings.log_format)
        self._tracer_provider = setup_tracing(settings.service_name)
        self.db = Database(
            settings.resolved_database_url,
            source=settings.service_name,
            sqlite_synchronous=settings.sqlite_synchronous,
            threads=settings.db_threads,
        )
        self.bus = EventBus(
            settings.nats_url,
            name=f"cadre-{settings.service_name}",
            user=settings.nats_user,
            password=settings.nats_password.get_secret_value(),
        )
        self.relay = OutboxRelay(
            self.db,
            self.bus,
            stream=settings.stream_name,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            republish_window=settings.relay_republish_window_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        self.operations = OperationRunner(self.db)
        self.health = health.aio.HealthServicer()
        self.consumers: list[DurableConsumer] = []
        self._required_consumers: list[DurableConsumer] = []
        self._services: list[tuple[AddServicer, Any, str]] = []
        self._periodic: list[tuple[str, float, Callable[[], object]]] = []
        self._shutdown = asyncio.Event()
        self.bound_port = 0

    def migrate(self, *service_versions: Path) -> None:
        self.db.migrate(*service_versions)

    def add_service(self, add: AddServicer, servicer: Any, full_name: str) -> None:
        self._services.append((add, servicer, full_name))

    def add_consumer(
        self,
        *,
        name: str,
        stream: str,
        subjects: list[str],
        handler: Handler,
        required: bool = True,
        opening_types: Collection[str] = (),
    ) -> DurableConsumer:
        """A durable consumer run while serving. A required one must be in place before the
        service reports SERVING; an optional one waits for its stream to appear. Events of
        `opening_types` pass a held event of their entity (see `DurableConsumer`)."""
        s = self.settings
        consumer = DurableConsumer(
            db=self.db,
            bus=self.bus,
            name=name,
            stream=stream,
            subjects=subjects,
            handler=handler,
            batch_size=s.consumer_batch_size,
            max_deliver=s.consumer_max_deliver,
            ack_wait=s.consumer_ack_wait_seconds,
            backoff=s.consumer_backoff_seconds,
            opening_types=opening_types,
        )
        self.consumers.append(consumer)
        if required:
            self._required_consumers.append(consumer)
        return consumer

    def add_periodic(self, name: str, every_seconds: float, work: Callable[[], object]) -> None:
        """Runs blocking `work` on the database pool every `every_seconds` while serving."""
        self._periodic.append((name, every_seconds, work))

    async def _run_periodic(self, name: str, every_seconds: float, work: Callable[[], object]) -> None:
        while not self._shutdown.is_set():
            try:
                await self.db.run(work)
            except Exception:
                log.exception("periodic job %s failed; trying again in %ss", name, every_seconds)
            try:
                await asyncio.wait_for(self._shutdown.wait(), timeout=every_seconds)
            except TimeoutError:
                pass

    async def _set_health(self, status: int) -> None:
        for name in ["", *(full for _, _, full in self._services)]:
            await self.health.set(name, status)  # type: ignore[arg-type]

    async def _become_ready(self) -> None:
        await self.db.run(self._ping_database)
        interrupted = await self.db.run(self.operations.abandon_interrupted)
        if interrupted:
            log.warning("%d operations were interrupted by the last stop; marked ABORTED", interrupted)
        await self.bus.connect()
        await self.bus.ensure_stream(
            name=self.settings.stream_name,
            subjects=[f"{self.settings.subject_prefix}.>"],
            replicas=self.settings.stream_replicas,
            duplicate_window=self.settings.stream_duplicate_window_seconds,
        )
        for consumer in self._required_consumers:
            await consumer.ensure()

    def _ping_database(self) -> None:
        with self.db.reader() as connection:
            connection.execute(text("SELECT 1"))

    def request_shutdown(self) -> None:
        self._shutdown.set()

    async def serve(self) -> None:
        s = self.settings
        interceptors = [
            # Health and reflection stay untraced: the tracing interceptor cannot wrap
            # Health.Watch, which streams through context.write.
            aio_server_interceptor(tracer_provider=self._tracer_provider, filter_=_traced),
            ChassisInterceptor(
                domain=f"{s.service_name}.cadre.dev",
                verifier=token_verifier(s),
                max_in_flight_per_caller=s.max_calls_in_flight_per_caller,
            ),
        ]
        server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", s.max_message_bytes),
                ("grpc.max_send_message_length", s.max_message_bytes),
            ],
        )
        for add, servicer, _ in self._services:
            add(servicer, server)
        admin_service_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(self), server)
        operations_pb2_grpc.add_OperationsServicer_to_server(OperationsServicer(self.db), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection(
            [
                *(full for _, _, full in self._services),
                ADMIN_SERVICE,
                OPERATIONS_SERVICE,
                health.SERVICE_NAME,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        address = f"{s.grpc_host}:{s.resolved_grpc_port}"
        tls = s.mutual_tls
        self.bound_port = (
            server.add_secure_port(address, service_identity.server_credentials(*tls))
            if tls
            else server.add_insecure_port(address)
        )
        if not self.bound_port:
            raise SystemExit(f"{s.service_name}: cannot listen on {address} (CADRE_GRPC_PORT)")
        await server.start()
        probe = await self._start_health_probe(s.health_port) if tls and s.health_port else None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_shutdown)
        log.info("%s listening on %s:%d", s.service_name, s.grpc_host, self.bound_port)

        ready = asyncio.create_task(self._become_ready())
        stop = asyncio.create_task(self._shutdown.wait())
        await asyncio.wait({ready, stop}, return_when=asyncio.FIRST_COMPLETED)
        tasks: list[asyncio.Task[None]] = []
        if ready.done() and ready.exception() is None:
            await self._set_health(health_pb2.HealthCheckResponse.SERVING)
            log.info("%s serving", s.service_name)
            tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
            tasks.extend(asyncio.create_task(c.run(), name=c.name) for c in self.consumers)
            tasks.extend(asyncio.create_task(self._run_periodic(*job), name=job[0]) for job in self._periodic)
        elif ready.done():
            log.error("%s could not become ready: %s", s.service_name, ready.exception())
            self._shutdown.set()
        await self._shutdown.wait()
        ready.cancel()
        await self._drain(server, tasks)
        if probe is not None:
            await probe.stop(0)

    async def _start_health_probe(self, port: int) -> grpc.aio.Server:
        """Health alone, in plaintext, for probes that cannot present a client certificate
        (Kubernetes' gRPC probes); everything else stays behind mutual TLS."""
        probe = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, probe)
        if not probe.add_insecure_port(f"{self.settings.grpc_host}:{port}"):
            raise SystemExit(f"{self.settings.service_name}: cannot listen on {port} (CADRE_HEALTH_PORT)")
        await probe.start()
        return probe

    async def _drain(self, server: grpc.aio.Server, tasks: list[asyncio.Task[None]]) -> None:
        s = self.settings
        log.info("%s shutting down: NOT_SERVING, draining in-flight calls", s.service_name)
        await self.health.enter_graceful_shutdown()
        await asyncio.sleep(s.readiness_drain_seconds)
        await server.stop(s.shutdown_grace_seconds)
        for consumer in self.consumers:
            await consumer.stop()
        await self.operations.wait_idle(s.shutdown_grace_seconds)
        self.relay.stop()
        _, late = await asyncio.wait(tasks, timeout=s.shutdown_grace_seconds) if tasks else ((), ())
        for task in late:
            task.cancel()
        await self.bus.close()
        self._tracer_provider.force_flush()
        self.db.dispose()
        log.info("%s stopped", s.service_name)
