"""Each service's Alembic migrations build exactly the tables its code declares.

A column added to a `Table(...)` without a revision (or a revision that drifts from the code)
would work in tests that create tables from code and fail on a real upgraded database; here
every service's database is built by its migrations alone and compared with its declared
tables, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine

from cadre.cli import testing
from cadre.cli.processes import SERVICES, NatsServer


def _declared_metadata(service: str) -> list[MetaData]:
    """Every module-level MetaData of the chassis, the shared libraries and the service."""
    package = importlib.import_module(f"cadre.{service}")
    for module in pkgutil.walk_packages(package.__path__, f"cadre.{service}."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: dict[int, MetaData] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith(("cadre.chassis.", "cadre.authority.", f"cadre.{service}.")):
            for value in vars(module).values():
                if isinstance(value, MetaData):
                    found[id(value)] = value
    return list(found.values())


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_migrations_build_the_declared_tables(
    service: str, database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    importlib.import_module(f"cadre.{service}.main").build(
        testing.host_settings(
            testing.settings_class(service), database_url=database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            existing = set(connection.dialect.get_table_names(connection)) - {"alembic_version"}
            merged = MetaData()
            for metadata in _declared_metadata(service):
                # A library's tables count where the service migrated them (the authority projection).
                if any(name in existing for name in metadata.tables):
                    for table in metadata.tables.values():
                        table.to_metadata(merged)
            differences = compare_metadata(MigrationContext.configure(connection), merged)
    finally:
        engine.dispose()
    assert differences == []
