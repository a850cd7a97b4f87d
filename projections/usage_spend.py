"""Spend per tenant recorded in ClickHouse `ai_model_usage` (projections/usage_sink.py): the
baseline a process's LLM spend ledger is seeded with at start, so a restart does not reset a
tenant's daily budget.

`spend_today(settings)` is the `processors.llm.spend.SpendSource` the worker and the CLI hand
to their ledger (`partial(spend_today, settings)`): the sum of `cost_usd` per tenant of the
UTC day, read with FINAL (one row per usage event, redeliveries collapsed). Events still in
Kafka, not yet projected, are not counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from projections.metrics_reader import open_metrics_reader
from projections.usage_sink import TABLE
from runtime.settings import Settings


def _ch_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def spend_today(settings: Settings, day: date | None = None,
                before: datetime | None = None) -> dict[str, float]:
    """USD spent per tenant on UTC `day` (default: today) before `before` (default: now).

    A store without the table yet (nothing ever projected) has spent nothing: {}. Raises
    (MetricsStoreError, OSError, ...) when the store cannot be read.
    """
    before = before or datetime.now(UTC)
    day = day or before.astimezone(UTC).date()
    start = datetime.combine(day, time.min, UTC)
    with open_metrics_reader(settings, direct=False) as reader:
        db = reader.database
        exists = reader.query(f"SELECT count() AS n FROM system.tables WHERE database = '{db}' "
                              f"AND name = '{TABLE}'")
        if not int(exists[0]["n"]):
            return {}
        rows = reader.query(
            f"SELECT tenant_id, toFloat64(sum(cost_usd)) AS usd FROM {db}.{TABLE} FINAL "
            f"WHERE created_at >= toDateTime64('{_ch_time(start)}', 3, 'UTC') "
            f"AND created_at < toDateTime64('{_ch_time(before)}', 3, 'UTC') "
            "GROUP BY tenant_id")
    return {str(r["tenant_id"]): float(r["usd"]) for r in rows if float(r["usd"]) > 0}
