"""`cadre up`, `cadre status` and `cadre events tail` as a newcomer runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import pytest
from google.type import date_pb2

from cadre.cli.processes import free_port
from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

pytestmark = pytest.mark.e2e
CADRE = [sys.executable, "-m", "cadre.cli.main"]


def _start_up(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([*CADRE, "up"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "Cadre is up" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return process


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, log.read_text()
    assert "stopped." in log.read_text()


def _admin(env: dict[str, str]) -> list[tuple[str, str]]:
    token = subprocess.run(
        [*CADRE, "token", "system:admin"], env=env, capture_output=True, text=True, timeout=60
    )
    assert token.returncode == 0, token.stderr
    return [("authorization", f"Bearer {token.stdout.strip()}")]


def _hire(address: str, auth: list[tuple[str, str]]) -> str:
    with grpc.insecure_channel(address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        parent = ""
        for kind in (
            org_unit_pb2.OrgUnit.KIND_CENTER,
            org_unit_pb2.OrgUnit.KIND_DEPARTMENT,
            org_unit_pb2.OrgUnit.KIND_TEAM,
        ):
            parent = roster.CreateOrgUnit(
                roster_service_pb2.CreateOrgUnitRequest(
                    org_unit=org_unit_pb2.OrgUnit(
                        display_name="U", kind=kind, parent=parent, time_zone="Asia/Manila"
                    )
                ),
                timeout=10,
                metadata=auth,
            ).name
        employee = roster.HireEmployee(
            roster_service_pb2.HireEmployeeRequest(
                employee=employee_pb2.Employee(
                    display_name="Maria Santos",
                    org_unit=parent,
                    role=employee_pb2.Employee.ROLE_AGENT,
                    employment_type=employee_pb2.Employee.EMPLOYMENT_TYPE_FULL_TIME,
                    hire_date=date_pb2.Date(year=2026, month=2, day=2),
                ),
                request_id=str(uuid.uuid4()),
            ),
            timeout=10,
            metadata=auth,
        )
        return employee.name


def test_up_status_tail_and_data_kept_across_restarts(tmp_path: Path) -> None:
    roster_port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "CADRE_AUTH_PUBLIC_KEY_FILE"}
    env = {  # a newcomer's machine: the development key that `cadre up` makes
        **environment,
        "CADRE_DATA_DIR": str(tmp_path / "data"),
        "CADRE_NATS_PORT": str(free_port()),
        "CADRE_ROSTER_GRPC_PORT": str(roster_port),
        # Every service `cadre up` starts gets a free port, so parallel runs never collide.
        "CADRE_SCHEDULING_GRPC_PORT": str(free_port()),
        "OTEL_TRACES_EXPORTER": "none",
    }
    address = f"127.0.0.1:{roster_port}"
    log = tmp_path / "up.log"
    up = _start_up(env, log)
    try:
        auth = _admin(env)
        employee = _hire(address, auth)
        status = subprocess.run([*CADRE, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "SERVING" in status.stdout and "CADRE_ROSTER" in status.stdout
        assert "error" not in status.stdout, status.stdout  # every service answered its AdminService
        tail = subprocess.run(
            [*CADRE, "events", "tail", "--all", "--limit", "4"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert tail.returncode == 0, tail.stderr
        assert "cadre.roster.v1.employee.hired" in tail.stdout and employee in tail.stdout
    finally:
        _stop(up, log)

    down = subprocess.run([*CADRE, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode != 0

    up = _start_up(env, log)
    try:
        with grpc.insecure_channel(address) as channel:
            kept = roster_service_pb2_grpc.RosterServiceStub(channel).GetEmployee(
                roster_service_pb2.GetEmployeeRequest(name=employee), timeout=10, metadata=auth
            )
        assert kept.display_name == "Maria Santos"
    finally:
        _stop(up, log)
