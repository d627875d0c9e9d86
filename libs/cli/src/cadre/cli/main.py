"""The `cadre` command: run the platform locally, see how it is doing, follow its events."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Annotated

import grpc
import typer
from grpc_health.v1 import health_pb2
from rich.console import Console
from rich.table import Table

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.chassis.auth import ensure_dev_keys, issue_token
from cadre.cli import bus_view, reconciliation
from cadre.cli.platform import LocalPlatform
from cadre.cli.processes import (
    NatsServer,
    ServiceProcess,
    StopRequested,
    StopSignals,
    health_status,
    terminate_all,
)
from cadre.cli.scheduling_commands import scheduling_app

app = typer.Typer(help="Cadre, the contact-center workforce platform.", no_args_is_help=True)
events_app = typer.Typer(help="Follow and inspect the event bus.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(scheduling_app, name="scheduling")
console = Console()


@app.command()
def up() -> None:
    """Start NATS (JetStream) and every service on this machine; Ctrl-C stops them all."""
    platform = LocalPlatform.from_environment()
    platform.log_dir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("CADRE_AUTH_PUBLIC_KEY_FILE") and not os.environ.get("CADRE_AUTH_JWKS_URL"):
        ensure_dev_keys(platform.auth_dir)  # before the services start, so they share one key
    nats = NatsServer(
        store_dir=platform.data_dir / "nats", port=platform.nats_port, log_file=platform.log_dir / "nats.log"
    )
    services = [
        ServiceProcess(
            name,
            {"CADRE_NATS_URL": platform.nats_url, "CADRE_DATA_DIR": str(platform.data_dir)},
            port=port,
            log_file=platform.log_dir / f"{name}.log",
        )
        for name, port in platform.service_ports.items()
    ]
    stop = StopSignals()
    stop.install()  # SIGINT too, even when inherited ignored (started in the background)
    try:
        console.print(f"starting nats-server on 127.0.0.1:{platform.nats_port} (store {nats.store_dir})")
        nats.start()
        for service in services:  # side by side: each migrates and connects on its own
            console.print(f"starting {service.name} on {service.address}")
            service.start(wait=False)
        for service in services:
            service.wait_serving()
        console.print(_table(platform, services))
        console.print(f"[green]Cadre is up.[/] Ctrl-C stops everything; data stays in {platform.data_dir}.")
        while not stop.requested:
            for service in services:
                if service.process is not None and service.process.poll() is not None:
                    console.print(
                        f"[red]{service.name} exited with code {service.process.returncode}[/]; "
                        f"see {service.log_file}"
                    )
                    stop.begin()
            time.sleep(0.5)
    except (StopRequested, KeyboardInterrupt):
        pass
    except (TimeoutError, RuntimeError, OSError) as error:
        console.print(f"[red]could not start: {error}[/] (logs in {platform.log_dir})")
        raise typer.Exit(1) from None
    finally:
        stop.begin()
        console.print("stopping services…")
        terminate_all([service.process for service in services])  # they drain side by side
        nats.stop()  # last: the services settle their consumers and outboxes through it
        stop.restore()
        console.print("stopped.")


def _table(platform: LocalPlatform, services: list[ServiceProcess]) -> Table:
    table = Table(title="Cadre on this machine")
    for column in ("component", "address", "data", "log"):
        table.add_column(column, overflow="fold")
    table.add_row(
        "nats (JetStream)",
        platform.nats_url,
        str(platform.data_dir / "nats"),
        str(platform.log_dir / "nats.log"),
    )
    for service in services:
        table.add_row(
            service.name,
            f"grpc://{service.address}",
            str(platform.data_dir / f"{service.name}.db"),
            str(service.log_file),
        )
    return table


_HEALTH = {v: k for k, v in health_pb2.HealthCheckResponse.ServingStatus.items()}


@app.command()
def status() -> None:
    """Health of every service, its outbox backlog, the streams, consumer lag and parked events."""
    platform = LocalPlatform.from_environment()
    table = Table(title="services")
    for column in (
        "service",
        "address",
        "health",
        "outbox pending",
        "consumers (pending / unacked / parked)",
    ):
        table.add_column(column)
    failed = False
    for name in platform.service_ports:
        address = platform.address(name)
        health = health_status(address)
        row = [name, address, _HEALTH.get(health, str(health)), "-", "-"]
        if health == health_pb2.HealthCheckResponse.SERVING:
            try:
                with grpc.insecure_channel(address) as channel:
                    reply = admin_service_pb2_grpc.AdminServiceStub(channel).GetEventStatus(
                        admin_service_pb2.GetEventStatusRequest(),
                        timeout=5,
                        metadata=[("authorization", f"Bearer {platform.admin_token()}")],
                    )
                row[3] = str(reply.outbox_pending)
                row[4] = (
                    ", ".join(
                        f"{c.name}: {c.pending} / {c.unacknowledged} / {c.parked}" for c in reply.consumers
                    )
                    or "none"
                )
            except grpc.RpcError as error:
                row[3] = f"error: {error.code().name}"
        else:
            failed = True
        table.add_row(*row)
    console.print(table)
    try:
        streams = asyncio.run(bus_view.stream_overview(platform.nats_url))
    except Exception as error:
        console.print(f"[red]NATS at {platform.nats_url} not reachable: {error}[/]")
        raise typer.Exit(1) from None
    stream_table = Table(title=f"streams on {platform.nats_url}")
    for column in ("stream", "messages", "bytes", "consumers (pending / unacked)"):
        stream_table.add_column(column)
    for stream in streams:
        stream_table.add_row(
            stream.name,
            str(stream.messages),
            str(stream.bytes),
            ", ".join(f"{c}: {p} / {u}" for c, p, u in stream.consumers) or "none",
        )
    console.print(stream_table)
    if failed:
        raise typer.Exit(1)


@app.command()
def reconcile(
    hours: Annotated[float, typer.Option(help="How far back to look (within the outbox retention)")] = 24.0,
    settle: Annotated[float, typer.Option(help="Leave out events younger than this many seconds")] = 60.0,
    repair: Annotated[bool, typer.Option(help="Publish the missing events again")] = True,
) -> None:
    """Compare what every producer published with what every consumer applied (R20); with
    --repair (the default) publish each missing event again. Exits 1 when a gap stays open."""
    platform = LocalPlatform.from_environment()
    start, end = reconciliation.window(hours=hours, settle_seconds=settle, now=datetime.now(UTC))
    addresses = {name: platform.address(name) for name in platform.service_ports}
    try:
        reports = asyncio.run(
            reconciliation.reconcile(addresses, platform.admin_token(), start=start, end=end, repair=repair)
        )
    except grpc.RpcError as error:
        console.print(f"[red]reconciliation stopped: {error.code().name} {error.details()}[/]")
        raise typer.Exit(1) from None
    table = Table(title=f"published {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC against applied")
    for column in ("consumer", "in service", "of producer", "events checked", "missing", "republished"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.consumer, r.service, r.producer, str(r.checked), str(len(r.missing)), str(r.republished)
        )
    console.print(table)
    if any(len(r.missing) > r.republished for r in reports):
        raise typer.Exit(1)


@app.command()
def token(
    subject: Annotated[str, typer.Argument(help="employees/{id}, services/{name} or system:admin")],
    ttl: Annotated[int, typer.Option(help="Seconds the token stays valid")] = 3600,
) -> None:
    """Print a bearer token for SUBJECT, signed with the development key (embedded profile)."""
    platform = LocalPlatform.from_environment()
    try:
        print(issue_token(platform.signing_key(), subject, ttl_seconds=ttl))
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None


@events_app.command("tail")
def events_tail(
    subject: Annotated[str, typer.Option(help="Subject filter, e.g. cadre.roster.v1.employee.*")] = "cadre.>",
    from_start: Annotated[bool, typer.Option("--all", help="Replay the streams from the beginning")] = False,
    limit: Annotated[int, typer.Option(help="Stop after this many events (0: follow forever)")] = 0,
) -> None:
    """Follow the event bus, each event decoded from its envelope and payload."""
    platform = LocalPlatform.from_environment()
    try:
        asyncio.run(
            bus_view.tail(platform.nats_url, subject, from_start=from_start, limit=limit, out=console)
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    app()
