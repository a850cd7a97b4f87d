"""ClickHouse projection: bare chDB INSERT FORMAT JSONEachRow vs `ClickHouseMetricsSink.write`
(decode, rows, one deduplicated insert per partition range).

chDB runs in a temporary directory, removed after the run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from confluent_kafka import Message

from bench.projection_input import BATCH, timed_batches
from bench.table import log, row
from projections.clickhouse_sink import TABLE, ClickHouseMetricsSink, metric_row
from projections.metrics_store import DEDUP_WINDOW, STEP_METRICS_DDL, ChdbStore, rows_to_json


def clickhouse_rows(batches: list[list[Message]]) -> list[dict[str, Any]]:
    n = sum(len(b) for b in batches)
    tmp = Path(tempfile.mkdtemp(prefix="auterity-bench-chdb-"))
    log(f"clickhouse: {n:,} rows into chDB at {tmp}")
    store = ChdbStore(tmp, "bench")
    try:
        sink = ClickHouseMetricsSink(store)  # creates bench.step_metrics
        session = store._session  # the same chDB session: one directory per process
        session.query("CREATE DATABASE IF NOT EXISTS bench_raw")
        session.query(STEP_METRICS_DDL.format(db="bench_raw", window=DEDUP_WINDOW))
        row_batches = [[metric_row(m) for m in b] for b in batches]

        def insert_plain(rows: list[dict[str, Any]]) -> None:
            session.query(f"INSERT INTO bench_raw.{TABLE} FORMAT JSONEachRow\n"
                          + rows_to_json(rows))

        base_s = timed_batches(row_batches, insert_plain)
        ours_s = timed_batches(batches, sink.write)
        stored = store.query(f"SELECT count() AS c FROM bench.{TABLE}")[0]["c"]
        if int(stored) != n:
            raise RuntimeError(f"clickhouse sink stored {stored} of {n} rows")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return [row(f"ClickHouse projection ({n:,} rows, batches of {BATCH})",
                "bare chDB INSERT FORMAT JSONEachRow", n / base_s, n / ours_s, "rows/s")]
