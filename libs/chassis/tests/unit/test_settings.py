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
