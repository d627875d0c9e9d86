from typing import ClassVar

import pytest

from cadre.chassis.settings import ServiceSettings, load_settings


class ExampleSettings(ServiceSettings):
    service_name: ClassVar[str] = "example"
    default_grpc_port: ClassVar[int] = 7999


def test_defaults_are_safe_and_local(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CADRE_DATA_DIR", str(tmp_path))
    settings = load_settings(ExampleSettings)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'example.db'}"
    assert settings.sqlite_synchronous == "FULL"
    assert settings.resolved_grpc_port == 7999
    assert settings.nats_url.endswith(":14222")  # never the 4222 a machine's own NATS may hold
    assert settings.stream_name == "CADRE_EXAMPLE"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CADRE_SQLITE_SYNCHRONOUS", "OFF"),
        ("CADRE_SQLITE_SYNCHRONOUS", "NORMAL"),
        ("CADRE_CONSUMER_MAX_DELIVER", "-1"),
        ("CADRE_DATABASE_URL", "sqlite:///:memory:"),
    ],
)
def test_unsafe_durability_settings_stop_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as raised:
        load_settings(ExampleSettings)
    assert variable in str(raised.value)
    assert "unsafe" in str(raised.value)


def test_malformed_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADRE_GRPC_PORT", "seventy")
    with pytest.raises(SystemExit) as raised:
        load_settings(ExampleSettings)
    assert "CADRE_GRPC_PORT" in str(raised.value)


@pytest.mark.parametrize(
    ("missing", "present"),
    [
        ("CADRE_TLS_CERT_FILE", {"CADRE_NATS_USER": "example"}),
        (
            "CADRE_NATS_USER",
            {"CADRE_TLS_CERT_FILE": "c", "CADRE_TLS_KEY_FILE": "k", "CADRE_TLS_CA_FILE": "a"},
        ),
    ],
)
def test_production_refuses_to_start_without_its_service_identity(
    monkeypatch: pytest.MonkeyPatch, missing: str, present: dict[str, str]
) -> None:
    monkeypatch.setenv("CADRE_PROFILE", "production")
    monkeypatch.setenv("CADRE_AUTH_PUBLIC_KEY_FILE", "/etc/cadre/auth/public.pem")
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as raised:
        load_settings(ExampleSettings)
    assert missing in str(raised.value)


def test_half_a_tls_configuration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADRE_TLS_CERT_FILE", "/etc/cadre/tls/tls.crt")
    with pytest.raises(SystemExit) as raised:
        load_settings(ExampleSettings)
    assert "CADRE_TLS_KEY_FILE" in str(raised.value)
