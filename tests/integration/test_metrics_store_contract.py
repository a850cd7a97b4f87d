"""The metrics-store contract, run against every backend: chDB always, and a ClickHouse
server whenever CLICKHOUSE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.metrics_store import ChdbStore, MetricsStore, ServerStore

BACKENDS = ["chdb", "server"]


def _open(backend: str, path: Path, db: str) -> MetricsStore:
    if backend == "chdb":
        return ChdbStore(path, db)
    return ServerStore(os.environ["CLICKHOUSE_URL"], db)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "server" and not os.environ.get("CLICKHOUSE_URL"):
        pytest.skip("CLICKHOUSE_URL not set: no external ClickHouse server to test")
    return request.param


@pytest.fixture()
def store(backend: str, tmp_path: Path) -> Iterator[MetricsStore]:
    s = _open(backend, tmp_path / "chdb", f"contract_{uuid.uuid4().hex[:8]}")
    s.ensure_schema()
    yield s
    s.command(f"DROP DATABASE IF EXISTS {s.database}")
    s.close()


def _row(offset: int, event_id: str | None = None, partition: int = 0) -> dict:
    return {"event_id": event_id or f"e{offset}", "tenant_id": "t1", "step": "pii_redaction",
            "topic": "raw", "partition": partition, "offset": offset, "ok": 1, "error_kind": "",
            "ingested_at": "2026-11-24 10:00:00.000", "processed_at": "2026-11-24 10:00:00.120",
            "latency_ms": 120.0, "text_chars": 42, "entities": {"PERSON": 2}}


def _count(store: MetricsStore, final: bool = True) -> int:
    """Rows after FINAL (one per event), or as physically stored (final=False)."""
    sql = f"SELECT count() AS n FROM {store.database}.step_metrics{' FINAL' if final else ''}"
    return int(store.query(sql)[0]["n"])


def test_schema_creation_is_idempotent(store):
    store.ensure_schema()
    assert _count(store) == 0


def test_same_dedup_token_stores_rows_once(store):
    rows = [_row(i) for i in range(10)]
    store.insert_rows("step_metrics", rows, "raw:0:0-9")
    store.insert_rows("step_metrics", rows, "raw:0:0-9")
    assert _count(store, final=False) == 10
    store.insert_rows("step_metrics", [_row(i) for i in range(10, 15)], "raw:0:10-14")
    assert _count(store, final=False) == 15


def test_redelivered_event_collapses_to_one_row(store):
    store.insert_rows("step_metrics", [_row(1, "same")], "raw:0:1-1")
    store.insert_rows("step_metrics", [_row(2, "same")], "raw:0:2-2")
    assert _count(store) == 1


def test_stored_offsets_are_next_offset_per_partition(store):
    store.insert_rows("step_metrics", [_row(i, partition=0) for i in range(5)], "raw:0:0-4")
    store.insert_rows("step_metrics", [_row(i, f"p1-{i}", partition=1) for i in range(3)],
                      "raw:1:0-2")
    assert store.stored_offsets("step_metrics", ["raw", "other"]) == {("raw", 0): 5,
                                                                      ("raw", 1): 3}


def test_query_returns_typed_columns(store):
    store.insert_rows("step_metrics", [_row(0)], "raw:0:0-0")
    (row,) = store.query(f"SELECT * FROM {store.database}.step_metrics")
    assert row["entities"] == {"PERSON": 2}
    assert float(row["latency_ms"]) == 120.0
    assert row["processed_at"].startswith("2026-11-24 10:00:00.12")


def test_dedup_survives_reopening(backend, tmp_path):
    db = f"reopen_{uuid.uuid4().hex[:8]}"
    first = _open(backend, tmp_path / "chdb", db)
    first.ensure_schema()
    first.insert_rows("step_metrics", [_row(i) for i in range(4)], "raw:0:0-3")
    first.close()
    second = _open(backend, tmp_path / "chdb", db)
    try:
        second.insert_rows("step_metrics", [_row(i) for i in range(4)], "raw:0:0-3")
        assert _count(second, final=False) == 4
    finally:
        second.command(f"DROP DATABASE IF EXISTS {db}")
        second.close()
