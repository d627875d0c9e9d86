"""Service settings: one pydantic-settings class per service, `CADRE_` prefix, fail fast.

A missing or unsafe value stops the process at start with the variable's name
(RELIABILITY R7), instead of losing commits or events later.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CADRE_"
DEFAULT_NATS_PORT = 14222  # not 4222: a machine may already run its own NATS there


class UnsafeSettingError(ValueError):
    """A setting that would lose data; the message names the variable."""


class ServiceSettings(BaseSettings):
    """What every service reads from its environment. Subclasses set the service name and port."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    service_name: ClassVar[str] = ""
    default_grpc_port: ClassVar[int] = 0

    data_dir: Path = Path("data")
    database_url: str = ""
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL", "OFF"] = "FULL"
    nats_url: str = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"
    # R15: the service's own NATS user, allowed to publish on its own subjects only.
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")
    # R15: mutual TLS between services; all three or none.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None
    # With mutual TLS: a plaintext port that serves grpc.health only, for probes without a
    # client certificate; 0 for none.
    health_port: int = Field(default=0, ge=0, le=65535)
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=0, ge=0, le=65535)
    stream_replicas: int = Field(default=1, ge=1, le=5)
    stream_duplicate_window_seconds: float = Field(default=120.0, gt=0)
    relay_batch_size: int = Field(default=512, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    # JetStream acknowledges before its disk sync (every 2 minutes by default), so rows
    # published this recently are published again after the broker restarts.
    relay_republish_window_seconds: float = Field(default=300.0, ge=0)
    outbox_retention_hours: float = Field(default=24.0, gt=0)
    consumer_max_deliver: int = Field(default=5)
    consumer_ack_wait_seconds: float = Field(default=30.0, gt=0)
    consumer_batch_size: int = Field(default=256, ge=1, le=10_000)
    consumer_backoff_seconds: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    readiness_drain_seconds: float = Field(default=0.2, ge=0)
    default_deadline_seconds: float = Field(default=10.0, gt=0)
    max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # R21: calls one caller (token subject) may have in flight at once; more are RESOURCE_EXHAUSTED.
    max_calls_in_flight_per_caller: int = Field(default=100, ge=1, le=100_000)
    db_threads: int = Field(default=8, ge=1, le=256)
    profile: Literal["embedded", "production"] = "embedded"
    auth_algorithm: Literal["EdDSA", "RS256", "ES256"] = "EdDSA"
    auth_issuer: str = "cadre"
    auth_audience: str = "cadre"
    # PEM public key; in the embedded profile, the development key under the data folder.
    auth_public_key_file: Path | None = None
    auth_jwks_url: str = ""
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> ServiceSettings:
        if self.sqlite_synchronous in ("NORMAL", "OFF"):
            raise UnsafeSettingError(
                f"{ENV_PREFIX}SQLITE_SYNCHRONOUS={self.sqlite_synchronous} can lose committed "
                "transactions on power loss; use FULL or EXTRA"
            )
        if self.consumer_max_deliver < 1:
            raise UnsafeSettingError(
                f"{ENV_PREFIX}CONSUMER_MAX_DELIVER={self.consumer_max_deliver} means unbounded "
                "redelivery: a poison message would never be parked; use 1 or more"
            )
        if self.database_url.startswith("sqlite") and ":memory:" in self.database_url:
            raise UnsafeSettingError(
                f"{ENV_PREFIX}DATABASE_URL points at an in-memory database, which loses every "
                "commit when the process stops"
            )
        if len(self.consumer_backoff_seconds) >= self.consumer_max_deliver + 1:
            raise UnsafeSettingError(
                f"{ENV_PREFIX}CONSUMER_BACKOFF_SECONDS has more steps than "
                f"{ENV_PREFIX}CONSUMER_MAX_DELIVER allows deliveries"
            )
        tls = (self.tls_cert_file, self.tls_key_file, self.tls_ca_file)
        if any(tls) and not all(tls):
            raise UnsafeSettingError(
                f"{ENV_PREFIX}TLS_CERT_FILE, {ENV_PREFIX}TLS_KEY_FILE and {ENV_PREFIX}TLS_CA_FILE go "
                "together: with only some of them a service would serve or call without peer checks"
            )
        if self.profile == "production" and not all(tls):
            raise UnsafeSettingError(
                f"{ENV_PREFIX}PROFILE=production needs {ENV_PREFIX}TLS_CERT_FILE, {ENV_PREFIX}TLS_KEY_FILE "
                f"and {ENV_PREFIX}TLS_CA_FILE: services authenticate each other with mutual TLS"
            )
        if self.profile == "production" and not self.nats_user:
            raise UnsafeSettingError(
                f"{ENV_PREFIX}PROFILE=production needs {ENV_PREFIX}NATS_USER and {ENV_PREFIX}NATS_PASSWORD: "
                "each service publishes as its own broker user, on its own subjects only"
            )
        if self.profile == "production" and not (self.auth_public_key_file or self.auth_jwks_url):
            raise UnsafeSettingError(
                f"{ENV_PREFIX}PROFILE=production needs {ENV_PREFIX}AUTH_PUBLIC_KEY_FILE or "
                f"{ENV_PREFIX}AUTH_JWKS_URL: the development key is for one machine only"
            )
        return self

    @property
    def auth_key_dir(self) -> Path:
        return self.data_dir / "auth"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"

    @property
    def resolved_grpc_port(self) -> int:
        return self.grpc_port or self.default_grpc_port

    @property
    def mutual_tls(self) -> tuple[Path, Path, Path] | None:
        """(certificate, key, CA) when the service talks mutual TLS."""
        if self.tls_cert_file and self.tls_key_file and self.tls_ca_file:
            return self.tls_cert_file, self.tls_key_file, self.tls_ca_file
        return None

    @property
    def stream_name(self) -> str:
        return f"CADRE_{self.service_name.upper()}"

    @property
    def subject_prefix(self) -> str:
        return f"cadre.{self.service_name}.v1"


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S]) -> S:
    """Reads the environment; on a bad value, raises SystemExit naming the variable."""
    try:
        return cls()
    except ValidationError as error:
        unsafe, invalid = [], []
        for problem in error.errors():
            cause = (problem.get("ctx") or {}).get("error")
            if isinstance(cause, UnsafeSettingError):
                unsafe.append(str(cause))
            else:
                variable = ENV_PREFIX + "_".join(str(p) for p in problem["loc"]).upper()
                invalid.append(f"{variable}: {problem['msg']}")
        lines = [f"unsafe setting: {line}" for line in unsafe] + [
            f"invalid setting: {line}" for line in invalid
        ]
        raise SystemExit(f"{cls.service_name} refuses to start:\n  " + "\n  ".join(lines)) from None
