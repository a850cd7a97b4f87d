"""The whole stack's health: Kafka and Postgres from the launcher, ClickHouse from its reader."""

from __future__ import annotations

from compose import stack
from projections.metrics_reader import clickhouse_health
from runtime.readiness import ServiceHealth
from runtime.settings import Settings


def up(settings: Settings) -> list[ServiceHealth]:
    """Start the local stack (idempotent) and report every service's health."""
    return [*stack.up(settings), clickhouse_health(settings)]


def status(settings: Settings) -> list[ServiceHealth]:
    """Every service's health, starting nothing."""
    return [*stack.status(settings), clickhouse_health(settings)]
