"""Benchmarks use the test suite's infrastructure fixtures (embedded NATS + Postgres, one session)."""

from tests.conftest import bus_namespace, database_factory, database_url, infra, nats_url, nats_users  # noqa: F401
