"""The platform as real processes: nats-server, roster, and the tally consumer as a witness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.cli.testing import service_env


@pytest.fixture
def roster_process(database_url: str, nats_server: NatsServer, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "roster", service_env(database_url, nats_server, tmp_path), log_file=tmp_path / "roster.log"
    )
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def tally_process(
    second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> Iterator[ServiceProcess]:
    process = ServiceProcess(
        "tally",
        service_env(second_database_url, nats_server, tmp_path, CADRE_TALLY_STREAM="CADRE_ROSTER"),
        log_file=tmp_path / "tally.log",
    )
    try:
        yield process
    finally:
        process.kill()
