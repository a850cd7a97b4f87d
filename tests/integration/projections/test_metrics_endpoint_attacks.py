"""The metrics query endpoint against an attacker who can send it SQL (issue 10, parts 5-6).

Every attack that worked against the old endpoint (which only checked that the text started
with SELECT/WITH and ran it on the writer's session) is sent here. Each must fail with a
clear error AND leave no trace: the table is still there, no row was inserted, no file was
written, no key or /etc/passwd line came back, no request left the process, the projection
still writes, and a query that would run forever stops within the time limit. Then tenant
A (dealer-001) tries every trick to read tenant B's (dealer-002) rows.

The endpoint runs in this process over a real chDB directory (the same `serve` the
projections process runs), on a free loopback port; no Kafka is needed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cli.status import clickhouse_figures
from projections import metrics_http
from projections.metrics_auth import operator_token, tenant_token
from projections.metrics_errors import MetricsStoreError, QueryRefused
from projections.metrics_query import Scope
from projections.metrics_reader import (
    HttpReader,
    clickhouse_health,
    open_metrics_reader,
    read_limits,
)
from projections.metrics_store import ChdbStore
from projections.usage_spend import spend_today
from runtime.settings import Settings

DB = "auterity"
A, B = "dealer-001", "dealer-002"
B_MARK = "SECRET-B"  # in every dealer-002 event id: must never come back to dealer-001
TIMEOUT_S = 2.0
ROW_LIMIT = 5_000


def _step_row(tenant: str, i: int) -> dict[str, Any]:
    mark = B_MARK if tenant == B else "a"
    return {"event_id": f"{mark}-{tenant}-e{i}", "tenant_id": tenant, "step": "pii_redaction",
            "topic": "raw", "partition": 0 if tenant == A else 1, "offset": i, "ok": 1,
            "error_kind": "", "ingested_at": "2026-11-24 10:00:00.000",
            "processed_at": "2026-11-24 10:00:00.120", "latency_ms": 120.0 + i,
            "text_chars": 42, "entities": {"PERSON": 2}}


def _usage_row(tenant: str, i: int) -> dict[str, Any]:
    mark = B_MARK if tenant == B else "a"
    return {"event_id": f"{mark}-{tenant}-u{i}", "tenant_id": tenant, "user_id": f"{mark}-user",
            "operation_type": "analysis", "model_name": "local", "provider": "llama",
            "input_tokens": 10, "output_tokens": 5, "cost_usd": "0.5", "processing_time_ms": 9.0,
            "success": 1, "error_class": "", "cache_hit": 0,
            "created_at": "2026-11-24 10:00:00.000", "topic": "usage", "partition": 0,
            "offset": i}


class _Env:
    def __init__(self, settings: Settings, store: ChdbStore, port: int) -> None:
        self.settings = settings
        self.store = store
        self.port = port
        self.key = settings.resolved_metrics_endpoint_key()
        self.operator = HttpReader(port, DB, operator_token(self.key))
        self.tenant_a = HttpReader(port, DB, tenant_token(self.key, A))

    def post(self, sql: str, token: str | None = None) -> tuple[int, str]:
        """(HTTP status, body) of `sql` sent as `token` (default: the operator's)."""
        headers = {} if token == "" else {
            "Authorization": f"Bearer {token or operator_token(self.key)}"}
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/query", data=sql.encode(),
                                     method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def count(self, table: str = "step_metrics") -> int:
        """Rows as the writer sees them (its own session)."""
        return int(self.store.query(f"SELECT count() AS n FROM {DB}.{table}")[0]["n"])

    def table_exists(self, table: str = "step_metrics") -> bool:
        return bool(self.store.query(
            f"SELECT count() AS n FROM system.tables WHERE database = '{DB}' "
            f"AND name = '{table}'")[0]["n"])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Env]:
    home = tmp_path_factory.mktemp("attack-home")
    port = _free_port()
    settings = Settings(home=home, metrics_port=port, clickhouse_database=DB,
                        metrics_query_timeout_s=TIMEOUT_S, metrics_query_max_rows=ROW_LIMIT,
                        metrics_query_memory_mb=256, metrics_query_concurrency=2)
    settings.resolved_pseudonym_key()  # the key a pseudonymising process keeps
    store = ChdbStore(settings.chdb_dir, DB, limits=read_limits(settings))
    store.ensure_schema()
    for tenant in (A, B):
        store.insert_rows("step_metrics", [_step_row(tenant, i) for i in range(5)], tenant)
        store.insert_rows("ai_model_usage", [_usage_row(tenant, i) for i in range(3)], tenant)
    store.insert_rows("ai_model_usage_skipped", [{"topic": f"{B_MARK}-topic", "partition": 0,
                                                  "offset": 1, "error_kind": "bad",
                                                  "skipped_at": "2026-11-24 10:00:00.000"}],
                      "skipped")
    server = metrics_http.serve(store, port, settings.resolved_metrics_endpoint_key(),
                                settings.metrics_query_concurrency)
    try:
        yield _Env(settings, store, port)
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def _refused(env: _Env, sql: str, token: str | None = None, code: int = 403) -> str:
    status, body = env.post(sql, token)
    assert status == code, f"{sql!r} -> {status} {body}"
    assert body, "a refusal says why"
    return body


