"""Fixtures shared by every test suite in the repository (see cadre.cli.testing)."""

import os

# Spans are still created and propagated; they are just not printed during tests.
os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")

pytest_plugins = ["cadre.cli.testing"]
