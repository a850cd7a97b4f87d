"""The metrics store: one contract, two backends, one SQL dialect (ClickHouse's).

- `ChdbStore`: ClickHouse as an in-process library (chDB), persistent on disk. Only one
  process may open a chDB directory; that process (the metrics projection) serves read-only
  queries to the others over `metrics_http`.
- `ServerStore`: a ClickHouse server named by CLICKHOUSE_URL, through clickhouse-connect.

`command`/`query`/`insert_rows` are the writer's (trusted code in the owning process).
Everything else reads through `read` / `reader(tenant)`: one SELECT, checked on the engine's
own parse (projections/metrics_query.py), run on a read-only connection of its own with
limits, and for a tenant filtered by the engine to that tenant's rows.

Invariants:
- idempotent inserts: `insert_rows` with the same `dedup_token` twice stores the rows once
  (MergeTree `non_replicated_deduplication_window` + `insert_deduplication_token`, which
  ClickHouse keeps across restarts);
- one row per event: `step_metrics` is a ReplacingMergeTree keyed by (tenant, step, event id)
  and `ai_model_usage` one keyed by (tenant, event id), so an event redelivered upstream
  (at-least-once) collapses to one row; exact counts and sums read them with FINAL.
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from projections import metrics_query as policy
from projections.metrics_errors import MetricsStoreError, QueryRefused
from projections.metrics_query import ReadLimits, Scope

__all__ = ["ChdbStore", "MetricsStore", "MetricsStoreError", "QueryRefused", "ReadLimits",
           "ScopedReader", "ServerStore"]

DEDUP_WINDOW = 10_000

STEP_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.step_metrics (
    event_id String,
    tenant_id String,
    step LowCardinality(String),
    topic String,
    partition UInt32,
    offset UInt64,
    ok UInt8,
    error_kind LowCardinality(String),
    ingested_at DateTime64(3, 'UTC'),
    processed_at DateTime64(3, 'UTC'),
    latency_ms Float64,
    text_chars UInt32,
    entities Map(String, UInt32)
) ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, step, event_id)
SETTINGS non_replicated_deduplication_window = {window}
"""

MODEL_USAGE_DDL = """
CREATE TABLE IF NOT EXISTS {db}.ai_model_usage (
    event_id String,
    tenant_id String,
    user_id String,
    operation_type LowCardinality(String),
    model_name LowCardinality(String),
    provider LowCardinality(String),
    input_tokens UInt32,
    output_tokens UInt32,
    cost_usd Decimal(12, 6),
    processing_time_ms Float64,
    success UInt8,
    error_class LowCardinality(String),
    cache_hit UInt8,
    created_at DateTime64(3, 'UTC'),
    topic String,
    partition UInt32,
    offset UInt64
) ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, event_id)
SETTINGS non_replicated_deduplication_window = {window}
"""

# The end of every one-row-per-event metrics table: the record's own position (the sinks
# seek to max(offset)+1 from it) and one row per (tenant, step, event id).
_POSITION_COLUMNS_AND_ENGINE = """    topic String,
    partition UInt32,
    offset UInt64
) ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, step, event_id)
SETTINGS non_replicated_deduplication_window = {window}
"""