# --- the attacks of issue 10 --------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    f"SELECT 1; DROP TABLE {DB}.step_metrics",
    f"SELECT 1;DROP TABLE {DB}.step_metrics;",
    f"SELECT ';' AS x; DROP TABLE {DB}.step_metrics",
    f"SELECT 1 -- comment\n; DROP TABLE {DB}.step_metrics",
    f"SELECT 1 /* ; */ ; TRUNCATE TABLE {DB}.step_metrics",
    f"DROP TABLE {DB}.step_metrics",
    f"SELECT 1 FROM {DB}.step_metrics; ALTER TABLE {DB}.step_metrics DELETE WHERE 1",
])
def test_a_second_statement_never_runs(env, sql):
    before = env.count()
    body = _refused(env, sql)
    assert "Multi-statements are not allowed" in body or "only SELECT" in body
    assert env.table_exists() and env.count() == before


@pytest.mark.parametrize("sql", [
    f"WITH 1 AS x INSERT INTO {DB}.step_metrics SELECT * FROM {DB}.step_metrics",
    f"INSERT INTO {DB}.step_metrics SELECT * FROM {DB}.step_metrics",
    f"INSERT INTO FUNCTION file('/tmp/x.csv', 'CSV') SELECT * FROM {DB}.step_metrics",
    f"CREATE TABLE {DB}.evil AS {DB}.step_metrics",
    f"SELECT 1; INSERT INTO {DB}.step_metrics SELECT * FROM {DB}.step_metrics",
])
def test_no_insert_or_ddl_runs(env, sql):
    before = env.count()
    _refused(env, sql)
    assert env.count() == before and not env.table_exists("evil")


@pytest.mark.parametrize("sql", [
    f"EXPLAIN SELECT * FROM {DB}.step_metrics",
    "SHOW TABLES",
    f"DESCRIBE TABLE {DB}.step_metrics",
    f"EXISTS TABLE {DB}.step_metrics",
    f"OPTIMIZE TABLE {DB}.step_metrics FINAL",
    "SYSTEM DROP QUERY CACHE",
    "KILL QUERY WHERE 1",
    f"BACKUP TABLE {DB}.step_metrics TO File('/tmp/backup.zip')",
    f"SELECT * FROM {DB}.step_metrics FORMAT Native",
    "",
    "   ",
    "-- only a comment",
])
def test_nothing_but_one_select_is_accepted(env, sql):
    before = env.count()
    _refused(env, sql)
    assert env.table_exists() and env.count() == before


def _key_paths(env: _Env) -> list[Path]:
    home = env.settings.home
    return [home / "secrets" / "pseudonym.key", home / "pseudonym.key",
            home / "secrets" / "metrics-endpoint.key"]


