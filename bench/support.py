"""What the benchmarks share: a scratch workspace that cleans up after itself (NATS,
throwaway databases, service processes, helper processes) and the helpers' JSON-lines talk.

A helper process is `python -m bench.<module> <role> ...`: it prints one JSON object per
line on stdout and takes one-word commands ("go", "stop") on stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cadre.cli.processes import NatsServer, ServiceProcess

REPO = Path(__file__).resolve().parent.parent
POSTGRES_SERVER_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PROFILE = False  # `python -m bench --profile`
PY_SPY = os.environ.get("BENCH_PY_SPY") or shutil.which("py-spy")
# Frames every stack has (event loop, thread pool, start-up); left out of the profile summary.
_PLUMBING = ("threading.py", "asyncio/", "runpy", "concurrent/futures", "contextlib", "<frozen", "selectors")


def postgres_answers() -> bool:
    engine = create_engine(POSTGRES_SERVER_URL, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def service_env(*, nats_url: str, database_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a Cadre service (or of a helper that builds one) under benchmark."""
    return {
        "CADRE_NATS_URL": nats_url,
        "CADRE_DATABASE_URL": database_url,
        "CADRE_DATA_DIR": str(data_dir),
        "CADRE_LOG_LEVEL": "WARNING",
        "CADRE_LOG_FORMAT": "text",
        "CADRE_READINESS_DRAIN_SECONDS": "0",
        # No exporter, but the tracer provider is still installed: spans are still created.
        "OTEL_TRACES_EXPORTER": "none",
    }


class Child:
    """A helper process of the bench; `read()` returns its next JSON line."""

    def __init__(self, module: str, args: list[str], *, env: Mapping[str, str], log_file: Path) -> None:
        self.name = f"{module} {args[0]}"
        self.log_file = log_file
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO), **env},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def read(self, *, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"{self.name}: no answer in {timeout:.0f}s") from None
            if line is None:
                raise RuntimeError(f"{self.name} exited with code {self.process.wait()}")
            if line.startswith("{"):
                return dict(json.loads(line))

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Workspace(contextlib.ExitStack):
    """A temporary directory and everything started in it; `with` stops and removes it all."""

    def __enter__(self) -> Workspace:
        super().__enter__()
        self.root = Path(self.enter_context(tempfile.TemporaryDirectory(prefix="cadre-bench-")))
        self.profiles: list[str] = []
        return self

    def __exit__(self, *exc_info: Any) -> bool:
        if exc_info[0] is not None:
            self._print_log_tails()
        return bool(super().__exit__(*exc_info))

    def _print_log_tails(self) -> None:
        for log in sorted(self.root.glob("*.log")):
            if log.name.startswith("nats"):
                continue
            tail = log.read_text(errors="replace").splitlines()[-15:]
            if tail:
                print(f"--- {log.name} (last lines)", *tail, sep="\n", file=sys.stderr)

    def _name(self, stem: str) -> str:
        return f"{stem}-{uuid.uuid4().hex[:6]}"

    def nats(self) -> NatsServer:
        """A fresh nats-server with JetStream on a free port and its own store directory."""
        name = self._name("nats")
        server = NatsServer(store_dir=self.root / name, log_file=self.root / f"{name}.log")
        self.callback(server.kill)
        server.start()
        return server

    def database(self, backend: str, stem: str) -> str:
        """The URL of an empty database: a SQLite file here, or a PostgreSQL database dropped on exit."""
        name = self._name(stem).replace("-", "_")
        if backend == "sqlite":
            return f"sqlite:///{self.root / name}.db"
        database = f"bench_{name}"
        admin = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        self.callback(_drop_postgres_database, admin, database)
        return make_url(POSTGRES_SERVER_URL).set(database=database).render_as_string(hide_password=False)

    def service_env(self, nats: NatsServer, database_url: str) -> dict[str, str]:
        return service_env(nats_url=nats.url, database_url=database_url, data_dir=self.root / "data")

    def service(self, name: str, env: Mapping[str, str]) -> ServiceProcess:
        """A Cadre service as a real process, SERVING when this returns."""
        service = ServiceProcess(name, env, log_file=self.root / f"{self._name(name)}.log")
        self.callback(service.terminate, timeout=15)
        service.start()
        return service

    def child(self, module: str, *args: object, env: Mapping[str, str] | None = None) -> Child:
        strings = [str(a) for a in args]
        child = Child(module, strings, env=env or {}, log_file=self.root / f"{self._name(strings[0])}.log")
        self.callback(child.close)
        return child

    @contextlib.contextmanager
    def profiling(self, process: subprocess.Popen[Any] | None, label: str) -> Iterator[None]:
        """With --profile, samples the process with py-spy for the block; the summary goes to `profiles`."""
        if not PROFILE or not PY_SPY or process is None:
            if PROFILE:
                self.profiles.append(f"{label}: not profiled (py-spy not found; set BENCH_PY_SPY)")
            yield
            return
        raw = self.root / f"{self._name('profile')}.txt"
        command = [PY_SPY, "record", "--pid", str(process.pid), "--rate", "200", "--format", "raw"]
        spy = subprocess.Popen([*command, "--nonblocking", "-o", str(raw)], stdout=subprocess.DEVNULL)
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)  # py-spy writes its samples and exits
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
        if raw.exists():
            self.profiles.append(f"{label}: {hot_frames(raw)}")


def hot_frames(raw: Path, top: int = 10) -> str:
    """The frames found in most of py-spy's non-idle samples, with that share (inclusive)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")}
        for frame in frames:
            if (
                frame
                and not any(p in frame for p in _PLUMBING)
                and not frame.startswith(("<module>", "main ("))
            ):
                inclusive[frame] += int(count)
    shares = ", ".join(f"`{frame}` {100 * n / total:.0f}%" for frame, n in inclusive.most_common(top))
    return f"{total} samples; {shares}"


def _drop_postgres_database(admin: Any, database: str) -> None:
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": database}
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
    admin.dispose()


# The helper side of the JSON-lines talk.


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def next_command() -> str:
    """The next line on stdin ("" once the bench has gone away)."""
    return (await asyncio.to_thread(sys.stdin.readline)).strip()
