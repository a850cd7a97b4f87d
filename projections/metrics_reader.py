"""Open the metrics store for reading from any process.

CLICKHOUSE_URL set -> the ClickHouse server. Otherwise the embedded chDB: through the owner
process's read-only endpoint when the metrics projection runs, or directly when it does not.
Every way reads the same: one SELECT per query, checked and run read-only with limits
(projections/metrics_query.py); with `tenant` only that tenant's rows.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from projections.metrics_auth import operator_token, tenant_token
from projections.metrics_errors import MetricsStoreError, QueryRefused
from projections.metrics_query import ReadLimits
from projections.metrics_store import ChdbStore, ServerStore
from runtime.readiness import ServiceHealth
from runtime.settings import Settings


class MetricsReader(Protocol):
    database: str

    def query(self, sql: str) -> list[dict[str, Any]]: ...

    def describe(self) -> str: ...


class HttpReader:
    """Reads through the chDB owner's endpoint (projections.metrics_http) with a bearer
    `token` (projections.metrics_auth): the operator's, or a tenant's."""

    def __init__(self, port: int, database: str, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.database = database
        self._token = token

    def ping(self, timeout: float = 1.0) -> str:
        with urllib.request.urlopen(f"{self.base}/ping", timeout=timeout) as resp:
            return resp.read().decode()

    def query(self, sql: str) -> list[dict[str, Any]]:
        req = urllib.request.Request(f"{self.base}/query", data=sql.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {self._token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                body = resp.read().decode()
        except urllib.error.HTTPError as exc:
            error = QueryRefused if exc.code == 403 else MetricsStoreError
            raise error(f"metrics endpoint ({exc.code}): {exc.read().decode()}") from exc
        return [json.loads(line) for line in body.splitlines() if line]

    def describe(self) -> str:
        return f"{self.ping()} (via the metrics projection on {self.base})"


def read_limits(settings: Settings) -> ReadLimits:
    """The limits every read of the metrics store runs under (AUTERITY_METRICS_QUERY_*)."""
    return ReadLimits(timeout_s=settings.metrics_query_timeout_s,
                      memory_bytes=settings.metrics_query_memory_mb * 1024 * 1024,
                      max_rows=settings.metrics_query_max_rows,
                      threads=settings.metrics_query_threads)


@contextmanager
def open_metrics_reader(settings: Settings, *, direct: bool = True,
                        tenant: str | None = None) -> Iterator[MetricsReader]:
    """A read-only reader of the metrics store: the operator's (every table), or with
    `tenant` one that sees only that tenant's rows. `direct=False` never opens chDB in this
    process (it would lock the directory the projections process must own): without a
    serving owner it raises MetricsStoreError instead; long-running processes (the worker)
    read that way."""
    limits = read_limits(settings)
    if settings.clickhouse_url:
        store = ServerStore(settings.clickhouse_url, settings.clickhouse_database, limits)
        try:
            yield store.reader(tenant)
        finally:
            store.close()
        return
    key = settings.resolved_metrics_endpoint_key()
    token = operator_token(key) if tenant is None else tenant_token(key, tenant)
    http = HttpReader(settings.metrics_port, settings.clickhouse_database, token)
    try:
        owner = http.ping()
    except OSError as exc:
        if not direct:
            raise MetricsStoreError(f"the metrics projection does not answer on port "
                                    f"{settings.metrics_port} ({exc})") from exc
        chdb = ChdbStore(settings.chdb_dir, settings.clickhouse_database, open_timeout=5,
                         limits=limits)
        try:
            yield chdb.reader(tenant)
        finally:
            chdb.close()
        return
    if owner != f"chDB at {settings.chdb_dir}":
        raise MetricsStoreError(
            f"port {settings.metrics_port} serves {owner!r}, not chDB at {settings.chdb_dir}: "
            "another stack uses this AUTERITY_METRICS_PORT")
    yield http


def clickhouse_health(settings: Settings) -> ServiceHealth:
    """ClickHouse (server or chDB) answers a query; unhealthy with the reason otherwise."""
    try:
        with open_metrics_reader(settings) as reader:
            version = reader.query("SELECT version() AS v")[0]["v"]
            where = reader.describe()
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy with the reason
        return ServiceHealth("clickhouse", False, str(exc))
    return ServiceHealth("clickhouse", True, f"{where}: ClickHouse {version}")