@pytest.mark.parametrize("template", [
    "SELECT * FROM file('{path}', 'LineAsString')",
    "SELECT * FROM file('{path}')",
    "SELECT file('{path}') AS k",
    "SELECT * FROM (SELECT file('{path}') AS k)",
    "SELECT 1 WHERE file('{path}') != ''",
    "SELECT * APPLY(file) FROM (SELECT '{path}' AS p)",
    "SELECT * FROM fileCluster('default', '{path}', 'LineAsString')",
    "SELECT * FROM filesystem('{dir}')",
    "SELECT * FROM sqlite('{path}', 't')",
    "SELECT * FROM icebergLocal('{dir}')",
    "SELECT * FROM executable('cat {path}', 'LineAsString', 'x String')",
    "SELECT * FROM python(x)",
    "SELECT * FROM url('file://{path}', 'LineAsString')",
    "SELECT * FROM loop(file('{path}', 'LineAsString')) LIMIT 1",
    "SELECT * FROM view(SELECT * FROM file('{path}', 'LineAsString'))",
    "SELECT * FROM merge(system, '^one$') UNION ALL SELECT * FROM file('{path}', 'LineAsString')",
])
def test_no_key_file_is_readable(env, template):
    keys = [p.read_text().strip() for p in _key_paths(env) if p.exists()]
    assert keys, "the fixture keeps a pseudonym key"
    for path in _key_paths(env):
        body = _refused(env, template.format(path=path, dir=path.parent))
        assert "not allowed" in body
        assert not any(k in body for k in keys), "a key came back"


def test_the_key_lives_owner_only_outside_the_chdb_directory(env):
    key = env.settings.home / "secrets" / "pseudonym.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent.stat().st_mode & 0o777 == 0o700
    assert env.settings.chdb_dir not in key.parents
    assert not (env.settings.home / "pseudonym.key").exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT file('/etc/passwd')",
    "SELECT file('/proc/self/environ')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString') SETTINGS readonly=0",
    "SELECT arrayJoin(splitByChar('\\n', file('/etc/passwd')))",
])
def test_etc_passwd_is_not_readable(env, sql):
    body = _refused(env, sql)
    assert "root:" not in body


@pytest.mark.parametrize("clause", [
    "INTO OUTFILE '{out}'",
    "INTO OUTFILE '{out}' TRUNCATE",
    "INTO OUTFILE '{out}' AND STDOUT",
    "INTO OUTFILE '{out}' COMPRESSION 'gzip'",
    "INTO OUTFILE '{out}' FORMAT CSV",
])
def test_into_outfile_writes_nothing(env, tmp_path, clause):
    out = tmp_path / "written.txt"
    body = _refused(env, f"SELECT * FROM {DB}.step_metrics " + clause.format(out=out))
    assert "INTO OUTFILE" in body
    assert not out.exists()