# One row per document extraction or call analysis (no text): the media steps' operation
# metrics for dashboards (pages, confidence, audio duration, real-time factor, sentiment,
# call score, action items).
MEDIA_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.media_metrics (
    event_id String,
    tenant_id String,
    step LowCardinality(String),
    subject_id String,
    kind LowCardinality(String),
    pages UInt16,
    words UInt32,
    duration_s Float64,
    processing_ms Float64,
    realtime_factor Float64,
    confidence Float64,
    sentiment Float64,
    call_score UInt8,
    appointment_set UInt8,
    action_items UInt16,
    created_at DateTime64(3, 'UTC'),
""" + _POSITION_COLUMNS_AND_ENGINE

# One row per AI agent task result (agent.tasks.completed, no input or output text): who ran
# it, how it went, how long, how sure, what it cost (`auterity agents performance --clickhouse`).
AGENT_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.agent_metrics (
    event_id String,
    tenant_id String,
    step LowCardinality(String),
    task_id String,
    agent_id LowCardinality(String),
    agent_type LowCardinality(String),
    task_type LowCardinality(String),
    status LowCardinality(String),
    execution_ms Float64,
    confidence Nullable(Float64),
    cost_usd Float64,
    attempts UInt16,
    recalled UInt16,
    memory_error UInt8,
    output_redactions UInt32,
    created_at DateTime64(3, 'UTC'),
""" + _POSITION_COLUMNS_AND_ENGINE

# One row per workflow run event (workflow.runs, no text): runs started and how they ended,
# step latency (since scheduled), timer lateness, failures, per workflow, version and tenant.
RUN_METRICS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.run_metrics (
    event_id String,
    tenant_id String,
    step LowCardinality(String),
    run_id String,
    workflow_id String,
    workflow_version UInt32,
    kind LowCardinality(String),
    step_id String,
    attempt UInt16,
    duration_ms Nullable(Float64),
    lateness_ms Nullable(Float64),
    created_at DateTime64(3, 'UTC'),
""" + _POSITION_COLUMNS_AND_ENGINE

# One row per result event the output firewall scanned (processors/pii/output_firewall.py):
# what it found and masked in model-written text, per entity type (no text).
OUTPUT_SCANS_DDL = """
CREATE TABLE IF NOT EXISTS {db}.output_scans (
    event_id String,
    tenant_id String,
    step LowCardinality(String),
    kind LowCardinality(String),
    entities Map(String, UInt32),
    created_at DateTime64(3, 'UTC'),
""" + _POSITION_COLUMNS_AND_ENGINE

# Records a projection into table `X` dead-lettered instead of storing, in `X_skipped`: their
# offsets count for the position (projections/usage_sink.py), so a restart does not re-read them.
SKIPPED_DDL = """
CREATE TABLE IF NOT EXISTS {db}.{table}_skipped (
    topic String,
    partition UInt32,
    offset UInt64,
    error_kind LowCardinality(String),
    skipped_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (topic, partition, offset)
SETTINGS non_replicated_deduplication_window = {window}
"""


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def insert_sql(db: str, table: str, dedup_token: str) -> str:
    return (f"INSERT INTO {db}.{table} SETTINGS insert_deduplication_token={_quote(dedup_token)} "
            f"FORMAT JSONEachRow")


def rows_to_json(rows: Iterable[Mapping[str, Any]]) -> str:
    return "\n".join(json.dumps(r, separators=(",", ":"), default=str) for r in rows)


def stored_offsets(reader: Any, table: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    """Next offset per (topic, partition) of `topics`, read from `table` through any object
    with `database` and `query` (a store, or a reader of another process's store)."""
    names = ", ".join(_quote(t) for t in topics)
    rows = reader.query(
        f"SELECT topic, partition, max(offset) AS last FROM {reader.database}.{table} "
        f"WHERE topic IN ({names}) GROUP BY topic, partition")
    return {(r["topic"], int(r["partition"])): int(r["last"]) + 1 for r in rows}


class MetricsStore(ABC):
    """Contract every metrics backend keeps (tests/integration/test_metrics_store_contract.py)."""

    database: str
    limits: ReadLimits
    _catalog: policy.FunctionCatalog | None = None

    def ensure_schema(self) -> None:
        self.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        self.command(STEP_METRICS_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(MODEL_USAGE_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(MEDIA_METRICS_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(OUTPUT_SCANS_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(AGENT_METRICS_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(RUN_METRICS_DDL.format(db=self.database, window=DEDUP_WINDOW))
        self.command(SKIPPED_DDL.format(db=self.database, table="ai_model_usage",
                                        window=DEDUP_WINDOW))

    @abstractmethod
    def command(self, sql: str) -> None: ...

    @abstractmethod
    def query(self, sql: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def insert_rows(self, table: str, rows: list[Mapping[str, Any]], dedup_token: str) -> None:
        """Insert `rows` as one block, deduplicated by `dedup_token`."""

    @abstractmethod
    def describe(self) -> str: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    @abstractmethod
    def _read(self, sql: str, scope: Scope | None) -> list[dict[str, Any]]:
        """Run `sql` on a read-only connection (never the writer's) under `self.limits`; for a
        tenant's `scope` with its table filters and the metrics database as the current one.
        `scope` None: the store's own catalogue and parse reads."""

    def reader(self, tenant: str | None = None) -> ScopedReader:
        """A read-only view of this store: an operator's (every table), or one tenant's."""
        return ScopedReader(self, tenant)

    def read(self, sql: str, tenant: str | None = None) -> list[dict[str, Any]]:
        """Run ONE SELECT read-only: parsed and checked by the read policy, then run under
        readonly=1 and the limits; a `tenant` sees only its rows. Raises QueryRefused for what
        the policy refuses, MetricsStoreError for what the engine refuses or fails."""
        if len(sql.encode()) > self.limits.max_query_bytes:
            raise QueryRefused(f"a read is at most {self.limits.max_query_bytes} bytes")
        scope = Scope(self.database)
        if tenant is not None:
            policy.validate_tenant(tenant)
            tables = {str(r["table"]): bool(int(r["scoped"]))
                      for r in self._read(policy.tables_sql(self.database), None)}
            if not tables:
                raise QueryRefused(f"the metrics database {self.database} has no tables yet")
            scope = Scope(self.database, tenant, tables)
        policy.check(self._parse(sql), self._functions(), scope)
        return self._read(sql, scope)

    def _parse(self, sql: str) -> dict[str, Any]:
        try:
            (row,) = self._read(policy.parse_sql(sql), None)
        except MetricsStoreError as exc:
            if "parseQueryToJSON" in str(exc) and "UNKNOWN_FUNCTION" in str(exc):
                raise MetricsStoreError(
                    "this ClickHouse cannot check reads: it lacks parseQueryToJSON (use 26.9, "
                    f"the version chDB embeds): {exc}") from exc
            raise QueryRefused(f"not one ClickHouse statement: {policy.parse_error(str(exc))}") \
                from exc
        if not int(row["faithful"]):
            raise QueryRefused("this statement uses syntax the read check cannot see")
        try:
            ast = json.loads(row["ast"])
        except (ValueError, RecursionError) as exc:
            raise QueryRefused("the statement is nested too deeply to check") from exc
        if not isinstance(ast, dict):
            raise QueryRefused("not one ClickHouse statement")
        return ast

    def _functions(self) -> policy.FunctionCatalog:
        if self._catalog is None:
            self._catalog = policy.FunctionCatalog(
                self._read(policy.CATALOG_SQL, None),
                [r["name"] for r in self._read(policy.COMBINATORS_SQL, None)])
        return self._catalog

    def stored_offsets(self, table: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        """Next offset to read per (topic, partition), from the rows already stored."""
        return stored_offsets(self, table, topics)

    def __enter__(self) -> MetricsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ScopedReader:
    """What readers get (`MetricsStore.reader`): `query` runs `MetricsStore.read` for one scope."""

    def __init__(self, store: MetricsStore, tenant: str | None = None) -> None:
        self.store = store
        self.database = store.database
        self.tenant = None if tenant is None else policy.validate_tenant(tenant)

    def query(self, sql: str) -> list[dict[str, Any]]:
        return self.store.read(sql, self.tenant)

    def describe(self) -> str:
        who = "operator" if self.tenant is None else f"tenant {self.tenant}"
        return f"{self.store.describe()}, read-only ({who})"


def _rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


class ChdbStore(MetricsStore):
    """Embedded ClickHouse (chDB) at `path`. Thread-safe; one process per directory."""

    def __init__(self, path: Path, database: str, open_timeout: float = 30.0,
                 limits: ReadLimits | None = None) -> None:
        from chdb import session

        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.database = database
        self.limits = limits or ReadLimits()
        self._lock = threading.Lock()
        deadline = time.monotonic() + open_timeout
        while True:
            try:
                self._session = session.Session(str(path))
                break
            except Exception as exc:  # the directory is locked by another process
                if time.monotonic() >= deadline:
                    raise MetricsStoreError(
                        f"cannot open chDB at {path} (is another process holding it?): {exc}"
                    ) from exc
                time.sleep(0.5)

    def command(self, sql: str) -> None:
        self.query(sql)

    def query(self, sql: str) -> list[dict[str, Any]]:
        with self._lock:
            try:
                res = self._session.query(sql, "JSONEachRow")
            except Exception as exc:
                raise MetricsStoreError(f"chDB: {exc}") from exc
        return _rows(res.bytes().decode() if res is not None else "")

    def _read(self, sql: str, scope: Scope | None) -> list[dict[str, Any]]:
        """Each read opens its own chDB connection to the directory (well under a millisecond):
        settings passed when connecting are that connection's only, so nothing a read does
        reaches the writer's session, and no two reads share a connection."""
        import chdb

        params = self.limits.settings()
        if scope is not None and scope.tenant is not None:
            params["database"] = scope.database
            params["additional_table_filters"] = policy.table_filters(scope)
        conn_str = f"{self.path}?" + "&".join(f"{k}={quote(v, safe='')}"
                                              for k, v in params.items())
        try:
            conn = chdb.connect(conn_str)
        except Exception as exc:
            raise MetricsStoreError(f"chDB: cannot open a read connection: {exc}") from exc
        try:
            res = conn.query(sql, "JSONEachRow")
            text = res.bytes().decode() if res is not None else ""
        except Exception as exc:
            raise MetricsStoreError(f"chDB: {exc}") from exc
        finally:
            conn.close()
        return _rows(text)

    def insert_rows(self, table: str, rows: list[Mapping[str, Any]], dedup_token: str) -> None:
        if rows:
            self.command(insert_sql(self.database, table, dedup_token) + "\n" + rows_to_json(rows))

    def describe(self) -> str:
        return f"chDB at {self.path}"

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ServerStore(MetricsStore):
    """A ClickHouse server (CLICKHOUSE_URL, e.g. http://default:@127.0.0.1:8123)."""

    def __init__(self, url: str, database: str, limits: ReadLimits | None = None) -> None:
        import clickhouse_connect

        u = urlparse(url)
        self.url = f"{u.scheme}://{u.hostname}:{u.port or 8123}"
        self.database = database
        self.limits = limits or ReadLimits()
        self._connect: dict[str, Any] = dict(
            host=u.hostname, port=u.port or 8123, username=u.username or "default",
            password=u.password or "", secure=u.scheme == "https")
        self._client = clickhouse_connect.get_client(**self._connect)
        self._readers: dict[str, Any] = {}  # current database -> a sessionless read client
        self._readers_lock = threading.Lock()

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise MetricsStoreError(f"ClickHouse: {exc}") from exc

    def query(self, sql: str) -> list[dict[str, Any]]:
        try:
            raw = self._client.raw_query(sql, fmt="JSONEachRow")
        except Exception as exc:
            raise MetricsStoreError(f"ClickHouse: {exc}") from exc
        return _rows(raw.decode())

    def _reader_client(self, database: str) -> Any:
        import clickhouse_connect

        with self._readers_lock:
            if database not in self._readers:
                # no session: concurrent reads must not share server-side session state
                self._readers[database] = clickhouse_connect.get_client(
                    **self._connect, database=database, autogenerate_session_id=False)
            return self._readers[database]

    def _read(self, sql: str, scope: Scope | None) -> list[dict[str, Any]]:
        """The same settings as chDB's read connections, sent with each query: with
        readonly=1 the server refuses any change to them from the query itself."""
        settings: dict[str, Any] = dict(self.limits.settings())
        database = "default"
        if scope is not None and scope.tenant is not None:
            settings["additional_table_filters"] = policy.table_filters(scope)
            database = scope.database
        try:
            raw = self._reader_client(database).raw_query(sql, fmt="JSONEachRow",
                                                          settings=settings)
        except Exception as exc:
            raise MetricsStoreError(f"ClickHouse: {exc}") from exc
        return _rows(raw.decode())

    def insert_rows(self, table: str, rows: list[Mapping[str, Any]], dedup_token: str) -> None:
        if rows:
            self.command(insert_sql(self.database, table, dedup_token) + "\n" + rows_to_json(rows))

    def describe(self) -> str:
        return f"ClickHouse server {self.url}"

    def close(self) -> None:
        with self._readers_lock:
            for client in self._readers.values():
                client.close()
            self._readers.clear()
        self._client.close()
