"""`cadre up`, `cadre status` and `cadre events tail` as a newcomer runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.type import date_pb2

from cadre.cli.processes import SERVICES, free_port
from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

pytestmark = pytest.mark.e2e
CADRE = [sys.executable, "-m", "cadre.cli.main"]


def _env(tmp_path: Path, roster_port: int) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "CADRE_AUTH_PUBLIC_KEY_FILE"}
    return {  # a newcomer's machine: the development key that `cadre up` makes
        **environment,
        "CADRE_DATA_DIR": str(tmp_path / "data"),
        "CADRE_NATS_PORT": str(free_port()),
        "CADRE_ROSTER_GRPC_PORT": str(roster_port),
        # Every service `cadre up` starts gets a free port, so parallel runs never collide.
        **{f"CADRE_{name.upper()}_GRPC_PORT": str(free_port()) for name in SERVICES if name != "roster"},
        "OTEL_TRACES_EXPORTER": "none",
    }


def _start_up(
    env: dict[str, str], log: Path, preexec_fn: Callable[[], object] | None = None
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*CADRE, "up"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, preexec_fn=preexec_fn
    )
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
    env = _env(tmp_path, roster_port)
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


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    queue = [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.add(child)
            queue.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_up_started_with_sigint_ignored_stops_every_child_on_a_signal(tmp_path: Path, signum: int) -> None:
    """A shell starting `cadre up &` hands it SIGINT ignored; `kill -INT` (and `kill`) must still
    stop nats-server and every service, not leave them running or orphaned."""
    log = tmp_path / "up.log"
    up = _start_up(
        _env(tmp_path, free_port()), log, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    )
    children: set[int] = set()
    try:
        children = _descendants(up.pid)
        assert len(children) >= 1 + len(SERVICES), children  # nats-server and every service
        up.send_signal(signum)
        assert up.wait(timeout=60) == 0, log.read_text()
        assert "stopped." in log.read_text()
        deadline = time.monotonic() + 10
        while (left := {pid for pid in children if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"still running after `cadre up` stopped: {left}"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for pid in _descendants(up.pid) | children:  # nothing outlives the test, even failing
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