class _Receiver:
    """A local HTTP server counting the requests it gets (a url()/s3() call would hit it)."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                body = b"x\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815
            do_POST = do_GET  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("template", [
    "SELECT * FROM url('http://127.0.0.1:{port}/data', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:{port}/data', 'LineAsString', 'x String')",
    "SELECT * FROM urlCluster('default', 'http://127.0.0.1:{port}/d', 'LineAsString')",
    "SELECT * FROM s3('http://127.0.0.1:{port}/bucket/key.csv', 'CSV')",
    "SELECT * FROM remote('127.0.0.1:{port}', system.one)",
    "SELECT * FROM cluster('default', system.one)",
    "SELECT hasColumnInTable('127.0.0.1:{port}', 'system', 'one', 'dummy')",
    "SELECT aiGenerate('http://127.0.0.1:{port}/')",
    "SELECT * FROM mysql('127.0.0.1:{port}', 'db', 't', 'u', 'p')",
    "SELECT * FROM postgresql('127.0.0.1:{port}', 'db', 't', 'u', 'p')",
])
def test_no_request_leaves_the_process(env, receiver, template):
    body = _refused(env, template.format(port=receiver.port))
    assert "not allowed" in body
    assert receiver.hits == []


@pytest.mark.parametrize("sql", [
    "SET readonly=1",
    "SET readonly=0",
    "SET max_execution_time=0",
    "SELECT 1 SETTINGS readonly=1",
    f"SELECT * FROM (SELECT * FROM {DB}.step_metrics SETTINGS readonly=1)",
    "SELECT count() FROM numbers(1e12) SETTINGS max_execution_time=0",
])
def test_settings_never_reach_the_writer(env, sql):
    body = _refused(env, sql)
    assert "SETTINGS" in body or "only SELECT" in body
    # the projection keeps writing: the writer's session is untouched
    assert env.store.query("SELECT getSetting('readonly') AS r")[0]["r"] == 0
    before = env.count()
    env.store.insert_rows("step_metrics", [_step_row(A, 100 + before)], f"after-{before}")
    assert env.count() == before + 1
    # and every read still runs read-only, whatever was sent before
    assert env.operator.query("SELECT getSetting('readonly') AS r") == [{"r": 1}]


def test_a_query_that_runs_forever_stops_within_the_time_limit(env):
    started = time.monotonic()
    with pytest.raises(MetricsStoreError, match="TIMEOUT_EXCEEDED"):
        env.operator.query("SELECT count() FROM numbers(1e12)")
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + 5, f"stopped after {elapsed:.1f}s (limit {TIMEOUT_S}s)"
    # the endpoint answers at once afterwards
    assert env.operator.query("SELECT 1 AS x") == [{"x": 1}]


def test_memory_and_result_limits_hold(env):
    with pytest.raises(MetricsStoreError, match="MEMORY_LIMIT_EXCEEDED|TIMEOUT_EXCEEDED"):
        env.operator.query("SELECT groupArray(repeat('x', 1000)) FROM numbers(1e7)")
    with pytest.raises(MetricsStoreError, match="TOO_MANY_ROWS_OR_BYTES|Limit for result"):
        env.operator.query(f"SELECT number FROM numbers({ROW_LIMIT + 1})")
    assert len(env.operator.query(f"SELECT number FROM numbers({ROW_LIMIT})")) == ROW_LIMIT


def test_reads_beyond_the_concurrency_limit_are_refused_not_queued(env):
    """Two slots (the fixture's limit): with both busy, a third read gets 503 at once."""
    errors: list[BaseException] = []

    def long_read() -> None:
        while True:  # retried while the poll below holds a slot
            try:
                env.operator.query("SELECT count() FROM numbers(1e12)")
            except MetricsStoreError as exc:
                if "(503)" in str(exc):
                    continue
                errors.append(exc)
            return

    threads = [threading.Thread(target=long_read) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 3 * TIMEOUT_S
    status = 0
    while time.monotonic() < deadline and status != 503:
        status, _ = env.post("SELECT 1")
    for t in threads:
        t.join()
    assert status == 503
    assert len(errors) == 2 and all("TIMEOUT_EXCEEDED" in str(e) for e in errors)
    assert env.post("SELECT 1 AS x") == (200, '{"x": 1}')


def test_oversized_and_unauthenticated_requests_are_refused(env):
    assert env.post("SELECT 1", token="")[0] == 401
    assert env.post("SELECT 1", token="op." + "0" * 64)[0] == 401
    other_key = tenant_token(b"another key", A)
    assert env.post("SELECT 1", token=other_key)[0] == 401
    big = "SELECT 1 " + " " * env.store.limits.max_query_bytes
    assert env.post(big)[0] == 413


# --- tenant isolation ---------------------------------------------------------------------

def _a_reads(env: _Env, sql: str) -> list[dict[str, Any]] | str:
    """What tenant A gets for `sql`: its rows, or the error text (neither may name B)."""
    status, body = env.post(sql, tenant_token(env.key, A))
    assert B_MARK not in body, f"tenant B's data reached A: {sql!r} -> {body}"
    if status != 200:  # an error may quote the query (and so B's id), never B's rows
        assert status in (400, 403), (status, body)
        return body
    assert B not in body, f"tenant B's data reached A: {sql!r} -> {body}"
    return [json.loads(line) for line in body.splitlines() if line]


def test_a_tenant_reads_its_own_rows(env):
    rows = env.tenant_a.query(f"SELECT tenant_id, count() AS n FROM {DB}.step_metrics FINAL "
                              "GROUP BY tenant_id")
    assert [r["tenant_id"] for r in rows] == [A] and int(rows[0]["n"]) >= 5
    assert env.tenant_a.query("SELECT count() AS n FROM ai_model_usage") == [{"n": 3}]
    # the operator still sees both
    ops = env.operator.query(f"SELECT DISTINCT tenant_id FROM {DB}.step_metrics ORDER BY 1")
    assert [r["tenant_id"] for r in ops] == [A, B]


@pytest.mark.parametrize("sql", [
    f"SELECT * FROM {DB}.step_metrics",
    "SELECT * FROM step_metrics",
    f"SELECT * FROM `{DB}`.`step_metrics` FINAL",
    f"SELECT * FROM \"{DB}\".\"step_metrics\" AS s",
    f"SELECT * FROM {DB}.step_metrics WHERE tenant_id = '{B}'",
    f"SELECT * FROM {DB}.step_metrics WHERE tenant_id = '{B}' OR 1 = 1",
    f"SELECT * FROM {DB}.step_metrics WHERE tenant_id != '' /* comment */ -- more",
    f"SELECT event_id FROM {DB}.step_metrics UNION ALL SELECT event_id FROM {DB}.ai_model_usage",
    f"SELECT * FROM (SELECT * FROM {DB}.step_metrics WHERE tenant_id = '{B}')",
    f"WITH b AS (SELECT * FROM {DB}.step_metrics WHERE tenant_id = '{B}') SELECT * FROM b",
    f"SELECT a.event_id, b.event_id FROM {DB}.step_metrics AS a "
    f"JOIN {DB}.ai_model_usage AS b ON a.tenant_id != b.tenant_id",
    f"SELECT event_id FROM {DB}.step_metrics WHERE event_id IN "
    f"(SELECT event_id FROM {DB}.step_metrics WHERE tenant_id = '{B}')",
    f"SELECT (tenant_id, event_id) IN {DB}.ai_model_usage FROM {DB}.step_metrics",
    f"SELECT groupArray(event_id) FROM {DB}.step_metrics",
    f"SELECT max(event_id), min(event_id), count() FROM {DB}.step_metrics",
    f"SELECT event_id FROM {DB}.step_metrics ORDER BY event_id DESC LIMIT 1",
    f"SELECT arrayJoin([(SELECT max(event_id) FROM {DB}.step_metrics)])",
    f"SELECT * FROM {DB}.ai_model_usage_skipped",
    "SELECT * FROM ai_model_usage_skipped WHERE 1 IN (WITH ai_model_usage_skipped AS "
    "(SELECT 1) SELECT * FROM ai_model_usage_skipped)",
    f"SELECT * FROM merge('{DB}', '.*')",
    f"SELECT * FROM merge({DB}, '^step')",
    f"SELECT * FROM cluster('default', {DB}.step_metrics)",
    f"SELECT * FROM remote('127.0.0.1', {DB}.step_metrics)",
    f"SELECT * FROM view(SELECT * FROM {DB}.step_metrics)",
    f"SELECT * FROM loop({DB}.step_metrics) LIMIT 20",
    f"SELECT * FROM mergeTreeIndex({DB}, step_metrics, with_marks = true)",
    f"SELECT * FROM mergeTreeProjection({DB}, step_metrics, p)",
    f"SELECT * FROM dictionary('{DB}.step_metrics')",
    f"SELECT joinGet('{DB}.step_metrics', 'event_id', '{B}')",
    f"SELECT dictGet('{DB}.step_metrics', 'event_id', 1)",
    "SELECT * FROM system.parts",
    "SELECT * FROM system.query_log",
    "SELECT * FROM system.tables",
    "SELECT * FROM system.columns",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM INFORMATION_SCHEMA.COLUMNS",
    f"SELECT _part, _part_offset, _block_number FROM {DB}.step_metrics",
    f"SELECT count() FROM {DB}.step_metrics PREWHERE throwIf(tenant_id = '{B}', 'leak')",
    f"SELECT count() FROM {DB}.step_metrics PREWHERE toUInt32(event_id) > 0",
    f"SELECT count() FROM {DB}.step_metrics WHERE toUInt32(event_id) > 0",
    f"SELECT count() FROM {DB}.step_metrics WHERE toUInt32(tenant_id) > 0",
    f"SELECT toUInt32(event_id) FROM {DB}.step_metrics",
    f"SELECT count() FROM {DB}.step_metrics WHERE throwIf(tenant_id = '{B}', 'leak')",
    f"SELECT * FROM {DB}.step_metrics SETTINGS additional_table_filters = {{}}",
    f"SELECT * FROM {DB}.step_metrics SETTINGS readonly = 0",
    f"SELECT * FROM {DB}.step_metrics; SELECT * FROM {DB}.step_metrics WHERE tenant_id = '{B}'",
    "SELECT getSetting('additional_table_filters')",
    f"SELECT * FROM {DB}.step_metrics INTO OUTFILE '/tmp/leak.txt'",
    "SELECT * FROM {db:Identifier}.step_metrics",
    f"SELECT * FROM contract.step_metrics UNION ALL SELECT * FROM {DB}.step_metrics",
])
def test_tenant_a_never_sees_tenant_b(env, sql):
    got = _a_reads(env, sql)
    if isinstance(got, list):  # ran: only A's rows (or none)
        assert all(r.get("tenant_id", A) == A for r in got), got


def test_a_tenant_cannot_choose_its_tenant(env):
    """The tenant is inside the token and covered by its MAC."""
    token = tenant_token(env.key, A)
    kind, _name, mac = token.split(".")
    import base64

    forged = ".".join([kind, base64.urlsafe_b64encode(B.encode()).decode().rstrip("="), mac])
    assert env.post("SELECT count() FROM step_metrics", forged)[0] == 401
    assert env.post("SELECT count() FROM step_metrics", f"{token}x")[0] == 401
    assert env.post("SELECT count() FROM step_metrics", "op." + mac)[0] == 401


def test_the_engine_filters_even_without_the_check(env):
    """Defence in depth: a tenant's connection filters every table of the database itself,
    and readonly=1 refuses table functions, even for SQL the check never saw."""
    tables = {str(r["table"]): bool(int(r["scoped"]))
              for r in env.store.query(
                  f"SELECT table, max(name = 'tenant_id') AS scoped FROM system.columns "
                  f"WHERE database = '{DB}' GROUP BY table")}
    scope = Scope(DB, A, tables)
    rows = env.store._read(f"SELECT tenant_id FROM {DB}.step_metrics UNION ALL "
                           f"SELECT tenant_id FROM {DB}.ai_model_usage", scope)
    assert rows and {r["tenant_id"] for r in rows} == {A}
    assert env.store._read("SELECT count() AS n FROM ai_model_usage_skipped", scope) == [{"n": 0}]
    with pytest.raises(MetricsStoreError, match="READONLY"):
        env.store._read("SELECT * FROM file('/etc/passwd', 'LineAsString')", scope)
    with pytest.raises(MetricsStoreError, match="READONLY"):
        env.store._read(f"INSERT INTO {DB}.step_metrics SELECT * FROM {DB}.step_metrics", None)


# --- legitimate reads ---------------------------------------------------------------------

def test_status_and_health_read_through_the_endpoint(env):
    rows, offsets = clickhouse_figures(env.settings, ["raw"])
    assert rows >= 10 and offsets[("raw", 0)] >= 5 and offsets[("raw", 1)] == 5
    health = clickhouse_health(env.settings)
    assert health.healthy and "ClickHouse 26." in health.detail, health


def test_spend_and_demo_summary_queries_work(env):
    spent = spend_today(env.settings, day=date(2026, 11, 24),
                        before=datetime(2026, 11, 25, tzinfo=UTC))
    assert spent == {A: 1.5, B: 1.5}
    with open_metrics_reader(env.settings) as r:
        ents = r.query(
            f"SELECT k AS entity, sum(v) AS n FROM {r.database}.step_metrics FINAL "
            f"ARRAY JOIN mapKeys(entities) AS k, mapValues(entities) AS v "
            f"WHERE ingested_at >= '2026-01-01 00:00:00' GROUP BY k ORDER BY n DESC")
        steps = r.query(
            f"SELECT step, error_kind, count() AS n, quantile(0.5)(latency_ms) AS p50, "
            f"quantile(0.99)(latency_ms) AS p99 FROM {r.database}.step_metrics FINAL "
            f"WHERE ingested_at >= '2026-01-01 00:00:00' GROUP BY step, error_kind "
            f"ORDER BY n DESC")
    assert ents[0]["entity"] == "PERSON" and steps[0]["step"] == "pii_redaction"
    with open_metrics_reader(env.settings, tenant=A) as r:
        usage = r.query(f"SELECT tenant_id, round(sum(cost_usd), 6) AS usd FROM "
                        f"{r.database}.ai_model_usage FINAL GROUP BY tenant_id")
    assert usage == [{"tenant_id": A, "usd": 1.5}]


def test_refusals_surface_as_query_refused(env):
    with pytest.raises(QueryRefused, match="function file"):
        env.tenant_a.query("SELECT file('/etc/passwd')")
