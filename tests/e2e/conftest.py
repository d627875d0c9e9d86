"""The platform as real processes: nats-server, roster, and the tally consumer as a witness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cadre.cli.processes import NatsServer, ServiceProcess


def service_env(database_url: str, nats: NatsServer, data_dir: Path, **extra: str) -> dict[str, str]:
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
