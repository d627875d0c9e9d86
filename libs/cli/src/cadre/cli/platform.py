"""Where the local platform lives: data folder, NATS port and each service's address.

`cadre up` starts what this describes and `cadre status` and `cadre events` look at
it, so both read the same `CADRE_*` variables with the same defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cadre.chassis.auth import DEV_PRIVATE_KEY, SYSTEM_ADMIN, issue_token
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

    @property
    def auth_dir(self) -> Path:
        return self.data_dir / "auth"

    def signing_key(self) -> Path:
        """The key `cadre token` signs with: CADRE_AUTH_SIGNING_KEY_FILE, else the dev key."""
        configured = os.environ.get("CADRE_AUTH_SIGNING_KEY_FILE")
        path = Path(configured) if configured else self.auth_dir / DEV_PRIVATE_KEY
        if not path.exists():
            raise FileNotFoundError(
                f"no signing key at {path}: `cadre up` creates the development key on first start "
                "(embedded profile); elsewhere, tokens come from your identity provider"
            )
        return path

    def admin_token(self, ttl_seconds: int = 300) -> str:
        return issue_token(self.signing_key(), SYSTEM_ADMIN, ttl_seconds=ttl_seconds)
