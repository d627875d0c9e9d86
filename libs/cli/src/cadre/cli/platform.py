"""Where the local platform lives: data folder, NATS port and each service's address.

`cadre up` starts what this describes and `cadre status` and `cadre events` look at
it, so both read the same `CADRE_*` variables with the same defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cadre.chassis.settings import DEFAULT_NATS_PORT
from cadre.cli.processes import SERVICES


@dataclass(frozen=True)
class LocalPlatform:
    data_dir: Path
    nats_port: int
    service_ports: dict[str, int]

    @classmethod
    def from_environment(cls) -> LocalPlatform:
        return cls(
            data_dir=Path(os.environ.get("CADRE_DATA_DIR", "data")).resolve(),
            nats_port=int(os.environ.get("CADRE_NATS_PORT", DEFAULT_NATS_PORT)),
            service_ports={
                name: int(os.environ.get(f"CADRE_{name.upper()}_GRPC_PORT", port))
                for name, port in SERVICES.items()
            },
        )

    @property
    def nats_url(self) -> str:
        return os.environ.get("CADRE_NATS_URL", f"nats://127.0.0.1:{self.nats_port}")

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.service_ports[service]}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"
